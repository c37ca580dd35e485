"""The ingest half of ``greetcue bench dashboard``: the rate from MQTT into SQLite and
PostgreSQL. A private Mosquitto, the dashboard's ingest on a fresh database, and a publisher
sending synthetic customer visits at QoS 1 as fast as it can; events per second from the
first publish to the last event stored (so broker, JSON validation and the writes count).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion
from rich.progress import Progress
from sqlalchemy import Engine

from dashboard.ingest import Ingest
from dashboard.settings import Broker, DashboardConfig
from dashboard.store import writes
from dashboard.store.database import open_engine, upgrade
from dashboard.synthetic import visit_events, visits
from edge.contract import Topic, encode
from edge.service.delivery.broker import Mosquitto

INGEST_TARGET = 5000.0  # events/s, SQLite
EVENTS_PER_VISIT = 10
WAIT_S = 300.0


@dataclass(frozen=True)
class IngestFigure:
    """Events per second into one database."""

    database: str
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        """Events stored per second."""
        return self.events / self.seconds


def _payloads(count: int) -> list[tuple[str, bytes]]:
    end = time.time()
    out: list[tuple[str, bytes]] = []
    per_day = max(1, count // EVENTS_PER_VISIT // 4)
    for visit in visits(2, 2, 1, per_day, end, seed=11):
        topic = Topic.EVENT.build(prefix="greetcue", site=visit.site, camera=visit.camera)
        out += [(topic, encode(event)) for event in visit_events(visit)]
    return out[:count]


def ingest_rate(
    database_url: str, count: int, progress: Progress, workers: int = 1
) -> IngestFigure:
    """``count`` events queued at a private Mosquitto for the dashboard's sessions (as after a
    restart, or a busy chain's backlog), then drained by ``workers`` ingest workers (a shared
    subscription; the extra ones are ``greetcue dashboard ingest`` processes) into the
    database: events per second from the start of the ingest to the last event stored. The
    publisher runs before, so it takes no CPU from the ingest on a small box."""
    payloads = _payloads(count)
    with (
        tempfile.TemporaryDirectory(prefix="greetcue-bench-") as folder,
        Mosquitto(Path(folder) / "mosquitto", port=0) as broker,
    ):
        engine = open_engine(database_url)
        upgrade(engine)
        shared = "bench" if workers > 1 else None
        settings = DashboardConfig(
            state_dir=Path(folder),
            database=database_url,
            broker=Broker(
                host=broker.host, port=broker.port, client_id="bench-ingest", shared_group=shared
            ),
        )
        config = Path(folder) / "dashboard.yaml"
        config.write_text(yaml.safe_dump(settings.model_dump(mode="json", exclude_none=True)))
        extra = _start_workers(config, workers - 1)
        first = Ingest.from_settings(
            settings, engine
        ).start()  # makes the persistent session, then goes away
        _wait(lambda: first.stats.connected, "the ingest to subscribe")
        time.sleep(1.0)  # the extra workers subscribe too
        first.stop()
        _stop_workers(extra)
        _publish(broker, payloads, progress)
        task = progress.add_task(f"ingest into {engine.dialect.name}", total=len(payloads))
        start = time.perf_counter()
        extra = _start_workers(config, workers - 1)
        running = Ingest.from_settings(settings, engine).start()
        _wait(
            lambda: _advance(progress, task, _stored(engine)) >= len(payloads),
            "every event to be stored",
        )
        seconds = time.perf_counter() - start
        running.stop()
        _stop_workers(extra)
        engine.dispose()
    progress.remove_task(task)
    return IngestFigure(f"{engine.dialect.name}, {workers} worker(s)", len(payloads), seconds)


def _start_workers(config: Path, count: int) -> list[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "edge.cli", "dashboard", "ingest", "--config", str(config)]
    return [
        subprocess.Popen([*command, "--worker", str(n + 1)], stdout=subprocess.DEVNULL)
        for n in range(count)
    ]


def _stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=60)


def _stored(engine: Engine) -> int:
    with engine.connect() as connection:
        return writes.count_events(connection)


PUBLISH_WINDOW = 20_000


def _publish(broker: Mosquitto, payloads: list[tuple[str, bytes]], progress: Progress) -> None:
    task = progress.add_task("queueing events at the broker", total=len(payloads))
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(broker.host, broker.port)
    client.loop_start()
    # paho numbers QoS 1 messages with 16-bit packet ids: never more than PUBLISH_WINDOW
    # unconfirmed at once, or past 65,535 it refuses with ERR_QUEUE_SIZE.
    for start in range(0, len(payloads), PUBLISH_WINDOW):
        window = payloads[start : start + PUBLISH_WINDOW]
        for info in [client.publish(topic, payload, qos=1) for topic, payload in window]:
            info.wait_for_publish(WAIT_S)
        progress.update(task, completed=start + len(window))
    client.disconnect()
    client.loop_stop()
    progress.remove_task(task)


def _advance(progress: Progress, task: Any, done: int) -> int:
    progress.update(task, completed=done)
    return done


def _wait(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"bench: timed out waiting for {what}")
        time.sleep(0.02)
