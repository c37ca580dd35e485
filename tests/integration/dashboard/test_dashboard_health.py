"""/healthz tells the truth about the ingest: a writer held up by a locked database, or not
running, is a 503 saying why; once the database is free again it is 200 and nothing was lost.
A real Mosquitto, a real SQLite file locked by another program."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from dashboard.settings import Broker, DashboardConfig
from dashboard.store.tables import EventRow
from dashboard.synthetic import Visit, visit_events
from dashboard.web.app import create_app
from edge.contract import Topic, encode
from edge.service.delivery.broker import Mosquitto
from tests.support.dashboard_support import migrated_engine

WAIT_S = 20.0  # guards a hung test only
STALL_S = 1.0  # the shortest ingest_stall_s


def wait_until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_healthz_is_503_with_the_reason_while_the_ingest_writer_stalls_or_stops(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    broker = Broker(host=mosquitto.host, port=mosquitto.port, client_id="health-test")
    settings = DashboardConfig(state_dir=tmp_path, broker=broker, ingest_stall_s=STALL_S)
    engine = migrated_engine(settings)
    events = visit_events(Visit("store-1", "counter-1", 1, time.time() - 60, 3.0, 0.5))
    topic = Topic.EVENT.build(prefix="greetcue", site="store-1", camera="counter-1")
    edge = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    edge.connect(mosquitto.host, mosquitto.port)
    edge.loop_start()

    def stored() -> int:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(EventRow)).scalar_one())

    with TestClient(create_app(settings, engine)) as client:
        wait_until(lambda: client.get("/healthz").json().get("broker_connected") is True, "MQTT")
        edge.publish(topic, encode(events[0]), qos=1).wait_for_publish(WAIT_S)
        wait_until(lambda: stored() == 1, "the first event stored")
        assert client.get("/healthz").status_code == 200

        lock = sqlite3.connect(settings.database_url().removeprefix("sqlite:///"))
        lock.execute("BEGIN EXCLUSIVE")  # another program holds the write lock
        for event in events[1:]:
            edge.publish(topic, encode(event), qos=1).wait_for_publish(WAIT_S)
        wait_until(lambda: client.get("/healthz").status_code == 503, "a 503 while stalled")
        answer = client.get("/healthz").json()
        assert answer["ok"] is False and "stored nothing" in answer["ingest"]
        lock.rollback()
        lock.close()
        wait_until(lambda: client.get("/healthz").status_code == 200, "a 200 once unlocked")
        wait_until(lambda: stored() == len(events), "every event stored")

        client.app.state.ingest.stop()  # type: ignore[attr-defined]
        answer = client.get("/healthz")
        assert answer.status_code == 503 and "not running" in answer.json()["ingest"]
    edge.disconnect()
    edge.loop_stop()
    engine.dispose()
