"""Ingest against hostile messages and a failing database, with a real Mosquitto and real
SQLite / PostgreSQL stores: each bad message is refused and counted while the next good one
is stored, one message the database refuses loses no other of its batch, a writer that stalls
or dies says so, and a blocked database holds QoS 1 messages at the broker (never refused,
each stored once) within the queue's message and byte bounds."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import pytest
from sqlalchemy import Engine, event, text

from dashboard.ingest import Ingest
from dashboard.live import DeviceId, LiveHub, Update
from dashboard.settings import Broker, DashboardConfig
from dashboard.store import writes
from edge.contract import (
    AckRecorded,
    Metrics,
    Topic,
    ZoneOccupancy,
    encode,
    new_id,
    utc,
)
from edge.service.delivery.broker import Mosquitto
from edge.tools.bench.postgres_server import PostgresServer
from tests.integration.dashboard.test_dashboard_ingest import EVENT, Publisher, visit, wait_until
from tests.support.dashboard_support import STORES, migrated_engine

SITE, CAMERA = "store-1", "counter-1"
ZONE = Topic.ZONE.build(prefix="greetcue", site=SITE, camera=CAMERA, zone="10ft")
CUE = Topic.CUE.build(prefix="greetcue", site=SITE, device="counter")
MIB = 1024 * 1024


@pytest.fixture(params=STORES)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def store_for(backend: str, request: pytest.FixtureRequest, folder: Path) -> DashboardConfig:
    """Settings on a fresh SQLite file or a fresh database on the test PostgreSQL."""
    database = None
    if backend == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres")
        database = server.fresh_database(f"ingest_{uuid.uuid4().hex[:12]}")
    return DashboardConfig(state_dir=folder, database=database)


def start_ingest(
    settings: DashboardConfig,
    broker: Mosquitto,
    engine: Engine,
    *,
    hub: LiveHub | None = None,
    client_id: str | None = None,
    **options: Any,
) -> Ingest:
    """An ingest with the settings' defaults unless ``options`` say otherwise, connected."""
    values: dict[str, Any] = {
        "batch": settings.ingest_batch,
        "depth": settings.ingest_queue,
        "linger_s": settings.ingest_linger_s,
        "queue_bytes": settings.ingest_queue_bytes,
        "stall_s": settings.ingest_stall_s,
    } | options
    client_id = client_id or f"dash-{uuid.uuid4().hex[:6]}"
    ingest = Ingest(
        Broker(host=broker.host, port=broker.port, client_id=client_id),
        engine,
        hub or LiveHub(),
        **values,
    ).start()
    wait_until(lambda: ingest.stats.connected, "the ingest to connect")
    return ingest


def has_stored(ingest: Ingest, events: int) -> Callable[[], bool]:
    """Whether ``ingest`` has stored this many events, to wait for."""
    return lambda: ingest.stats.stored == events


def stored_events(engine: Engine) -> int:
    with engine.connect() as connection:
        return writes.count_events(connection)


def zone(count: int) -> bytes:
    return encode(
        ZoneOccupancy(
            site=SITE,
            camera=CAMERA,
            zone="10ft",
            radius_ft=10,
            count=count,
            updated_at=utc(time.time()),
        )
    )


def with_field(payload: bytes, **changes: Any) -> bytes:
    """``payload`` with fields replaced (raw JSON: no model would build these)."""
    return json.dumps(json.loads(payload) | changes).encode()


def cue_command(**changes: Any) -> bytes:
    now = time.time()
    fields = {
        "cue_id": str(new_id()),
        "site": SITE,
        "camera": CAMERA,
        "device": "counter",
        "zone": "10ft",
        "reason": "zone",
        "escalation": 0,
        "track_id": 3,
        "issued_at": utc(now).isoformat(),
        "expires_at": utc(now + 3).isoformat(),
    }
    return json.dumps(fields | changes).encode()


