"""The live demo: a private Mosquitto, the dashboard and the edge service on a real clip in a
loop, with a clearly labelled simulated staff member acknowledging cues (switchable off), so
a new user sees cues on the staff page and real figures on the manager pages within a minute.

The edge runs in the main thread (its signal handlers stop it on Ctrl-C); the dashboard's web
server runs on a thread beside it.
"""

from __future__ import annotations

import errno
import logging
import random
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from rich.console import Console

from dashboard import auth
from dashboard.gc_tuning import tune_gc
from dashboard.settings import Broker, DashboardConfig, Listen
from dashboard.store.database import open_engine, upgrade
from dashboard.web.app import create_app
from edge.config import Config
from edge.service.delivery.broker import Mosquitto
from edge.service.service import Service, Tick
from edge.tools.demo.service import demo_config
from edge.tools.demo.staff import DemoStaff
from edge.tools.footage.location import PETS_DIR, PETS_PARTS, footage_path

log = logging.getLogger(__name__)
MANAGER = "demo"
MISSED_SHARE = 0.08  # the demo staff member misses some cues, as people do


def human_delay() -> float:
    """Seconds a busy person takes to acknowledge: mostly 1-5 s, a long tail."""
    return min(15.0, max(0.6, random.lognormvariate(0.9, 0.55)))


def sometimes_missed(delay: Callable[[], float]) -> Callable[[], float]:
    """``delay``, except that some cues are never answered (the customer leaves first)."""
    return lambda: 3600.0 if random.random() < MISSED_SHARE else delay()


@dataclass(frozen=True)
class Links:
    """What the demo prints for the user."""

    overview: str
    acknowledgement: str
    staff: dict[str, str]
    user: str
    password: str


class LiveDemo:
    """Broker, dashboard and edge loop; ``run()`` blocks until Ctrl-C or ``minutes``."""

    def __init__(self, out: Path, examples: Path, port: int, demo_staff: bool) -> None:
        self.state = out / "live-state"
        shutil.rmtree(self.state, ignore_errors=True)
        self._examples, self._port, self._demo_staff = examples, port, demo_staff
        self._stopping = threading.Event()

    def run(self, console: Console, minutes: float | None = None) -> int:
        """Run until stopped; the number of passes over the clip."""
        with Mosquitto(self.state / "broker", port=0) as broker, _listen(self._port) as sock:
            served = int(sock.getsockname()[1])
            if served != self._port:
                console.print(
                    f"[yellow]port {self._port} is in use by another program: the dashboard "
                    f"serves on port {served} instead (--port PORT picks another)[/yellow]",
                    highlight=False,
                )
            config = demo_config(self._examples, self.state, port=broker.port)
            server, links = self._dashboard(config, broker, served)
            web = threading.Thread(target=server.run, args=([sock],), name="dashboard-web")
            web.daemon = True
            web.start()
            while not server.started and web.is_alive():
                time.sleep(0.05)
            if not server.started:
                raise RuntimeError(f"the dashboard did not start on port {served}; see above")
            _print_links(console, links, self._demo_staff)
            staff = (
                DemoStaff(broker.port, config.site, delay=sometimes_missed(human_delay))
                if self._demo_staff
                else None
            )
            deadline = None if minutes is None else time.monotonic() + minutes * 60
            passes = 0
            try:
                passes = self._edge_loop(config, deadline)
            finally:
                if staff is not None:
                    staff.close()
                server.should_exit = True
                web.join(timeout=10)
        return passes

    def _dashboard(
        self, config: Config, broker: Mosquitto, port: int
    ) -> tuple[uvicorn.Server, Links]:
        settings = DashboardConfig(
            state_dir=self.state / "dashboard",
            broker=Broker(host=broker.host, port=broker.port, client_id="greetcue-demo-dash"),
            listen=Listen(host="127.0.0.1", port=port),
        )
        engine = open_engine(settings.database_url())
        upgrade(engine)
        password = secrets.token_urlsafe(9)
        base = f"http://127.0.0.1:{port}"
        staff: dict[str, str] = {}
        with engine.begin() as connection:
            auth.add_user(connection, MANAGER, password)
            for device in config.cues.rota:
                key = auth.issue_token(connection, "staff", device, config.site)
                staff[device] = auth.staff_link(base, device, key)
        app = create_app(settings, engine)
        tune_gc()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        links = Links(f"{base}/", f"{base}/acks", staff, MANAGER, password)
        return server, links

    def _edge_loop(self, config: Config, deadline: float | None) -> int:
        clip = footage_path(f"{PETS_DIR}/{PETS_PARTS[0]}")
        passes = 0

        def watch(tick: Tick) -> None:
            if deadline is not None and time.monotonic() > deadline:
                service.stop()
                self._stopping.set()

        while not self._stopping.is_set():
            service = Service(config, str(clip), realtime=True, observer=watch)
            result = service.run()
            passes += 1
            if service.stopped:
                break
            log.info("demo: clip pass %d done (%d events); playing it again", passes, result.events)
        return passes


def _listen(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1:``port``, or on a free port when another program holds
    that one (bound here, so the links printed are where the dashboard really is)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds its own
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            sock.close()
            raise
        sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    return sock


def _print_links(console: Console, links: Links, demo_staff: bool) -> None:
    console.rule("[bold]greetcue live demo[/bold]")
    console.print(f"manager pages:   {links.overview}   (Acknowledgement: {links.acknowledgement})")
    console.print(
        f"manager login:   user [bold]{links.user}[/bold]  password [bold]{links.password}[/bold]",
        highlight=False,
    )
    for device, url in links.staff.items():
        console.print(f"staff page ({device}): {url}", highlight=False)
    if demo_staff:
        console.print(
            "[yellow]a SIMULATED staff member ('demo-staff') acknowledges cues after "
            "1-5 s and misses a few; run with --no-demo-staff to tap Acknowledge "
            "yourself[/yellow]"
        )
    console.print(
        "the edge service plays PETS 2009 S2.L1 (University of Reading) in a loop; "
        "Ctrl-C stops everything"
    )
    console.rule()
