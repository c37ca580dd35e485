"""``greetcue bench delivery``: how long a cue takes to reach staff, in one run.

The real path from the edge on: a private Mosquitto; the dashboard (its ingest, live hub and
Web Push) served by uvicorn; a staff page open in Debian's headless Chromium; a stand-in for a
browser vendor's push service on a local port. Each cue is published as the edge publishes it
(``greetcue/<site>/cue/<device>``, QoS 1), one at a time: the time until the page shows it (the
page's own clock, the same machine's) and until the push service has accepted its push, then
the cue is closed and the next one follows. p50 and p99 of each.
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from dashboard import auth
from dashboard.settings import Broker, DashboardConfig, Push
from dashboard.store.database import open_engine, upgrade
from dashboard.web.app import create_app
from edge.contract import DEFAULT_PREFIX, CueCommand, Topic, encode
from edge.service.delivery.broker import Mosquitto, free_port

SITE, DEVICE = "bench", "phone-1"
WAIT_S = 15.0
DEBIAN_CHROMIUM = Path("/usr/bin/chromium")
# Records when the page starts showing a cue (its clock, ms since the epoch).
SHOWN = """
window.__shown = [];
new MutationObserver(() => {
  const showing = document.body && document.body.dataset.state === "cue";
  if (showing && !window.__showing) window.__shown.push(performance.timeOrigin + performance.now());
  window.__showing = showing;
}).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-state"] });
"""


class ChromiumMissingError(RuntimeError):
    """No Chromium to open the staff page in."""


@dataclass(frozen=True, slots=True)
class Pushed:
    """One push as the stand-in service received it, with its arrival time (epoch s)."""

    path: str
    headers: dict[str, str]
    body: bytes
    at_s: float


@dataclass
class PushService:
    """A local stand-in for a push service: it records every push and answers 201, or 410
    (gone) for endpoints under ``/push/gone``."""

    base: str
    pushes: list[Pushed] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def endpoint(self, name: str) -> str:
        return f"{self.base}/push/{name}"

    def wait_for(self, count: int, timeout_s: float = WAIT_S) -> list[Pushed]:
        """Once ``count`` pushes have arrived, all of them."""
        deadline = time.monotonic() + timeout_s
        with self.changed:
            while len(self.pushes) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self.pushes)} pushes arrived, waited for {count}")
                self.changed.wait(left)
            return list(self.pushes)


@contextmanager
def push_service() -> Iterator[PushService]:
    """A :class:`PushService` on an ephemeral port until the block ends."""
    service: PushService | None = None

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            assert service is not None
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            pushed = Pushed(
                self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time()
            )
            with service.changed:
                service.pushes.append(pushed)
                service.changed.notify_all()
            self.send_response(410 if self.path.startswith("/push/gone") else 201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service = PushService(f"http://127.0.0.1:{server.server_port}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()


def browser_keys() -> dict[str, str]:
    """A browser's side of a push subscription (P-256 public key, auth secret), base64url."""
    key = ec.generate_private_key(ec.SECP256R1())
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return {"p256dh": b64url(point), "auth": b64url(os.urandom(16))}


def b64url(raw: bytes) -> str:
    """Base64url without padding, as Web Push writes keys."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass(frozen=True, slots=True)
class DeliveryBench:
    """Seconds from publishing each cue to the page showing it and to its push accepted."""

    shown_s: list[float]
    pushed_s: list[float]

    @staticmethod
    def percentiles(values: list[float]) -> tuple[float, float]:
        """p50 and p99 in ms."""
        ms = 1000 * np.asarray(values)
        return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))

    def lines(self) -> list[str]:
        """The figures, one line each, in words."""
        shown, pushed = self.percentiles(self.shown_s), self.percentiles(self.pushed_s)
        return [
            f"cue published -> shown on the staff page: p50 {shown[0]:.0f} ms, p99 "
            f"{shown[1]:.0f} ms ({len(self.shown_s)} cues)",
            f"cue published -> push accepted by the push service: p50 {pushed[0]:.0f} ms, p99 "
            f"{pushed[1]:.0f} ms",
        ]


def find_chromium() -> str:
    """Debian's Chromium, or one on PATH."""
    found = str(DEBIAN_CHROMIUM) if DEBIAN_CHROMIUM.is_file() else shutil.which("chromium")
    if found is None:
        raise ChromiumMissingError(
            "Chromium is not installed: `apt-get install chromium`, or run "
            "deploy/quickstart.sh setup"
        )
    return found


