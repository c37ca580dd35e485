"""MQTT ingest: subscribe to every site's topics, validate each message with the contract,
store it idempotently, and tell open pages. Runs on its own threads: the network thread only
queues, one writer thread stores in batches, so neither the broker nor the web server ever
waits on the database.

Messages from outside are untrusted: anything malformed, disagreeing with its topic or
refused by the database is counted by kind and logged with its topic (rate-limited), and
never stops the ingest or the rest of its batch. QoS 1 messages are acknowledged to the
broker only once stored or refused for good; while the database is slow the broker holds the
rest (Receive Maximum), and the queue is bounded in messages and in bytes. A writer that dies
or makes no progress turns :attr:`Ingest.alive` False and says why in :attr:`Ingest.problem`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import (
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

from dashboard.broker_link import KEEPALIVE_S, BrokerLink, Delivery
from dashboard.ingest_queue import BoundedQueue
from dashboard.live import LiveHub, Update
from dashboard.samples import LocalClock
from dashboard.saved_goals import GoalsCache
from dashboard.settings import Broker, DashboardConfig
from dashboard.store import partitions, rollups, sums, writes
from edge.contract import (
    MAX_PAYLOAD_BYTES,
    Ack,
    AckRecorded,
    ContractError,
    CueCommand,
    CueUnacknowledged,
    Event,
    Message,
    Metrics,
    Topic,
    TopicLevelError,
    ZoneOccupancy,
    check_topic_agreement,
    decode,
    decode_availability,
    decode_event,
)
from edge.plumbing.throttle import LogThrottles

log = logging.getLogger("greetcue.dashboard.ingest")
LOG_EVERY_S = 10.0
MAINTAIN_S = 3600.0  # monthly partitions made ahead and old months removed, this often
WAIT_SLICE_S = 1.0  # the network thread checks for stop this often while it waits for room
QOS0_WAIT_S = KEEPALIVE_S / 6  # a QoS 0 message waits this long for room, then is dropped
# Topics parsed and kept: a chain's cameras reuse a few thousand; a hostile flood of new ones
# empties the cache, never grows it past this.
TOPIC_CACHE = 8192
# The database's fault, not the message's: retried with back-off. Anything else a store
# raises for one message refuses that message.
DATABASE_DOWN = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)
MESSAGE_FAULT = (SQLAlchemyError, ArithmeticError, ValueError)
CONFLICT_STATES = ("40P01", "40001")  # PostgreSQL: deadlock detected, serialization failure
CONFLICT_RETRIES = 10  # at once, before the back-off of a database that is down


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message as it arrived, until it is stored and acknowledged."""

    topic: str
    payload: bytes
    received_s: float
    delivery: Delivery  # handed back to the broker link to acknowledge it

    @property
    def qos(self) -> int:
        return self.delivery.qos


