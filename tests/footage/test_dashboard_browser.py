"""End to end in a real browser (Playwright driving Debian's Chromium): the real edge service
on real footage publishes to a real Mosquitto, the dashboard ingests it; a manager logs in and
sees a live event arrive, a staff member acknowledges on the staff page, and the latency then
shows on the Acknowledgement page. Screenshots of every page are saved as test artefacts."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, ViewportSize, expect

from dashboard import auth
from dashboard.settings import Broker, DashboardConfig, Listen
from edge.config import write_config
from edge.service.delivery.broker import Mosquitto, free_port
from tests.support.dashboard_support import MANAGER, log_in, migrated_engine
from tests.support.kiosk import PART0, kiosk_config

WAIT_MS = 60_000  # guards a hung test only; the clip itself lasts 36 s
PHONE: ViewportSize = {"width": 390, "height": 740}


@dataclass
class Stack:
    """Broker, dashboard (on a thread) and the edge service (a subprocess)."""

    base: str
    staff_url: str
    device: str
    edge: subprocess.Popen[bytes]
    edge_log: Path

    def edge_output(self) -> str:
        """The end of the edge process's log (stdout and stderr)."""
        return self.edge_log.read_text(errors="replace")[-4000:]


@pytest.fixture
def stack(mosquitto: Mosquitto, tmp_path: Path, footage_dir: Path) -> Iterator[Stack]:
    from dashboard.web.app import create_app

    port = free_port()
    settings = DashboardConfig(
        state_dir=tmp_path / "dashboard",
        broker=Broker(host=mosquitto.host, port=mosquitto.port, client_id="browser-test"),
        listen=Listen(port=port),
    )
    engine = migrated_engine(settings)
    config = kiosk_config(mosquitto.port, tmp_path / "edge")
    device = config.cues.rota[0]
    with engine.begin() as connection:
        auth.add_user(connection, *MANAGER)
        key = auth.issue_token(connection, "staff", device, config.site)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, engine), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    web = threading.Thread(target=server.run, daemon=True)
    web.start()
    while not server.started:
        time.sleep(0.05)
    path = write_config(config, tmp_path / "edge.yaml")
    command = [
        sys.executable,
        "-m",
        "edge.cli",
        "run",
        "--config",
        str(path),
        "--source",
        str(footage_dir / PART0),
        "--realtime",
    ]
    with (tmp_path / "edge.log").open("wb") as log:
        edge = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    stack = Stack(base, f"{base}/staff/{device}?key={key}", device, edge, tmp_path / "edge.log")
    try:
        yield stack
    finally:
        edge.terminate()
        edge.wait(timeout=30)
        server.should_exit = True
        web.join(timeout=10)
        engine.dispose()


@pytest.mark.footage
@pytest.mark.model
def test_live_event_staff_ack_and_latency_in_a_real_browser(
    stack: Stack, browser: Browser, screenshots: Path
) -> None:
    manager = browser.new_context(viewport={"width": 1280, "height": 900})
    page = manager.new_page()
    page.goto(f"{stack.base}/login")
    page.screenshot(path=screenshots / "login.png", full_page=True)
    log_in(page, stack.base, "/acks")
    page.goto(f"{stack.base}/")
    staff_context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    staff = staff_context.new_page()
    staff.goto(stack.staff_url)
    expect(staff.locator("#connection")).to_contain_text("onnected", timeout=WAIT_MS)
    assert stack.edge.poll() is None, f"the edge service stopped:\n{stack.edge_output()}"
    staff.screenshot(path=screenshots / "staff-idle.png")

    page.locator("details.raw summary").click()  # the raw events are folded under today's figures
    expect(page.locator("#events tr[data-event-id]").first).to_be_visible(timeout=WAIT_MS)
    online = page.locator('.camera[data-camera="view001"][data-online="true"]')
    expect(online).to_be_visible(timeout=WAIT_MS)  # a new camera's card appears by itself
    page.screenshot(path=screenshots / "overview.png", full_page=True)

    expect(staff.locator("body")).to_have_attribute("data-state", "cue", timeout=WAIT_MS)
    staff.screenshot(path=screenshots / "staff-cue-flash.png")
    expect(staff.locator("body")).not_to_have_class("flash", timeout=WAIT_MS)
    staff.screenshot(path=screenshots / "staff-cue.png")
    staff.click("#ack-button")
    expect(staff.locator("body")).not_to_have_attribute("data-state", "cue", timeout=WAIT_MS)
    staff.screenshot(path=screenshots / "staff-acked.png")

    deadline = time.monotonic() + WAIT_MS / 1000
    while True:  # the edge's ack event comes back through the broker and the ingest
        page.goto(f"{stack.base}/acks")
        if page.locator("#p50").inner_text().strip() not in ("", "-"):
            break
        assert time.monotonic() < deadline, "no acknowledgement latency appeared"
        time.sleep(1.0)
    latency = float(page.locator("#p50").inner_text().split()[0])
    assert 0 < latency < 60
    page.screenshot(path=screenshots / "acknowledgement.png", full_page=True)
    for name, path in (("events", "/events"), ("devices", "/devices"), ("api-docs", "/docs")):
        page.goto(f"{stack.base}{path}")
        page.screenshot(path=screenshots / f"{name}.png", full_page=True)
    manager.close()
    staff_context.close()