def metrics_of(site: str) -> bytes:
    return encode(
        Metrics(
            site=site,
            camera=CAMERA,
            at=utc(time.time()),
            camera_online=True,
            fps=10,
            stage_ms={"detect": 20.0},
            outbox_depth=0,
            outbox_dropped=0,
            frames_dropped=0,
            people=0,
        )
    )


HUGE = 2**70  # past 64 bits: killed the SQLite writer thread


def hostile() -> list[tuple[str, str, bytes, str]]:
    """(what, topic, payload, refusal kind) for each attack seen, one per topic kind."""
    event = visit(90)[0]
    metrics = Topic.METRICS.build(prefix="greetcue", site=SITE, camera=CAMERA)
    return [
        ("zone count past 64 bits", ZONE, with_field(zone(1), count=HUGE), "malformed_zone"),
        ("event track_id past 64 bits", EVENT, with_field(event, track_id=HUGE), "malformed_event"),
        ("event track_id of 2^31", EVENT, with_field(event, track_id=2**31), "malformed_event"),
        ("cue escalation past 64 bits", CUE, cue_command(escalation=HUGE), "malformed_cue"),
        (
            "cue expiring in 2099",
            CUE,
            cue_command(expires_at="2099-01-01T00:00:00Z"),
            "malformed_cue",
        ),
        (
            "forged cue for another device",
            Topic.CUE.build(prefix="greetcue", site=SITE, device="other"),
            cue_command(),
            "topic_mismatch",
        ),
        ("site level of 65 characters", EVENT.replace(SITE, "s" * 65), event, "bad_topic"),
        (
            "junk camera on availability",
            Topic.AVAILABILITY.build(prefix="greetcue", site=SITE, camera="junk cam 1"),
            b"online",
            "bad_topic",
        ),
        ("zone of another camera", ZONE.replace(CAMERA, "counter-2"), zone(1), "topic_mismatch"),
        (
            "metrics naming another site",
            metrics.replace(SITE, "store-2"),
            metrics_of(SITE),
            "topic_mismatch",
        ),
        ("metrics with no fields", metrics, b"{}", "malformed_metrics"),
        (
            "ack from another device",
            Topic.ACK.build(prefix="greetcue", site=SITE, device="watch-9"),
            json.dumps({"cue_id": str(new_id()), "device": "counter"}).encode(),
            "topic_mismatch",
        ),
    ]


