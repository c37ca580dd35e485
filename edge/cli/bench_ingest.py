"""The ingest half of ``greetcue bench dashboard``: how fast events go from MQTT into SQLite and
PostgreSQL, each beside what the MQTT client alone drains with no work, in the same run.

The same synthetic customer visits (QoS 1) reach a private Mosquitto two ways:

- **backlog**: queued for the sessions while they are away (a restart, a chain's backlog), then
  drained; the publisher runs before, so it takes no CPU from the ingest on a small box;
- **live**: published while the ingest runs, by one ``mosquitto_pub`` process per camera
  topic (separate processes, as the edges are).

Rates are events per second from the start of the drain (or of publishing) to the last event
stored (or received, with no work). The no-work drain is each candidate client acknowledging
every message at once, with the ingest's Receive Maximum: the ceiling the client puts on the
ingest. Extra workers share a subscription (``broker.shared_group``) as ``greetcue dashboard
ingest`` processes.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from rich.progress import Progress
from sqlalchemy import Engine

from dashboard.broker_link import SESSION_EXPIRY_S, BrokerLink, Delivery
from dashboard.ingest import Ingest, receive_maximum, subscriptions
from dashboard.settings import Broker, DashboardConfig
from dashboard.store import writes
from dashboard.store.database import open_engine, upgrade
from dashboard.synthetic import visit_events, visits
from edge.contract import Topic, encode
from edge.service.delivery.broker import Mosquitto, find_executable

INGEST_TARGETS = {"sqlite": 20_000.0, "postgresql": 10_000.0}  # events/s, one worker
EVENTS_PER_VISIT = 10
WAIT_S = 300.0
CLIENTS = ("paho-mqtt", "gmqtt")  # no-work drains: paho-mqtt was the ingest's client before
WORKERS = (1, 2, 4)  # PostgreSQL, live traffic
WORKER_CONNECT_S = 1.0  # a started worker's connection and subscription to a local broker
Payloads = list[tuple[str, bytes]]


@dataclass(frozen=True)
class IngestFigure:
    """Events per second through one path: into a database, or a client's no-work drain."""

    into: str  # "sqlite", "postgresql", or the client of a no-work drain
    traffic: str  # "backlog" or "live"
    workers: int
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        """Events per second."""
        return self.events / self.seconds

    @property
    def name(self) -> str:
        """What was measured, for the bench's table."""
        if self.into in CLIENTS:
            return f"{self.into} alone, no work ({self.traffic})"
        workers = f", {self.workers} workers" if self.workers > 1 else ""
        return f"ingest into {self.into} ({self.traffic}{workers})"


def ingest_figures(
    sqlite_url: Callable[[str], str],
    postgresql_url: Callable[[str], str] | None,
    count: int,
    progress: Progress,
) -> list[IngestFigure]:
    """Every ingest figure: per traffic, each client's no-work drain beside the ingest into
    SQLite and PostgreSQL (one worker), then PostgreSQL with ``WORKERS`` workers on live
    traffic. ``*_url(name)`` gives the database of a run (a fresh one where it can: each run
    has events of its own, so one database for all works too)."""
    databases = [("sqlite", sqlite_url)] + ([("pg", postgresql_url)] if postgresql_url else [])
    figures = []
    for traffic in ("backlog", "live"):
        for client in CLIENTS:
            figures.append(drain_rate(client, _payloads(count), traffic, progress))
        for name, url in databases:
            payloads = _payloads(count)
            figures.append(ingest_rate(url(f"{name}_{traffic}"), payloads, traffic, progress))
    if postgresql_url:
        for workers in WORKERS[1:]:
            shared = postgresql_url(f"pg_live_{workers}")
            figures.append(ingest_rate(shared, _payloads(count), "live", progress, workers))
    return figures


def targets(figures: list[IngestFigure]) -> list[tuple[str, str, str, bool]]:
    """(what, figure, target, met) for each one-worker ingest into a database with a target."""
    return [
        (
            figure.name,
            f"{figure.rate:,.0f} events/s",
            f">= {INGEST_TARGETS[figure.into]:,.0f}",
            figure.rate >= INGEST_TARGETS[figure.into],
        )
        for figure in figures
        if figure.into in INGEST_TARGETS and figure.workers == 1
    ]


