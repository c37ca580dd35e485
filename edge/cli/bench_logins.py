"""``greetcue bench logins``: does a login burst stall the dashboard's pages?

The dashboard runs for real (``greetcue dashboard`` in its own process, a private Mosquitto,
SQLite with a day of synthetic events). ``/api/overview`` is timed while idle, then again
while a burst of login tries with wrong passwords runs (each fetches the form, then posts it),
each try from its own loopback address (127.0.x.y) so the per-address limit lets every one
reach the password check: the worst case a burst can be. Reported: overview latency idle and
under the burst, their ratio, and how the tries were answered.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from dashboard import auth
from dashboard.settings import Broker, DashboardConfig, Listen
from dashboard.store import writes
from dashboard.store.database import open_engine, upgrade
from dashboard.synthetic import visit_events, visits
from edge.service.delivery.broker import Mosquitto, free_port

MANAGER = ("manager", "a long enough password")
WAIT_S = 60.0


@dataclass(frozen=True)
class Latency:
    """Request times of one phase, in milliseconds."""

    ms: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.ms)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.ms, n=20)[-1] if len(self.ms) > 1 else self.ms[0]

    @property
    def worst(self) -> float:
        return max(self.ms)


@dataclass(frozen=True)
class LoginBench:
    """One run: overview latency idle and under the burst; how the tries were answered."""

    idle: Latency
    burst: Latency
    tries: int
    answers: Counter[int]
    burst_s: float

    @property
    def ratio(self) -> float:
        """p95 under the burst over p95 idle."""
        return self.burst.p95 / self.idle.p95


@contextmanager
def dashboard_process(config: Path, port: int, log: Path) -> Iterator[str]:
    """``greetcue dashboard --config`` in its own process until the block ends; its URL."""
    command = [sys.executable, "-m", "edge.cli", "dashboard", "--config", str(config)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + WAIT_S
        while not _answers(f"{base}/healthz"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the dashboard did not start: {log.read_text()[-2000:]}")
            time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=WAIT_S)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def login_form(page: str) -> str:
    """The CSRF token in a login page."""
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]


async def try_login(client: httpx.AsyncClient, password: str) -> int:
    """One login try: fetch the form (its session and CSRF token), post it; the status."""
    csrf = login_form((await client.get("/login")).text)
    form = {"username": MANAGER[0], "password": password, "csrf": csrf}
    return (await client.post("/login", data=form)).status_code


def _client(base: str, address: str) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=base, transport=transport, timeout=WAIT_S)


async def _time_overview(client: httpx.AsyncClient, more: Callable[[int], bool]) -> list[float]:
    """Sequential ``/api/overview`` times (ms), at least one, while ``more(count so far)``."""
    times: list[float] = []
    while not times or more(len(times)):
        start = time.perf_counter()
        answer = await client.get("/api/overview")
        answer.raise_for_status()
        times.append((time.perf_counter() - start) * 1000)
    return times


async def _run(base: str, token: str, tries: int, probes: int) -> LoginBench:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=WAIT_S) as client:
        idle = await _time_overview(client, lambda n: n < probes)
        done = asyncio.Event()
        probe = asyncio.create_task(_time_overview(client, lambda _: not done.is_set()))
        clients = [_client(base, f"127.0.{i // 250}.{2 + i % 250}") for i in range(tries)]
        start = time.perf_counter()
        answers = await asyncio.gather(*(try_login(c, "wrong password!") for c in clients))
        burst_s = time.perf_counter() - start
        done.set()
        burst = await probe
        for each in clients:
            await each.aclose()
    return LoginBench(Latency(idle), Latency(burst), tries, Counter(answers), burst_s)


def bench_logins(tries: int = 80, probes: int = 50, visits_per_day: int = 200) -> LoginBench:
    """Time ``/api/overview`` idle, then during ``tries`` concurrent login tries."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request otherwise
    with (
        tempfile.TemporaryDirectory(prefix="greetcue-bench-logins-") as name,
        Mosquitto(Path(name) / "mosquitto", port=0) as broker,
    ):
        folder, port = Path(name), free_port()
        settings = DashboardConfig(
            state_dir=folder,
            broker=Broker(host=broker.host, port=broker.port),
            listen=Listen(port=port),
        )
        engine = open_engine(settings.database_url())
        upgrade(engine)
        now = time.time()
        events = [e for v in visits(2, 1, 1, visits_per_day, now) for e in visit_events(v)]
        with engine.begin() as connection:
            writes.store_events(connection, [writes.Received(e, now) for e in events])
            auth.add_user(connection, *MANAGER)
            token = auth.issue_token(connection, "api", "bench")
        engine.dispose()
        config = folder / "dashboard.yaml"
        config.write_text(yaml.safe_dump(settings.model_dump(mode="json", exclude_none=True)))
        with dashboard_process(config, port, folder / "dashboard.log") as base:
            return asyncio.run(_run(base, token, tries, probes))