def test_each_hostile_message_is_refused_and_counted_and_the_next_good_one_stored(
    backend: str, request: pytest.FixtureRequest, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    settings = store_for(backend, request, tmp_path)
    engine = migrated_engine(settings)
    hub = LiveHub()
    ingest = start_ingest(settings, mosquitto, engine, hub=hub)
    publisher = Publisher(mosquitto)
    try:
        expected: dict[str, int] = {}
        for n, (what, topic, payload, kind) in enumerate(hostile(), start=1):
            publisher.send(topic, payload)
            good = visit(n)
            publisher.send(EVENT, good[0])
            expected[kind] = expected.get(kind, 0) + 1
            wait_until(has_stored(ingest, n), f"the good event after {what}")
            assert dict(ingest.stats.refused) == expected, what
            assert ingest.alive and ingest.problem is None, what
        for device in ("counter", "other"):
            assert not hub.pending(DeviceId(SITE, device)), "a refused cue reached a staff page"
    finally:
        ingest.stop()
        publisher.close()
    assert stored_events(engine) == len(hostile())


def test_hostile_messages_within_one_batch_are_each_refused_and_the_good_ones_stored(
    backend: str, request: pytest.FixtureRequest, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """Messages arrive in groups and are written in batches: a hostile one among them costs
    only itself."""
    settings = store_for(backend, request, tmp_path)
    engine = migrated_engine(settings)
    ingest = start_ingest(settings, mosquitto, engine, linger_s=1.0)  # one batch for all
    publisher = Publisher(mosquitto)
    attacks = hostile()
    good = [payload for n in range(1, len(attacks) + 1) for payload in visit(n)[:1]]
    try:
        for (_, topic, payload, _), event in zip(attacks, good, strict=True):
            publisher.send(topic, payload)
            publisher.send(EVENT, event)
        wait_until(has_stored(ingest, len(good)), "the good events")
        assert dict(ingest.stats.refused) == Counter(kind for *_, kind in attacks)
        assert ingest.alive
    finally:
        ingest.stop()
        publisher.close()
    assert stored_events(engine) == len(good)


def test_a_retained_hostile_zone_does_not_stop_ingest_at_a_restart(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    settings = DashboardConfig(state_dir=tmp_path)
    engine = migrated_engine(settings)
    publisher = Publisher(mosquitto)
    publisher.send(ZONE, with_field(zone(1), count=HUGE), retain=True)
    try:
        for restart in (1, 2):
            ingest = start_ingest(settings, mosquitto, engine)
            publisher.send(EVENT, visit(restart)[0])
            wait_until(has_stored(ingest, 1), f"an event after start {restart}")
            assert ingest.stats.refused == {"malformed_zone": 1} and ingest.alive
            ingest.stop()
    finally:
        publisher.close()
    assert stored_events(engine) == 2


def test_refused_qos1_messages_are_acknowledged_so_the_session_does_not_resend_them(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """An unacknowledged QoS 1 message stays in the broker's session and comes back at every
    reconnect (the old ingest never acknowledged what it refused as queue_full)."""
    settings = DashboardConfig(state_dir=tmp_path)
    engine = migrated_engine(settings)
    publisher = Publisher(mosquitto)
    try:
        for run, expected in ((1, {"malformed_event": 1, "bad_topic": 1}), (2, {})):
            ingest = start_ingest(settings, mosquitto, engine, client_id="dash-same")
            if run == 1:
                publisher.send(EVENT, with_field(visit(9)[0], track_id=HUGE))
                publisher.send(EVENT.replace(CAMERA, "junk cam"), visit(9)[0])
            publisher.send(EVENT, visit(run)[0])
            wait_until(has_stored(ingest, 1), f"the good event of run {run}")
            assert ingest.stats.refused == expected and ingest.stats.received == len(expected) + 1
            ingest.stop()
    finally:
        publisher.close()


def _refused_by_sqlite(engine: Engine) -> bytes:
    """SQLite holds strings of at most 4000 bytes here: a sound event padded past that is
    refused by the database (DataError: string or blob too big), not by the contract."""

    @event.listens_for(engine, "connect")
    def _limit(connection: sqlite3.Connection, _record: Any) -> None:
        connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 4000)

    engine.dispose()
    return visit(50)[0] + b" " * 5000


def _refused_by_postgresql(engine: Engine) -> bytes:
    """A check constraint holds payloads under 4000 characters here: a sound event padded past
    that is refused by the database (IntegrityError: check violation), not by the contract."""
    with engine.begin() as connection:
        connection.execute(
            text("ALTER TABLE events ADD CONSTRAINT short CHECK (length(payload) < 4000)")
        )
    return visit(50)[0] + b" " * 5000


def ack_before_many_zones() -> bytes:
    """An ack before 32 zones of 64 characters: the most the contract allows."""
    now = utc(time.time())
    return encode(
        AckRecorded(
            id=new_id(),
            site=SITE,
            camera=CAMERA,
            captured_at=now,
            cue_id=new_id(),
            device="counter",
            via="mqtt",
            cued_at=now,
            latency_s=1.0,
            before={f"{n}".rjust(64, "z"): True for n in range(32)},
        )
    )


def test_an_ack_before_as_many_zones_as_the_contract_allows_is_stored(
    backend: str, request: pytest.FixtureRequest, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """PostgreSQL refused it while a cue's ``before`` column held 255 characters."""
    settings = store_for(backend, request, tmp_path)
    engine = migrated_engine(settings)
    ingest = start_ingest(settings, mosquitto, engine)
    publisher = Publisher(mosquitto)
    try:
        publisher.send(EVENT, ack_before_many_zones())
        wait_until(has_stored(ingest, 1), "the ack")
        assert ingest.stats.refused == {}
    finally:
        ingest.stop()
        publisher.close()


REFUSED_BY = {"sqlite": _refused_by_sqlite, "postgresql": _refused_by_postgresql}


def test_a_message_the_database_refuses_loses_no_other_of_its_batch(
    backend: str, request: pytest.FixtureRequest, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    settings = store_for(backend, request, tmp_path)
    engine = migrated_engine(settings)
    poison = REFUSED_BY[backend](engine)
    ingest = start_ingest(settings, mosquitto, engine, linger_s=0.5)  # one batch for all
    publisher = Publisher(mosquitto)
    good = visit(1)
    try:
        publisher.send(EVENT, good[0])
        publisher.send(EVENT, poison)
        for payload in good[1:]:
            publisher.send(EVENT, payload)
        wait_until(lambda: ingest.stats.stored == len(good), "the rest of the batch")
        assert ingest.stats.refused == {"store_refused": 1}
        assert ingest.alive
        publisher.send(EVENT, visit(2)[0])  # and the ingest goes on
        wait_until(lambda: ingest.stats.stored == len(good) + 1, "the next event")
    finally:
        ingest.stop()
        publisher.close()
    assert stored_events(engine) == len(good) + 1


@contextmanager
def database_blocked(backend: str, engine: Engine, url: str) -> Iterator[None]:
    """The store's tables locked by another session until the block ends: SQLite's write
    lock, or a PostgreSQL transaction holding an exclusive lock on every table written."""
    if backend == "sqlite":
        holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            holder.execute("COMMIT")
            holder.close()
        return
    with engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(text("LOCK TABLE events, cues, cameras, occupancy IN EXCLUSIVE MODE"))
        try:
            yield
        finally:
            transaction.commit()


def test_a_stalled_writer_turns_alive_off_with_the_reason_and_recovers(
    backend: str, request: pytest.FixtureRequest, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    settings = store_for(backend, request, tmp_path)
    engine = migrated_engine(settings)
    ingest = start_ingest(settings, mosquitto, engine, stall_s=1.0)
    publisher = Publisher(mosquitto)
    try:
        with database_blocked(backend, engine, settings.database_url()):
            publisher.send(EVENT, visit(1)[0])
            wait_until(lambda: not ingest.alive, "the stall to show")
            problem = ingest.problem or ""
            assert "stored nothing for" in problem and "1 messages waiting" in problem
            assert "check that the database is up" in problem
        wait_until(lambda: ingest.stats.stored == 1, "the event once the database is free")
        assert ingest.alive and ingest.problem is None
    finally:
        ingest.stop()
        publisher.close()


class BrokenHub(LiveHub):
    """A hub whose pages (open: updates are made for them) fail: a bug in the writer's path,
    not a message's fault."""

    def watched(self) -> bool:
        return True

    def post(self, update: Update) -> None:
        raise RuntimeError("page hub is broken")


def test_a_writer_that_dies_turns_alive_off_and_says_why(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    settings = DashboardConfig(state_dir=tmp_path)
    ingest = start_ingest(settings, mosquitto, migrated_engine(settings), hub=BrokenHub())
    publisher = Publisher(mosquitto)
    try:
        assert ingest.alive
        publisher.send(EVENT, visit(1)[0])
        wait_until(lambda: not ingest.alive, "the writer's death to show")
        problem = ingest.problem or ""
        assert "RuntimeError: page hub is broken" in problem and "restart" in problem
    finally:
        ingest.stop()
        publisher.close()


def padded(payload: bytes, size: int) -> bytes:
    """A sound payload grown to ``size`` bytes with JSON whitespace."""
    return payload + b" " * (size - len(payload))


@pytest.mark.parametrize("bound", ["messages", "bytes"])
def test_a_blocked_database_holds_qos1_messages_at_the_broker_within_the_queue_bounds(
    bound: str,
    backend: str,
    request: pytest.FixtureRequest,
    mosquitto: Mosquitto,
    tmp_path: Path,
) -> None:
    settings = store_for(backend, request, tmp_path)
    engine = migrated_engine(settings)
    options: dict[str, Any]
    if bound == "messages":  # 100 messages: at most 50 unacknowledged in flight
        options, size, sent, in_flight = {"depth": 100}, 0, 300, 50
    else:  # 256 KiB: at most 2 messages of up to 64 KiB in flight
        options, size, sent, in_flight = {"queue_bytes": 256 * 1024}, 60_000, 40, 2
    ingest = start_ingest(settings, mosquitto, engine, **options)
    publisher = Publisher(mosquitto)
    most_bytes = 0
    watching = threading.Event()

    def watch() -> None:
        nonlocal most_bytes
        while not watching.wait(0.005):
            most_bytes = max(most_bytes, ingest.stats.queued_bytes)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        events = [p for n in range(sent // 10 + 1) for p in visit(n + 1)][:sent]
        with database_blocked(backend, engine, settings.database_url()):
            for payload in events:
                publisher.send(EVENT, padded(payload, size) if size else payload)
            wait_until(lambda: ingest.stats.received == in_flight, "the broker to stop sending")
            assert ingest.stats.received == in_flight  # the broker holds the rest
        wait_until(lambda: ingest.stats.stored == sent, "every message after the release")
    finally:
        watching.set()
        watcher.join()
        ingest.stop()
        publisher.close()
    assert stored_events(engine) == sent
    assert ingest.stats.duplicates == 0 and not ingest.stats.refused  # never queue_full
    assert most_bytes <= ingest_bytes_bound(options)


def ingest_bytes_bound(options: dict[str, Any]) -> int:
    return int(options.get("queue_bytes", DashboardConfig().ingest_queue_bytes))


def rss() -> int:
    return int(psutil.Process().memory_info().rss)


@pytest.mark.integration  # a Mosquitto of its own
def test_oversized_payloads_are_refused_before_they_are_queued(tmp_path: Path) -> None:
    """60 payloads of 10 MB while the database is busy took the dashboard from 124 MB to
    779 MB: they were queued before they were checked. Sent through a broker without its own
    limit, they are refused on arrival, acknowledged, and memory stays put."""
    settings = DashboardConfig(state_dir=tmp_path)
    engine = migrated_engine(settings)
    big = tmp_path / "big.json"
    big.write_bytes(padded(visit(1)[0], 10 * MIB))
    with Mosquitto(tmp_path / "mosquitto", extra_config=["message_size_limit 0"]) as broker:
        ingest = start_ingest(settings, broker, engine)
        publisher = Publisher(broker)
        before = rss()
        try:
            with database_blocked("sqlite", engine, settings.database_url()):
                publisher.send(EVENT, visit(2)[0])  # the writer waits on the database
                wait_until(lambda: ingest.stats.received == 1, "the writer to be busy")
                for _ in range(60):
                    command = ["mosquitto_pub", "-h", broker.host, "-p", str(broker.port)]
                    command += ["-V", "mqttv5", "-q", "1", "-t", EVENT, "-f", str(big)]
                    subprocess.run(command, check=True, timeout=30)
                wait_until(
                    lambda: ingest.stats.received + ingest.stats.refused["too_large"] == 61,
                    "the dashboard to take all 60",
                )
                grown = rss() - before
            wait_until(has_stored(ingest, 1), "the event once the database is free")
        finally:
            ingest.stop()
            publisher.close()
    assert grown < 100 * MIB, f"RSS grew {grown / MIB:.0f} MiB"
    assert ingest.stats.refused == {"too_large": 60}
    assert ingest.stats.received == 1 and stored_events(engine) == 1
