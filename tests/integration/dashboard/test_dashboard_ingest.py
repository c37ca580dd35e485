"""Ingest from a real Mosquitto: every valid message stored once by id, anything malformed
counted and logged with its topic and never stopping the ingest, and nothing lost while the
dashboard is down (persistent session, acknowledged only once stored)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from dashboard import auth
from dashboard.analytics import Analytics, Filters
from dashboard.ingest import Ingest
from dashboard.live import DeviceId, LiveHub
from dashboard.settings import Broker, DashboardConfig
from dashboard.store import rollups, sums, writes
from dashboard.store.tables import CueHourRow, RollupDirtyRow
from dashboard.synthetic import Visit, visit_events
from dashboard.web.app import create_app
from edge.contract import CueCommand, CueIssued, Topic, ZoneOccupancy, encode, utc
from edge.service.delivery.broker import Mosquitto
from tests.support.dashboard_support import migrated_engine

WAIT_S = 20.0  # guards a hung test only


class Publisher:
    """An edge stand-in that publishes raw payloads (QoS 1, waits for each PUBACK)."""

    def __init__(self, broker: Mosquitto) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def send(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(WAIT_S)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def publisher(mosquitto: Mosquitto) -> Iterator[Publisher]:
    made = Publisher(mosquitto)
    yield made
    made.close()


def settings_for(broker: Mosquitto, folder: Path) -> DashboardConfig:
    return DashboardConfig(
        state_dir=folder, broker=Broker(host=broker.host, port=broker.port, client_id="dash-t")
    )


def wait_until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def visit(track_id: int) -> list[bytes]:
    events = visit_events(Visit("store-1", "counter-1", track_id, time.time() - 60, 3.0, 0.5))
    return [encode(event) for event in events]


EVENT = Topic.EVENT.build(prefix="greetcue", site="store-1", camera="counter-1")


def test_valid_messages_are_stored_once_and_bad_ones_counted(
    mosquitto: Mosquitto, publisher: Publisher, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(mosquitto, tmp_path)
    engine = migrated_engine(settings)
    with engine.begin() as connection:
        token = auth.issue_token(connection, "api", "t")
    good = visit(1)
    with TestClient(create_app(settings, engine)) as client:
        ingest = client.app.state.ingest  # type: ignore[attr-defined]
        wait_until(lambda: ingest.stats.connected, "the dashboard to connect")
        publisher.send(EVENT.replace("counter-1/event", "counter-1/availability"), b"online", True)
        for payload in good:
            publisher.send(EVENT, payload)
        publisher.send(EVENT, good[0])  # a redelivery
        publisher.send(EVENT, b"{not json")
        publisher.send(EVENT, good[1].replace(b'"site":"store-1"', b'"site":"store-1","x":1'))
        publisher.send(EVENT.replace("store-1", "store-2"), good[2])  # topic and payload differ
        publisher.send("greetcue/store-1/nonsense", b"{}")
        zone = ZoneOccupancy(
            site="store-1",
            camera="counter-1",
            zone="10ft",
            radius_ft=10,
            count=2,
            nearest_ft=4.5,
            updated_at=utc(time.time()),
        )
        publisher.send(
            Topic.ZONE.build(prefix="greetcue", site="store-1", camera="counter-1", zone="10ft"),
            encode(zone),
            retain=True,
        )
        publisher.send(EVENT, visit(2)[0])  # the ingest goes on after all that
        wait_until(lambda: ingest.stats.stored == len(good) + 1, "the events to be stored")
        wait_until(lambda: sum(ingest.stats.refused.values()) == 4, "the refusals")
        metrics = client.get("/metrics").text
        overview = client.get("/api/overview", headers={"Authorization": f"Bearer {token}"})
    with engine.connect() as connection:
        assert writes.count_events(connection) == len(good) + 1
    assert ingest.stats.duplicates == 1
    assert dict(ingest.stats.refused) == {
        "malformed_event": 2,
        "topic_mismatch": 1,
        "unknown_topic": 1,
    }
    assert 'greetcue_dashboard_refused_total{kind="malformed_event"} 2.0' in metrics
    assert 'greetcue_dashboard_refused_total{kind="topic_mismatch"} 1.0' in metrics
    assert "greetcue_dashboard_stored_total 11.0" in metrics
    assert "greetcue_dashboard_ingest_alive 1.0" in metrics
    assert "greetcue_dashboard_queue_bytes 0.0" in metrics
    camera = overview.json()["cameras"][0]
    assert camera["online"] is True and camera["zones"][0]["count"] == 2
    logged = caplog.text
    assert "greetcue/store-2/counter-1/event" in logged and "greetcue/store-1/nonsense" in logged


def test_events_sent_while_the_dashboard_is_down_arrive_when_it_is_back(
    mosquitto: Mosquitto, publisher: Publisher, tmp_path: Path
) -> None:
    settings = settings_for(mosquitto, tmp_path)
    engine = migrated_engine(settings)
    with TestClient(create_app(settings, engine)) as client:  # makes the persistent session
        ingest = client.app.state.ingest  # type: ignore[attr-defined]
        wait_until(lambda: ingest.stats.connected, "the first connection")
    sent = visit(1) + visit(2)
    for payload in sent:
        publisher.send(EVENT, payload)
    with TestClient(create_app(settings, engine)) as client:
        ingest = client.app.state.ingest  # type: ignore[attr-defined]
        wait_until(lambda: ingest.stats.stored == len(sent), "the queued events")
    with engine.connect() as connection:
        assert writes.count_events(connection) == len(sent)


def test_an_unmigrated_database_is_refused_with_the_command_that_fixes_it(
    tmp_path: Path,
) -> None:
    settings = DashboardConfig(state_dir=tmp_path)
    with pytest.raises(RuntimeError, match=re.escape("greetcue dashboard migrate --config d.yaml")):
        create_app(settings, ingest=False, config_hint=" --config d.yaml")


def test_a_staff_page_cue_closes_whichever_shared_worker_stores_its_ack(
    mosquitto: Mosquitto, publisher: Publisher, tmp_path: Path
) -> None:
    base = settings_for(mosquitto, tmp_path)
    settings = base.model_copy(
        update={"broker": base.broker.model_copy(update={"shared_group": "g"})}
    )
    engine = migrated_engine(settings)
    hub = LiveHub()
    web = Ingest.from_settings(settings, engine, hub=hub).start()
    worker_broker = settings.broker.model_copy(update={"client_id": "dash-t-1"})
    worker = Ingest.from_settings(settings, engine, broker=worker_broker).start()
    try:
        wait_until(lambda: web.stats.connected and worker.stats.connected, "both sessions")
        visits = [
            visit_events(Visit("store-1", "counter-1", n, time.time() - 60, 3.0, 0.5))
            for n in range(1, 9)
        ]  # the events alternate between the two sessions
        for events in visits:
            cue = next(e for e in events if isinstance(e, CueIssued))
            command = CueCommand(
                cue_id=cue.cue_id,
                site="store-1",
                camera="counter-1",
                device=cue.device,
                zone=cue.zone,
                reason=cue.reason,
                escalation=0,
                track_id=cue.track_id,
                issued_at=utc(time.time()),
                expires_at=utc(time.time() + 600),
            )
            publisher.send(
                Topic.CUE.build(prefix="greetcue", site="store-1", device=cue.device),
                encode(command),
            )
        wearable = DeviceId("store-1", "wearable-1")
        wait_until(lambda: len(hub.pending(wearable)) == len(visits), "the open cues")
        sent = [event for events in visits for event in events]
        for event in sent:
            publisher.send(EVENT, encode(event))
        wait_until(lambda: web.stats.stored + worker.stats.stored == len(sent), "every event")
        assert worker.stats.stored > 0 and web.stats.stored > 0
        wait_until(lambda: not hub.pending(wearable), "every cue closed on the staff page")
    finally:
        web.stop()
        worker.stop()


def test_the_ingest_rolls_the_cues_up_and_totals_them_while_events_arrive(
    mosquitto: Mosquitto, publisher: Publisher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(mosquitto, tmp_path).model_copy(update={"ingest_rollup_s": 0.1})
    engine = migrated_engine(settings)
    sent = visit(1) + visit(2) + visit(3)
    ingest = Ingest.from_settings(settings, engine).start()
    try:
        wait_until(lambda: ingest.stats.connected, "the dashboard to connect")
        for payload in sent:
            publisher.send(EVENT, payload)
        wait_until(lambda: ingest.stats.stored == len(sent), "the events to be stored")
        publisher.send(EVENT, visit(4)[0])  # a later batch: the roll-up is due by then

        def rolled_up() -> tuple[int, int, int]:
            with engine.connect() as connection:
                hours = CueHourRow.__table__
                row = connection.execute(
                    select(func.sum(hours.c.customers), func.sum(hours.c.acknowledged))
                ).one()
                marks = connection.execute(select(func.count()).select_from(RollupDirtyRow))
                return int(row[0] or 0), int(row[1] or 0), int(marks.scalar() or 0)

        wait_until(lambda: rolled_up() == (3, 3, 0), "the three customers in the hourly rollup")
        analytics = Analytics(settings)
        midnight = time.time() // 86400 * 86400  # the chain's time zone is UTC
        days = Filters(midnight - 86400, midnight + 86400)

        def chain_customers() -> int:
            with engine.connect() as connection, monkeypatch.context() as patch:
                if not sums.built(connection, analytics.sums_spec):
                    return -1
                patch.setattr(rollups, "count", None)  # read from the totals, not the hours
                return analytics.report(connection, days).overall.customers

        wait_until(lambda: chain_customers() == 3, "the chain totals to follow the hours")
    finally:
        ingest.stop()