def bench_delivery(cues: int = 20) -> DeliveryBench:
    """Publish ``cues`` cues one by one through the whole path (module docstring)."""
    from playwright.sync_api import sync_playwright

    chromium = find_chromium()
    with (
        tempfile.TemporaryDirectory(prefix="greetcue-bench-delivery-") as folder,
        Mosquitto(Path(folder) / "mosquitto", port=0) as broker,
        push_service() as service,
    ):
        settings = DashboardConfig(
            state_dir=Path(folder) / "state",
            broker=Broker(host=broker.host, port=broker.port, client_id="bench-delivery"),
            push=Push(endpoint_hosts=["127.0.0.1"]),
        )
        engine = open_engine(settings.database_url())
        upgrade(engine)
        with engine.begin() as connection:
            key = auth.issue_token(connection, "staff", DEVICE, SITE)
        app = create_app(settings, engine)
        with _served(app) as base, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            try:
                # The page's CSP forbids eval; the bench's waits are evaluated expressions.
                page = browser.new_page(viewport={"width": 390, "height": 844}, bypass_csp=True)
                page.add_init_script(SHOWN)
                page.goto(auth.staff_link(base, DEVICE, key))
                page.wait_for_function(
                    "document.getElementById('connection').dataset.conn === 'open'",
                    timeout=WAIT_S * 1000,
                )
                body = {"endpoint": service.endpoint("bench"), "keys": browser_keys()}
                status = page.evaluate(_SUBSCRIBE, body)
                if status != 200:
                    raise RuntimeError(f"the dashboard refused the push subscription ({status})")
                with _publisher(broker.port) as publish:
                    return _run(cues, page, app, service, publish)
            finally:
                browser.close()
                engine.dispose()


_SUBSCRIBE = """(body) => fetch(location.pathname + "/push", { method: "POST",
  headers: { "Content-Type": "application/json", "X-Requested-With": "greetcue" },
  body: JSON.stringify(body) }).then((r) => r.status)"""


def _run(cues: int, page: Any, app: Any, service: PushService, publish: Any) -> DeliveryBench:
    shown: list[float] = []
    pushed: list[float] = []
    topic = Topic.CUE.build(prefix=DEFAULT_PREFIX, site=SITE, device=DEVICE)
    for i in range(cues):
        now = datetime.now(UTC)
        cue = CueCommand(
            cue_id=uuid.uuid4(),
            site=SITE,
            camera="counter-1",
            device=DEVICE,
            zone="10ft",
            reason="zone",
            escalation=0,
            track_id=i,
            distance_ft=9.0,
            issued_at=now,
            expires_at=now + timedelta(seconds=60),
        )
        sent = time.time()
        publish(topic, encode(cue))
        page.wait_for_function(f"window.__shown.length > {i}", timeout=WAIT_S * 1000)
        shown.append(page.evaluate(f"window.__shown[{i}]") / 1000 - sent)
        arrived = service.wait_for(2 * i + 1)[2 * i]  # each cue's push, then its withdrawal
        if arrived.headers.get("topic") != cue.cue_id.hex:
            raise RuntimeError(f"push {2 * i} was not cue {i}'s: {arrived.headers}")
        pushed.append(arrived.at_s - sent)
        app.state.hub.resolved(SITE, str(cue.cue_id), "acked")  # staff acknowledged it
        page.wait_for_function("document.body.dataset.state !== 'cue'", timeout=WAIT_S * 1000)
        service.wait_for(2 * (i + 1))  # the withdrawal, before the next cue
    return DeliveryBench(shown, pushed)


@contextmanager
def _served(app: Any) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the dashboard did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def _publisher(port: int) -> Iterator[Any]:
    """``publish(topic, payload)`` at QoS 1, returning once the broker has it."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id="bench-edge", protocol=MQTTProtocolVersion.MQTTv5
    )
    client.connect("127.0.0.1", port)
    client.loop_start()

    def publish(topic: str, payload: bytes) -> None:
        client.publish(topic, payload, qos=1).wait_for_publish(WAIT_S)

    try:
        yield publish
    finally:
        client.disconnect()
        client.loop_stop()