@dataclass
class IngestStats:
    """What the ingest has seen, for ``/metrics`` and the overview."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    lag_s: float | None = None  # received minus published for the newest stored event
    connected: bool = False
    queued: int = 0  # messages waiting for the writer
    queued_bytes: int = 0  # payload bytes held: waiting, or in the batch being written


def receive_maximum(depth: int, queue_bytes: int) -> int:
    """Unacknowledged QoS 1 messages the broker may send us: so many that they always fit in
    half the queue, in messages and in bytes (each at most the contract's payload bound)."""
    return max(1, min(65535, depth // 2, queue_bytes // 2 // MAX_PAYLOAD_BYTES))


class Ingest:
    """Broker -> queue -> writer thread -> database, and live updates to the hub."""

    def __init__(
        self,
        broker: Broker,
        engine: Engine,
        hub: LiveHub,
        batch: int,
        depth: int,
        linger_s: float = 0.01,
        live: bool = True,
        queue_bytes: int = 128 * 1024 * 1024,
        stall_s: float = 30.0,
        zone_of: rollups.ZoneOf | None = None,
        rollup_s: float = 2.0,
        retention_months: int = 0,
        sums_spec: Callable[[Connection], sums.SumsSpec] | None = None,
    ):
        self._broker, self._engine, self._hub = broker, engine, hub
        self._linger_s, self._live, self._stall_s = linger_s, live, stall_s
        self._receive_maximum = receive_maximum(depth, queue_bytes)
        # The broker sends no more QoS 1 messages than Receive Maximum before the writer
        # acknowledges some: a batch waiting for more would only wait out its linger.
        self._batch = min(batch, self._receive_maximum)
        self._queue: BoundedQueue[Incoming] = BoundedQueue(
            depth,
            queue_bytes,
            reserved_items=self._receive_maximum,
            reserved_bytes=self._receive_maximum * MAX_PAYLOAD_BYTES,
        )
        self.stats = IngestStats()
        self._writer = threading.Thread(target=self._write_loop, name="ingest-writer", daemon=True)
        self._builder = threading.Thread(target=self._build_loop, name="ingest-sums", daemon=True)
        self._link = BrokerLink(
            broker,
            self._receive_maximum,
            subscriptions(broker, live),
            self._on_messages,
            self._on_connection,
        )
        self._throttles = LogThrottles(LOG_EVERY_S)
        self._stopping = threading.Event()
        self._busy_since: float | None = None  # monotonic start of the batch being written
        self._died: str | None = None
        self._database_error: str | None = None
        self._topics: dict[str, tuple[Topic, dict[str, str]] | None] = {}
        self._zone_of, self._rollup_s = zone_of or (lambda _site: ZoneInfo("UTC")), rollup_s
        self._clock, self._rolled_up = LocalClock(), time.monotonic()
        self._retention_months, self._maintained = retention_months, -MAINTAIN_S
        self._sums_spec = sums_spec

    @classmethod
    def from_settings(
        cls,
        settings: DashboardConfig,
        engine: Engine,
        hub: LiveHub | None = None,
        broker: Broker | None = None,
    ) -> Ingest:
        """An ingest as the settings say; no hub: a worker that serves no pages."""
        goals = GoalsCache(settings)
        return cls(
            broker or settings.broker,
            engine,
            hub or LiveHub(),
            settings.ingest_batch,
            settings.ingest_queue,
            settings.ingest_linger_s,
            live=hub is not None,
            queue_bytes=settings.ingest_queue_bytes,
            stall_s=settings.ingest_stall_s,
            zone_of=settings.zone_of,
            rollup_s=settings.ingest_rollup_s,
            retention_months=settings.retention_months,
            sums_spec=lambda connection: goals.current(connection)[2].sums_spec,
        )

    @property
    def alive(self) -> bool:
        """Whether the writer runs and makes progress (it stores every message)."""
        return self.problem is None

    @property
    def problem(self) -> str | None:
        """Why the ingest does not store messages, in words an integrator can act on; None
        while it does."""
        if self._died is not None:
            return (
                f"the ingest writer stopped on an unexpected error ({self._died}); messages "
                "are no longer stored: see the dashboard log, and restart the dashboard"
            )
        if not self._writer.is_alive():
            return "the ingest writer is not running (the ingest was not started or stopped)"
        busy = self._busy_since
        stalled_s = 0.0 if busy is None else time.monotonic() - busy
        if stalled_s > self._stall_s:
            waiting, _ = self._queue.held
            cause = self._database_error or "no error: the database is very slow or blocked"
            return (
                f"the ingest writer has stored nothing for {stalled_s:.0f} s with {waiting} "
                f"messages waiting (last database error: {cause}); check that the database "
                "is up, reachable and not locked by another program"
            )
        return None

    def start(self) -> Ingest:
        """Connect (retrying in the background) and start writing."""
        self._writer.start()
        if self._sums_spec:
            self._builder.start()
        self._link.start()
        return self

    def stop(self) -> None:
        """Disconnect, then store what is queued (with the database down: the broker keeps
        what was not acknowledged)."""
        self._stopping.set()
        self._link.stop()
        self._queue.close()
        self._writer.join(timeout=30)
        if self._builder.is_alive():
            self._builder.join(timeout=30)

    def publish_ack(self, topic: str, payload: bytes) -> bool:
        """Send a staff page's ack (QoS 1); False when the broker is not connected."""
        return self._link.publish(topic, payload)

    # --- network thread -------------------------------------------------------------------

    def _on_connection(self, connected: bool) -> None:
        self.stats.connected = connected

    def _on_messages(self, deliveries: list[Delivery]) -> None:
        """Messages as they arrived together: queued at once if they fit, else one by one
        (waiting for room as ``_enqueue`` says)."""
        now, queued = time.time(), []
        for delivery in deliveries:
            size = len(delivery.payload)
            if size > MAX_PAYLOAD_BYTES:  # refused before it is queued or parsed
                why = f"{size} bytes; at most {MAX_PAYLOAD_BYTES}"
                self._refuse("too_large", delivery.topic, why)
                self._link.acknowledge([delivery.receipt])
            elif LIVE_ONLY in delivery.subscriptions:
                self._live_only(delivery.payload)
            else:
                queued.append((Incoming(delivery.topic, delivery.payload, now, delivery), size))
        self.stats.received += len(queued)
        priority = all(item.qos > 0 for item, _ in queued)
        if queued and not self._queue.put_all(queued, priority):
            for item, _ in queued:
                self._enqueue(item)
        self.stats.queued, self.stats.queued_bytes = self._queue.queued, self._queue.held[1]

    def _enqueue(self, item: Incoming) -> None:
        """Queue a message, waiting while the queue is full (back-pressure: the network
        thread reads nothing more meanwhile). QoS 1 messages fit by Receive Maximum and are
        never dropped; a QoS 0 one is dropped after a short wait, so the network thread keeps
        the connection alive."""
        size, started = len(item.payload), time.monotonic()
        while not self._queue.put(item, size, WAIT_SLICE_S, priority=item.qos > 0):
            held_s = time.monotonic() - started
            if self._stopping.is_set():
                return  # not acknowledged: the broker sends it again to the next session
            if item.qos == 0 and held_s >= QOS0_WAIT_S:
                self._refuse(
                    "queue_full", item.topic, "QoS 0 message dropped: the database is slow"
                )
                return
            self._log_every(
                "back-pressure",
                "the ingest queue has been full for %.0f s (%d messages, %d bytes held): the "
                "database is slow or down; the broker holds what comes next",
                held_s,
                *self._queue.held,
            )

    def _live_only(self, payload: bytes) -> None:
        """An event another worker stores: only shown on open pages."""
        try:
            event = decode_event(payload)
        except ContractError:
            return  # the worker that stores it counts it
        self._show(event, self._hub.watched())

    def _show(self, event: Event, watched: bool) -> None:
        """An event on the open pages (if any page takes it: made only then); an ack or a
        customer who left closes its cue on the staff pages."""
        if watched:
            self._hub.post(Update("event", event.model_dump(mode="json")))
        if isinstance(event, AckRecorded | CueUnacknowledged):
            outcome = "acknowledged" if isinstance(event, AckRecorded) else "left"
            self._hub.resolved(event.site, str(event.cue_id), outcome)

    # --- writer thread --------------------------------------------------------------------

    def _write_loop(self) -> None:
        try:
            while (batch := self._queue.take(self._batch, self._linger_s)) is not None:
                self._busy_since = time.monotonic()
                written = self._write([item for item, _ in batch])
                self._queue.done(batch)
                self._busy_since = None
                self.stats.queued, self.stats.queued_bytes = (
                    self._queue.queued,
                    self._queue.held[1],
                )
                if not written:
                    return  # stopping with the database down: the broker redelivers the rest
        except Exception as exc:  # a bug: said by problem, /healthz and the watchdog
            self._died = f"{exc.__class__.__name__}: {exc}"[:300]
            log.critical("the ingest writer stopped: %s", self._died, exc_info=True)

    def _write(self, items: list[Incoming]) -> bool:
        """Store a batch, then acknowledge it to the broker (so a crash loses nothing)."""
        parsed = [(item, self._parse(item)) for item in items]
        pending = deque((item, one) for item, one in parsed if one is not None)
        fresh: list[writes.Received] = []
        wait, conflicts = 1.0, 0
        while pending:
            try:
                self._store_isolating(pending, fresh)
            except DATABASE_DOWN as exc:
                if _conflict(exc) and conflicts < CONFLICT_RETRIES:
                    conflicts += 1  # rolled back for another worker's sake: again, at once
                    continue
                self._database_error = f"{exc.__class__.__name__}: {_first_line(exc)}"
                log.error(
                    "database write failed (%s); retrying in %.0f s", self._database_error, wait
                )
                if self._stopping.wait(wait):
                    return False
                wait = min(wait * 2, 30.0)
        self._database_error = None
        self._link.acknowledge([item.delivery.receipt for item in items])
        events = sum(isinstance(one, writes.Received) for _, one in parsed)
        self.stats.stored += len(fresh)
        self.stats.duplicates += events - len(fresh)
        if fresh:
            newest = max(fresh, key=lambda item: item.received_s)
            published = newest.event.published_at or newest.event.captured_at
            self.stats.lag_s = max(0.0, newest.received_s - published.timestamp())
        if time.monotonic() - self._rolled_up >= self._rollup_s:
            self._roll_up()
        others = [one for _, one in parsed if one is not None]
        self._tell_pages(fresh, [one for one in others if not isinstance(one, writes.Received)])
        return True

    def _build_loop(self) -> None:
        """Build the running totals of the chain reports a day per transaction while they are
        not whole (at first, and after a change of goals), beside the writer: a chain's year
        takes minutes, and the writer stores meanwhile."""
        assert self._sums_spec is not None
        whole = True
        while not self._stopping.is_set():
            try:
                with self._engine.begin() as connection:
                    spec = self._sums_spec(connection)
                    done = sums.build(connection, spec, self._clock, days=1)
            except SQLAlchemyError as exc:
                log.warning(
                    "building the chain report totals failed (%s); retrying", _first_line(exc)
                )
                done = False
                self._stopping.wait(self._rollup_s)
                continue
            if done != whole:
                whole = done
                log.info(
                    "chain report totals %s", "built" if done else "being built, a day at a time"
                )
            if done:
                self._stopping.wait(self._rollup_s)

    def _roll_up(self) -> None:
        """Rebuild the hours of the cues changed since the last time; a failure leaves the
        marks for the next time (or the next report)."""
        self._rolled_up = time.monotonic()
        try:
            with self._engine.begin() as connection:
                spec = self._sums_spec(connection) if self._sums_spec else None
                observe = sums.observer(spec, self._clock) if spec else sums.forgetting
                rollups.refresh(connection, self._zone_of, self._clock, observe=observe)
            if self._rolled_up - self._maintained >= MAINTAIN_S:
                self._maintained = self._rolled_up
                with self._engine.begin() as connection:
                    done = partitions.maintain(connection, self._retention_months, time.time())
                for what in done:
                    log.info("raw events: %s", what)
        except SQLAlchemyError as exc:
            log.warning(
                "rolling up the cues or pruning old events failed (%s); retrying later",
                _first_line(exc),
            )

    def _store_isolating(
        self, pending: deque[tuple[Incoming, Any]], fresh: list[writes.Received]
    ) -> None:
        """Store what is pending in one transaction; when the database refuses that for a
        message's fault, store them one by one and refuse the ones it refuses. Each stored or
        refused message leaves ``pending``; what the database is at fault for is raised."""
        if len(pending) > 1:
            try:
                fresh += self._store([one for _, one in pending])
                pending.clear()
                return
            except DATABASE_DOWN:
                raise
            except MESSAGE_FAULT:
                pass  # find which message, below
        while pending:
            item, one = pending[0]
            try:
                fresh += self._store([one])
            except DATABASE_DOWN:
                raise
            except MESSAGE_FAULT as exc:
                why = f"the database refused it ({exc.__class__.__name__}: {_first_line(exc)})"
                self._refuse("store_refused", item.topic, why)
            pending.popleft()

    def _store(self, parsed: list[Any]) -> list[writes.Received]:
        events = [p for p in parsed if isinstance(p, writes.Received)]
        with self._engine.begin() as connection:
            fresh = writes.store_events(connection, events)
            for other in parsed:
                if not isinstance(other, writes.Received):
                    _store_other(connection, other)
        return fresh

    def _parse(self, item: Incoming) -> Any:
        """The message as something to store, or None (refused, or nothing to store)."""
        topic, payload, at = item.topic, item.payload, item.received_s
        try:
            found = self._parse_topic(topic)
        except TopicLevelError as exc:
            self._refuse("bad_topic", topic, str(exc))
            return None
        except ContractError as exc:
            self._refuse("foreign_site", topic, str(exc))
            return None
        if found is None:
            self._refuse("unknown_topic", topic, f"no greetcue topic under {self._broker.prefix}")
            return None
        kind, names = found
        try:
            message = _decode(kind, payload, at)
        except (ContractError, UnicodeDecodeError) as exc:
            self._refuse(f"malformed_{kind.name.lower()}", topic, str(exc))
            return None
        try:
            check_topic_agreement(kind, names, message)
        except ContractError as exc:
            self._refuse("topic_mismatch", topic, str(exc))
            return None
        if isinstance(message, CueCommand):
            self._hub.cue(message)
        elif kind is Topic.EVENT:
            return writes.Received(message, at, payload)
        elif kind is Topic.AVAILABILITY:
            return writes.Availability(names["site"], names["camera"], message == "online", at)
        elif isinstance(message, Metrics):
            return writes.MetricsSeen(message.site, message.camera, message.model_dump_json(), at)
        elif isinstance(message, ZoneOccupancy):
            return message
        return None  # acks go to the edge; the edge's ack event is what counts

    def _parse_topic(self, topic: str) -> tuple[Topic, dict[str, str]] | None:
        """The broker settings' reading of ``topic``, kept for the next message on it (a
        topic refused by a ``ContractError`` is read again each time)."""
        if topic in self._topics:
            return self._topics[topic]
        found = self._broker.parse_topic(topic)
        if len(self._topics) >= TOPIC_CACHE:
            self._topics.clear()
        self._topics[topic] = found
        return found

    def _refuse(self, kind: str, topic: str, why: str) -> None:
        self.stats.refused[kind] += 1
        self._log_every(
            f"{kind} {topic}",
            "refused a message on %s (%s, %d so far): %s",
            topic[:200],
            kind,
            self.stats.refused[kind],
            why[:200],
        )

    def _log_every(self, key: str, text: str, *args: Any) -> None:
        """A warning, at most once every ``LOG_EVERY_S`` per key."""
        if self._throttles.ready(key) is not None:
            log.warning(text, *args)

    def _tell_pages(self, fresh: list[writes.Received], others: list[Any]) -> None:
        if not self._broker.shared_group:  # shared: the live-only subscription shows them all
            watched = self._hub.watched()
            for item in fresh:
                self._show(item.event, watched)
        for other in others:
            if isinstance(other, ZoneOccupancy):
                self._hub.post(Update("zone", other.model_dump(mode="json")))
            elif isinstance(other, writes.Availability):
                body = {"site": other.site, "camera": other.camera, "online": other.online}
                self._hub.post(Update("camera", body))


_MODELS: dict[Topic, type[Message]] = {
    Topic.ZONE: ZoneOccupancy,
    Topic.METRICS: Metrics,
    Topic.CUE: CueCommand,
    Topic.ACK: Ack,
}


def _decode(kind: Topic, payload: bytes, received_s: float) -> Any:
    """A payload validated as what its topic carries."""
    if kind is Topic.EVENT:
        return decode_event(payload)
    if kind is Topic.AVAILABILITY:
        return decode_availability(payload)
    model = _MODELS[kind]
    return decode(model, payload, received_s)


def _conflict(exc: BaseException) -> bool:
    """Whether the database rolled the transaction back for a concurrent one's sake (a
    deadlock or serialization failure: workers upserting the same cues), not for being down."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) in CONFLICT_STATES


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [""])[0][:200]


def _store_other(connection: Any, item: Any) -> None:
    if isinstance(item, writes.Availability):
        writes.store_availability(connection, item)
    elif isinstance(item, writes.MetricsSeen):
        writes.store_metrics(connection, item)
    elif isinstance(item, ZoneOccupancy):
        values = item.model_dump(exclude={"updated_at"})
        values["updated_s"] = item.updated_at.timestamp()
        writes.store_occupancy(connection, values)


STORED, LIVE_ONLY = 1, 2  # subscription identifiers


def subscriptions(broker: Broker, live: bool) -> list[tuple[str, int, int]]:
    """(filter, QoS, identifier) to subscribe to. One worker: everything. Several (a shared
    group): the group shares the events; each worker takes every state message (retained
    availability and zones are not sent to shared subscriptions) and the web process also
    follows all events at QoS 0 for its live pages."""
    prefix = broker.prefix_filter
    if not broker.shared_group:
        return [(f"{prefix}/#", 1, STORED)]
    events = Topic.EVENT.filter(prefix=prefix)
    state = [Topic.AVAILABILITY, Topic.ZONE, Topic.METRICS, Topic.CUE]
    wanted = [(f"$share/{broker.shared_group}/{events}", 1, STORED)]
    wanted += [(kind.filter(prefix=prefix), 1, STORED) for kind in state]
    if live:
        wanted.append((events, 0, LIVE_ONLY))
    return wanted
