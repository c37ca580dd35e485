"""Web Push from the dashboard to staff browsers, against a stand-in push service: each cue to a
device is pushed to that device's subscriptions, encrypted so only the browser can read it
(decrypted here with http_ece) and signed with the dashboard's VAPID key (checked with py_vapid),
with the cue's remaining life as TTL, high urgency and the cue as its Topic; a handled cue is
withdrawn under the same Topic; a subscription the service calls gone is deleted; endpoints off
the known push services, bad keys and other devices' subscriptions are refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from py_vapid import Vapid02

from dashboard import auth
from dashboard.push import cue_message
from dashboard.settings import DashboardConfig
from dashboard.web.app import create_app
from edge.contract import CueCommand
from tests.support.cue_commands import cue_command
from tests.support.dashboard_support import migrated_engine
from tests.support.push_service import PushService, Subscriber
from tests.support.push_service import push_service as stand_in_push_service

pytestmark = pytest.mark.integration  # a push service on a port

SITE, DEVICE = "store-1", "wearable-1"
HEADERS = {"X-Requested-With": "greetcue"}


@pytest.fixture
def push_service() -> Iterator[PushService]:
    with stand_in_push_service() as service:
        yield service


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """The dashboard with its push allowed to the local stand-in; the staff page's cookie of
    store-1's wearable-1 set, as its link does."""
    settings = DashboardConfig(
        state_dir=tmp_path, push={"endpoint_hosts": ["127.0.0.1"], "contact": "mailto:it@shop.test"}
    )
    engine = migrated_engine(settings)
    with engine.begin() as connection:
        key = auth.issue_token(connection, "staff", DEVICE, SITE)
        other = auth.issue_token(connection, "staff", DEVICE, "store-2")
    with TestClient(create_app(settings, engine, ingest=False)) as test_client:
        assert (
            test_client.get(f"/staff/{DEVICE}?key={key}", follow_redirects=False).status_code == 303
        )
        test_client.app.state.other_key = other  # type: ignore[attr-defined]
        yield test_client
    engine.dispose()


def command(site: str = SITE, life_s: float = 120.0) -> CueCommand:
    return cue_command(site, DEVICE, life_s=life_s, distance_ft=11.6)


def subscribe(client: TestClient, subscriber: Subscriber) -> None:
    answer = client.post(f"/staff/{DEVICE}/push", json=subscriber.json(), headers=HEADERS)
    assert answer.status_code == 200, answer.text


def test_a_cue_is_pushed_encrypted_and_signed_and_withdrawn_once_handled(
    client: TestClient, push_service: PushService
) -> None:
    phone = Subscriber(push_service.endpoint("phone-1"))
    subscribe(client, phone)
    hub = client.app.state.hub  # type: ignore[attr-defined]
    cue = command()
    hub.cue(cue)
    [push] = push_service.wait_for(1)
    assert phone.open(push) == cue_message(cue)
    assert cue_message(cue)["title"] == "Customer coming — look up"  # staff words
    assert push.headers["urgency"] == "high"
    assert push.headers["topic"] == cue.cue_id.hex
    assert 100 <= int(push.headers["ttl"]) <= 120  # what is left of the cue's life
    assert Vapid02.verify(push.headers["authorization"])  # signed by the key it names
    public = client.app.state.push_key  # type: ignore[attr-defined]
    assert push.headers["authorization"].endswith(f"k={public}")  # the key pages subscribe with

    hub.resolved(SITE, str(cue.cue_id), "acked")
    withdrawn = push_service.wait_for(2)[1]
    assert phone.open(withdrawn) == {"type": "close", "cue_id": str(cue.cue_id)}
    assert withdrawn.headers["topic"] == cue.cue_id.hex  # replaces the cue if undelivered


def test_a_subscription_the_service_calls_gone_is_deleted(
    client: TestClient, push_service: PushService
) -> None:
    gone, kept = (
        Subscriber(push_service.endpoint("gone-1")),
        Subscriber(push_service.endpoint("ok")),
    )
    subscribe(client, gone)
    subscribe(client, kept)
    hub = client.app.state.hub  # type: ignore[attr-defined]
    hub.cue(command())
    push_service.wait_for(2)
    assert hub.pusher.wait_idle()
    hub.cue(command())
    later = push_service.wait_for(3)[2:]
    assert [p.path for p in later] == ["/push/ok"]
    assert hub.pusher.counts["gone"] == 1


def test_another_stores_cue_and_a_stale_cue_are_not_pushed(
    client: TestClient, push_service: PushService
) -> None:
    subscribe(client, Subscriber(push_service.endpoint("phone-1")))
    hub = client.app.state.hub  # type: ignore[attr-defined]
    hub.cue(command(site="store-2"))  # store-2's wearable-1 has no subscription
    hub.cue(command(life_s=0.5))  # less than a second left: a push service would drop it
    hub.cue(command())
    assert hub.pusher.wait_idle()
    assert len(push_service.wait_for(1)) == 1
    assert hub.pusher.counts["sent"] == 1


@pytest.mark.parametrize(
    ("endpoint", "keys", "words"),
    [
        ("http://192.168.1.1/admin", None, "no push service"),
        ("https://fcm.googleapis.com.evil.test/x", None, "no push service"),
        (None, {"p256dh": "AAAA" * 22, "auth": "c2hvcnQ"}, "p256dh|auth"),
        ("x" * 3000, None, "endpoint"),
    ],
)
def test_a_subscription_the_dashboard_would_not_push_to_is_refused(
    client: TestClient,
    push_service: PushService,
    endpoint: str | None,
    keys: dict[str, str] | None,
    words: str,
) -> None:
    body = Subscriber(push_service.endpoint("phone-1")).json()
    body["endpoint"] = endpoint or body["endpoint"]
    body["keys"] = keys or body["keys"]
    answer = client.post(f"/staff/{DEVICE}/push", json=body, headers=HEADERS)
    assert answer.status_code == 422
    assert any(w in answer.text for w in words.split("|")), answer.text


def test_only_the_devices_own_page_may_subscribe_it(
    client: TestClient, push_service: PushService
) -> None:
    body = Subscriber(push_service.endpoint("phone-1")).json()
    assert client.post(f"/staff/{DEVICE}/push", json=body).status_code == 403  # no header
    assert client.post("/staff/counter/push", json=body, headers=HEADERS).status_code == 403
    forget = {"endpoint": body["endpoint"]}
    answer = client.request("DELETE", f"/staff/{DEVICE}/push", json=forget, headers=HEADERS)
    assert answer.json() == {"ok": False}  # nothing of its own to forget
    subscribe(client, Subscriber(body["endpoint"]))
    answer = client.request("DELETE", f"/staff/{DEVICE}/push", json=forget, headers=HEADERS)
    assert answer.json() == {"ok": True}
