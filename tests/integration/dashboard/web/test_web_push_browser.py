"""Web Push end to end in a real Chromium on a phone-sized screen: the dashboard pushes a cue to
a stand-in push service; its message, decrypted as the browser would, is delivered to the staff
page's registered service worker through the DevTools protocol
(``ServiceWorker.deliverPushMessage``, what a push service's delivery triggers); the worker shows
the notification in staff words with an Acknowledge action; the action posts the ack without the
page, and it reaches the broker on the device's ack topic. A withdrawal closes the notification.
(A headless Chromium here cannot subscribe at a real push service: the page's subscription is
registered with test keys, through the page's own session.)"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from dashboard import auth
from dashboard.web.app import create_app
from edge.contract import Ack, Topic, decode
from edge.service.delivery.broker import Mosquitto
from tests.support.cue_commands import cue_command
from tests.support.dashboard_support import migrated_engine, on_broker
from tests.support.live_dashboard import Serve
from tests.support.mosquitto_fixture import SubscriberFactory
from tests.support.push_service import PushService, Subscriber
from tests.support.push_service import push_service as stand_in_push_service

WAIT_S = 15.0
PHONE: ViewportSize = {"width": 390, "height": 844}
SITE, DEVICE = "store-1", "wearable-1"
NOTIFICATIONS = """navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((shown) =>
  shown.map((n) => ({ title: n.title, body: n.body, tag: n.tag,
                      actions: n.actions.map((a) => a.action) })))"""
# What tapping the notification's Acknowledge does: the worker's own notificationclick handler.
TAP_ACKNOWLEDGE = """async () => {
  const [n] = await self.registration.getNotifications();
  const tap = new NotificationEvent("notificationclick", { notification: n, action: "ack" });
  try { self.dispatchEvent(tap); } catch (e) { /* waitUntil refuses a synthetic event */ }
  return n.tag;
}"""


@pytest.fixture
def push_service() -> Iterator[PushService]:
    with stand_in_push_service() as service:
        yield service


def wait(page: Page, check: Any, what: str) -> Any:
    """``check()``'s first true answer; Playwright's events are handled meanwhile."""
    deadline = time.monotonic() + WAIT_S
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        page.wait_for_timeout(50)


def registration_id(page: Page, base: str) -> str:
    """The staff page's service worker registration, as DevTools knows it."""
    session = page.context.new_cdp_session(page)
    found: dict[str, str] = {}

    def seen(event: dict[str, Any]) -> None:
        for registration in event["registrations"]:
            if registration["scopeURL"] == f"{base}/staff/" and not registration["isDeleted"]:
                found["id"] = registration["registrationId"]

    session.on("ServiceWorker.workerRegistrationUpdated", seen)
    session.send("ServiceWorker.enable")
    wait(page, lambda: "id" in found, "the service worker registration")
    page.context.cdp_session = session  # type: ignore[attr-defined]
    return found["id"]


def test_a_pushed_cue_shows_a_notification_whose_action_acknowledges(
    serve: Serve,
    mosquitto: Mosquitto,
    subscriber: SubscriberFactory,
    push_service: PushService,
    browser: Browser,
    screenshots: Path,
    tmp_path: Path,
) -> None:
    settings = on_broker(tmp_path, mosquitto, "dash-push", push={"endpoint_hosts": ["127.0.0.1"]})
    engine = migrated_engine(settings)
    with engine.begin() as connection:
        key = auth.issue_token(connection, "staff", DEVICE, SITE)
    acks = subscriber(Topic.ACK.build(prefix="greetcue", site=SITE, device=DEVICE))
    app = create_app(settings, engine)
    with serve(app) as base:
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        context.grant_permissions(["notifications"], origin=base)
        page = context.new_page()
        page.goto(auth.staff_link(base, DEVICE, key))
        expect(page.locator("#connection")).to_contain_text("Connected", timeout=WAIT_S * 1000)
        assert page.evaluate("navigator.serviceWorker.ready.then((r) => Boolean(r.active))")
        expect(page.locator("#push-button")).to_be_visible()
        page.screenshot(path=screenshots / "staff-push-offer.png")
        registration = registration_id(page, base)
        phone = Subscriber(push_service.endpoint("phone-1"))
        stored = page.evaluate(
            """(body) => fetch(location.pathname + "/push", { method: "POST",
                 headers: { "Content-Type": "application/json", "X-Requested-With": "greetcue" },
                 body: JSON.stringify(body) }).then((r) => r.status)""",
            phone.json(),
        )
        assert stored == 200

        cue = cue_command(SITE, DEVICE, distance_ft=11.6)
        app.state.hub.cue(cue)
        [push] = push_service.wait_for(1)
        delivered = json.dumps(phone.open(push))  # what the browser decrypts
        cdp = page.context.cdp_session  # type: ignore[attr-defined]
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": base, "registrationId": registration, "data": delivered},
        )
        [shown] = wait(page, lambda: page.evaluate(NOTIFICATIONS), "the notification")
        assert shown == {
            "title": "Customer coming — look up",
            "body": "12 ft away",
            "tag": str(cue.cue_id),
            "actions": ["ack"],
        }

        [worker] = context.service_workers
        assert worker.evaluate(TAP_ACKNOWLEDGE) == str(cue.cue_id)
        [ack] = acks.wait_for(lambda got: len(got) >= 1)
        assert decode(Ack, ack.payload).cue_id == cue.cue_id
        assert wait(page, lambda: page.evaluate(NOTIFICATIONS) == [], "the notification to close")

        app.state.hub.cue(cue.model_copy(update={"cue_id": uuid.uuid4()}))  # a second cue
        second = push_service.wait_for(2)[1]
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {
                "origin": base,
                "registrationId": registration,
                "data": json.dumps(phone.open(second)),
            },
        )
        wait(page, lambda: page.evaluate(NOTIFICATIONS), "the second notification")
        withdrawn = {"type": "close", "cue_id": phone.open(second)["cue_id"]}
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": base, "registrationId": registration, "data": json.dumps(withdrawn)},
        )
        assert wait(page, lambda: page.evaluate(NOTIFICATIONS) == [], "the withdrawal to close it")
        context.close()
    engine.dispose()
