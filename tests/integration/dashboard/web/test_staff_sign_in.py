"""Who acknowledged: where a site keeps a staff list, the staff page asks who is on the phone
(a name, and a code where the manager set one); every ack then carries that name, on the
broker. Managers see team figures unless ``privacy.per_person`` is on: no staff filter, no
names in the event log or its CSV."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, ViewportSize, expect

from dashboard import auth, roster
from dashboard.settings import Privacy
from dashboard.web.app import create_app
from edge.contract import Ack, Topic, decode
from edge.service.delivery.broker import Mosquitto
from tests.support.cue_commands import cue_command
from tests.support.dashboard_support import Customer, Dashboard, migrated_engine, on_broker
from tests.support.live_dashboard import Serve
from tests.support.mosquitto_fixture import SubscriberFactory

pytestmark = pytest.mark.integration
SITE, DEVICE = "store-1", "wearable-1"
PHONE: ViewportSize = {"width": 390, "height": 844}
WAIT_MS = 10_000


def test_a_signed_in_staff_members_ack_carries_their_name(
    serve: Serve,
    mosquitto: Mosquitto,
    subscriber: SubscriberFactory,
    browser: Browser,
    screenshots: Path,
    tmp_path: Path,
) -> None:
    settings = on_broker(tmp_path, mosquitto, "dash-roster", push={"enabled": False})
    engine = migrated_engine(settings)
    with engine.begin() as connection:
        key = auth.issue_token(connection, "staff", DEVICE, SITE)
        roster.add(connection, SITE, "sam", "4711")
        roster.add(connection, SITE, "alex")
    acks = subscriber(Topic.ACK.build(prefix="greetcue", site=SITE, device=DEVICE))
    app = create_app(settings, engine)
    with serve(app) as base:
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        page = context.new_page()
        page.goto(auth.staff_link(base, DEVICE, key))
        expect(page.locator("#signin")).to_be_visible(timeout=WAIT_MS)
        assert page.locator("#signin-name option").all_inner_texts() == ["alex", "sam"]
        page.select_option("#signin-name", "sam")
        expect(page.locator("#signin-code")).to_be_visible()
        page.fill("#signin-code", "0000")
        page.click("#signin-button")
        expect(page.locator("#notice")).to_contain_text("check your name and code")
        page.fill("#signin-code", "4711")
        page.screenshot(path=screenshots / "staff-sign-in.png")
        page.click("#signin-button")
        expect(page.locator("#on-duty")).to_have_text("On duty: sam ·", timeout=WAIT_MS)
        expect(page.locator("#signin")).to_be_hidden()

        cue = cue_command()
        app.state.hub.cue(cue)
        expect(page.locator("body")).to_have_attribute("data-state", "cue", timeout=WAIT_MS)
        page.click("#ack-button")
        [ack] = acks.wait_for(lambda got: len(got) >= 1)
        sent = decode(Ack, ack.payload)
        assert (sent.cue_id, sent.staff) == (cue.cue_id, "sam")
        context.close()
    engine.dispose()


def test_without_signing_in_an_ack_is_refused_where_a_list_is_kept(
    dashboard: Dashboard, tmp_path: Path
) -> None:
    with dashboard.engine.begin() as connection:
        key = auth.issue_token(connection, "staff", DEVICE, SITE)
        roster.add(connection, SITE, "sam")
    client = dashboard.client
    assert client.get(f"/staff/{DEVICE}?key={key}", follow_redirects=False).status_code == 303
    dashboard.client.app.state.hub.cue(cue_command())  # type: ignore[attr-defined]
    cue_id = dashboard.client.app.state.hub.pending((SITE, DEVICE))[0]["cue_id"]  # type: ignore[attr-defined]
    headers = {"X-Requested-With": "greetcue"}
    refused = client.post(f"/staff/{DEVICE}/ack", json={"cue_id": cue_id}, headers=headers)
    assert refused.status_code == 403 and "sign in" in refused.text
    stranger = client.post(f"/staff/{DEVICE}/signin", json={"staff": "eve"}, headers=headers)
    assert stranger.status_code == 403 and "not on this store's staff list" in stranger.text


def test_team_figures_unless_per_person_is_turned_on(dashboard: Dashboard) -> None:
    customer = Customer(datetime.now(UTC).timestamp() - 120)
    dashboard.store([customer.cue(), customer.ack(4.0, staff="sam")])
    client = dashboard.login()
    assert 'id="f-staff"' not in client.get("/acks").text
    refused = client.get("/acks", params={"staff": "sam"})
    assert refused.status_code == 422 and "privacy.per_person" in refused.text
    events = dashboard.api("/api/events")
    assert [e["staff"] for e in events if e["type"] == "ack"] == [None]
    assert ",sam," not in client.get("/api/events.csv").text

    settings = dashboard.settings.model_copy(update={"privacy": Privacy(per_person=True)})
    with TestClient(create_app(settings, dashboard.engine, ingest=False)) as open_client:
        named = open_client.get("/api/events", headers=dashboard.bearer()).json()
        assert [e["staff"] for e in named if e["type"] == "ack"] == ["sam"]
