"""The Devices page onboards a staff device and says whether it can work: the new link as a QR
code a phone's camera opens (decoded here with OpenCV from the rendered page), a warning when
the link is built from an address phones may not reach (no ``listen.public_url``), each
device's last seen time, open pages and screen-off alert subscriptions, a warning while no
camera has ever cued it (not on any ``cues.rota``); removing a device revokes its link and
its alerts."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from playwright.sync_api import Browser

from dashboard import auth, push
from dashboard.live import DeviceId
from dashboard.web.app import create_app
from tests.support.dashboard_support import Customer, Dashboard, log_in, manager_store
from tests.support.live_dashboard import Serve
from tests.support.push_service import Subscriber

pytestmark = pytest.mark.integration  # dashboards on real ports, a real browser


def csrf_of(page: str) -> str:
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def test_a_device_says_whether_it_was_cued_seen_and_subscribed(dashboard: Dashboard) -> None:
    client = dashboard.login()
    with dashboard.engine.begin() as connection:
        auth.issue_token(connection, "staff", "wearable-1", "store-1")
    page = client.get("/devices").text
    assert "No camera has cued this device yet" in page and "never" in page

    customer = Customer(time.time() - 60, device="wearable-1")
    dashboard.store([customer.cue(device="wearable-1"), customer.ack(3.0)])
    subscriber = Subscriber("https://fcm.googleapis.com/fcm/send/abc")
    subscription = push.Subscription.model_validate(subscriber.json())
    push.save(dashboard.engine, DeviceId("store-1", "wearable-1"), subscription, keep=10)
    page = client.get("/devices").text
    assert "No camera has cued this device yet" not in page
    assert "never" not in page and "1 phone" in page

    removed = client.post(
        "/devices/store-1/wearable-1/revoke", data={"csrf": csrf_of(page)}, follow_redirects=False
    )
    assert removed.status_code == 303
    assert push.subscriptions(dashboard.engine, DeviceId("store-1", "wearable-1")) == []
    assert 'data-device="wearable-1"' not in client.get("/devices").text


def test_a_new_link_is_a_qr_code_the_phone_camera_reads(
    serve: Serve, browser: Browser, screenshots: Path, tmp_path: Path
) -> None:
    settings, engine = manager_store(tmp_path)
    with serve(create_app(settings, engine, ingest=False)) as base:
        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
        page = context.new_page()
        log_in(page, base, "/devices")
        page.fill("#device", "phone-2")
        page.fill("#link-site", "store-1")
        page.click("#make-link")
        url = page.locator("#made-url").input_value()
        assert url.startswith(f"{base}/staff/phone-2?key=")
        assert "a phone cannot reach" in page.locator("#public-url-warning").inner_text()
        page.locator("#links").screenshot(path=screenshots / "devices-table-phone.png")
        png = page.locator("#made-qr").screenshot()
        page.screenshot(path=screenshots / "devices-new-link-phone.png", full_page=True)
        context.close()
    engine.dispose()
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    decoded, _, _ = cv2.QRCodeDetector().detectAndDecode(image)
    assert decoded == url