def scaling(figures: list[IngestFigure]) -> list[str]:
    """How live ingest into PostgreSQL grows with its workers, in words."""
    rates = {f.workers: f.rate for f in figures if f.into == "postgresql" and f.traffic == "live"}
    if len(rates) < 2:
        return []
    counts = sorted(rates)
    growth = " / ".join(f"{rates[n] / rates[counts[0]]:.2f}x" for n in counts)
    return [
        f"live ingest into postgresql with {' / '.join(map(str, counts))} workers: "
        f"{' / '.join(f'{rates[n]:,.0f}' for n in counts)} events/s ({growth})"
    ]


def _payloads(count: int) -> Payloads:
    end = time.time()
    out: Payloads = []
    per_day = max(1, count // EVENTS_PER_VISIT // 4)
    for visit in visits(2, 2, 1, per_day, end, seed=11):
        topic = Topic.EVENT.build(prefix="greetcue", site=visit.site, camera=visit.camera)
        out += [(topic, encode(event)) for event in visit_events(visit)]
    return out[:count]


def ingest_rate(
    database_url: str,
    payloads: Payloads,
    traffic: str,
    progress: Progress,
    workers: int = 1,
) -> IngestFigure:
    """``payloads`` into the database by ``workers`` ingest workers, as ``traffic`` says."""
    with _broker() as broker, tempfile.TemporaryDirectory(prefix="greetcue-bench-") as folder:
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
        before = _stored(engine)
        extra = _start_workers(config, workers - 1)
        running = Ingest.from_settings(settings, engine).start()
        _wait(lambda: running.stats.connected, "the ingest to subscribe")
        if traffic == "backlog":  # the sessions go away while the backlog is queued
            running.stop()
            _stop_workers(extra)
            _publish(broker, payloads, progress)
        task = progress.add_task(f"{traffic} into {engine.dialect.name}", total=len(payloads))
        start = time.perf_counter()
        with _live_publishers(broker, payloads if traffic == "live" else []):
            if traffic == "backlog":
                extra = _start_workers(config, workers - 1)
                running = Ingest.from_settings(settings, engine).start()
            _wait(
                lambda: _advance(progress, task, _stored(engine) - before) >= len(payloads),
                "every event to be stored",
            )
            seconds = time.perf_counter() - start
        running.stop()
        _stop_workers(extra)
        engine.dispose()
    progress.remove_task(task)
    return IngestFigure(engine.dialect.name, traffic, workers, len(payloads), seconds)


def drain_rate(client: str, payloads: Payloads, traffic: str, progress: Progress) -> IngestFigure:
    """``payloads`` received by ``client`` alone, each acknowledged at once (no work)."""
    with _broker() as broker:
        defaults = DashboardConfig()
        most = receive_maximum(defaults.ingest_queue, defaults.ingest_queue_bytes)
        settings = Broker(host=broker.host, port=broker.port, client_id=f"bench-{client}")
        drain = _DRAINS[client](settings, most)
        drain.start()
        _wait(lambda: drain.connected, f"{client} to subscribe")
        if traffic == "backlog":
            drain.stop()
            _publish(broker, payloads, progress)
        task = progress.add_task(f"{traffic} through {client}", total=len(payloads))
        drain.received = 0
        start = time.perf_counter()
        with _live_publishers(broker, payloads if traffic == "live" else []):
            if traffic == "backlog":
                drain.start()
            _wait(lambda: _advance(progress, task, drain.received) >= len(payloads), "the drain")
            seconds = time.perf_counter() - start
        drain.stop()
    progress.remove_task(task)
    return IngestFigure(client, traffic, 1, len(payloads), seconds)


class _GmqttDrain:
    """The ingest's own broker link (gmqtt), acknowledging the messages as they come."""

    def __init__(self, broker: Broker, receive_maximum: int) -> None:
        self._broker, self._receive_maximum = broker, receive_maximum
        self.received, self.connected = 0, False
        self._link: BrokerLink | None = None

    def start(self) -> None:
        self._link = BrokerLink(
            self._broker,
            self._receive_maximum,
            subscriptions(self._broker, live=False),
            self._deliver,
            self._connection,
        )
        self._link.start()

    def _connection(self, connected: bool) -> None:
        self.connected = connected

    def _deliver(self, deliveries: list[Delivery]) -> None:
        self.received += len(deliveries)
        if self._link is not None:
            self._link.acknowledge([delivery.receipt for delivery in deliveries])

    def stop(self) -> None:
        if self._link is not None:
            self._link.stop()


class _PahoDrain:
    """paho-mqtt as the ingest used it (MQTT 5, manual acknowledgements, a persistent session
    with the same Receive Maximum), acknowledging each message as it comes."""

    def __init__(self, broker: Broker, receive_maximum: int) -> None:
        self._broker, self._receive_maximum = broker, receive_maximum
        self.received, self.connected = 0, False
        self._client: mqtt.Client | None = None

    def start(self) -> None:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self._broker.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = SESSION_EXPIRY_S
        properties.ReceiveMaximum = self._receive_maximum
        client.connect(
            self._broker.host, self._broker.port, clean_start=False, properties=properties
        )
        client.loop_start()
        self._client = client

    def _on_connect(self, client: mqtt.Client, *_: Any) -> None:
        for wanted, qos, identifier in subscriptions(self._broker, live=False):
            properties = Properties(PacketTypes.SUBSCRIBE)  # type: ignore[no-untyped-call]
            properties.SubscriptionIdentifier = identifier
            client.subscribe(wanted, qos=qos, properties=properties)
        self.connected = True

    def _on_message(self, client: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        self.received += 1
        client.ack(message.mid, message.qos)

    def stop(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self.connected = False


_DRAINS: dict[str, Callable[[Broker, int], _GmqttDrain | _PahoDrain]] = {
    "paho-mqtt": _PahoDrain,
    "gmqtt": _GmqttDrain,
}


@contextmanager
def _broker() -> Iterator[Mosquitto]:
    with (
        tempfile.TemporaryDirectory(prefix="greetcue-bench-") as folder,
        Mosquitto(Path(folder) / "mosquitto", port=0) as broker,
    ):
        yield broker


@contextmanager
def _live_publishers(broker: Mosquitto, payloads: Payloads) -> Iterator[None]:
    """One ``mosquitto_pub`` per topic publishing its payloads (QoS 1, one a line) while the
    block runs; they must all have finished by its end."""
    by_topic: dict[str, list[bytes]] = {}
    for topic, payload in payloads:
        by_topic.setdefault(topic, []).append(payload)
    command = [find_executable("mosquitto_pub"), "-h", broker.host, "-p", str(broker.port)]
    command += ["-V", "mqttv5", "-q", "1", "-l"]
    publishers = [
        subprocess.Popen([*command, "-t", topic], stdin=subprocess.PIPE) for topic in by_topic
    ]
    feeders = [
        threading.Thread(target=_feed, args=(publisher, lines), daemon=True)
        for publisher, lines in zip(publishers, by_topic.values(), strict=True)
    ]
    for feeder in feeders:
        feeder.start()
    try:
        yield
    finally:
        for feeder in feeders:
            feeder.join(WAIT_S)
        for publisher in publishers:
            if publisher.wait(WAIT_S) != 0:
                raise RuntimeError(f"bench: mosquitto_pub exited with {publisher.returncode}")


def _feed(publisher: subprocess.Popen[bytes], lines: list[bytes]) -> None:
    assert publisher.stdin is not None
    publisher.stdin.write(b"\n".join(lines) + b"\n")
    publisher.stdin.close()


def _start_workers(config: Path, count: int) -> list[subprocess.Popen[bytes]]:
    """``count`` ``greetcue dashboard ingest`` workers, each started and connected."""
    command = [sys.executable, "-m", "edge.cli", "dashboard", "ingest", "--config", str(config)]
    workers = [
        subprocess.Popen([*command, "--worker", str(n + 1)], stdout=subprocess.PIPE)
        for n in range(count)
    ]
    for worker in workers:  # its first line comes once its ingest has started
        assert worker.stdout is not None
        worker.stdout.readline()
        threading.Thread(target=worker.stdout.read, daemon=True).start()
    if workers:
        time.sleep(WORKER_CONNECT_S)
    return workers


def _stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=60)


def _stored(engine: Engine) -> int:
    with engine.connect() as connection:
        return writes.count_events(connection)


PUBLISH_WINDOW = 20_000


def _publish(broker: Mosquitto, payloads: Payloads, progress: Progress) -> None:
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
