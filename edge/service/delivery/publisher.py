"""The publisher: a thread beside the frame loop that moves events from the outbox to MQTT.

The loop only ever calls ``submit`` and ``send_now``, which put work on a queue and return.
The publisher thread owns the order of effects: it stores submitted events in the outbox
FIRST (one transaction per batch), then publishes pending rows in row-id order with at most
``OutboxConfig.inflight`` awaiting PUBACK, and removes a row only on its PUBACK. When the link
reconnects, everything in flight on the old connection is forgotten and publishing resumes at
the oldest pending row: delivery stays in order, and the rare redelivery is harmless because
every event carries its id.

A refusing PUBACK that a resend cannot fix (``mqtt.REJECTED``: not authorised, ...) removes the
row with an ERROR naming topic, reason and fix, counted in ``rejected``; any other refusal
(quota exceeded, ...) keeps the row and resends it a second later, out of order.

Messages that must not be stored go through ``send_now``: retained state (the latest value
per topic is kept and resent on every reconnect), device cues with an expiry (dropped, with a
log line, when not connected: a late buzz is worse than none) and QoS 0 metrics.

Threads: ``submit``/``send_now``/``drain``/``latencies`` (drained by the frame loop into the
metrics) from any thread; paho's network thread only enqueues PUBACKs and connection changes;
only the publisher thread touches the outbox (reads of ``depth``/``dropped`` excepted) and
publishes.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, Self

from edge.config.service import OutboxConfig
from edge.service.delivery.mqtt import FAILURE, REJECTED, MqttLink, RefusalLog
from edge.service.delivery.outbox import Outbox, Outgoing, Pending

log = logging.getLogger(__name__)

TICK_S = 1.0  # the thread wakes at least this often (retries, age bound)
TRIM_EVERY_S = 60.0
LATENCY_SAMPLES = 10_000  # kept between two latencies() calls


class Send(Protocol):
    """``Publisher.send_now``'s shape: hand a message to the MQTT link, from any thread,
    never blocking (discovery, device cues)."""

    def __call__(
        self, topic: str, payload: bytes, qos: int, retain: bool, expiry_s: float | None = None, /
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class _Submit:
    messages: list[Outgoing]


@dataclass(frozen=True, slots=True)
class _Now:
    message: Outgoing
    expiry_s: float | None


@dataclass(frozen=True, slots=True)
class _Ack:
    mid: int
    code: int  # the PUBACK reason code
    wall: float


@dataclass(frozen=True, slots=True)
class _Link:
    generation: int  # of the connection that came up or went down
    up: bool


@dataclass(frozen=True, slots=True)
class _Stop:
    pass


_Event = _Submit | _Now | _Ack | _Link | _Stop


@dataclass
class _Batch:
    """The events of one wake-up, split by kind (submits are stored in one transaction)."""

    store: list[Outgoing] = field(default_factory=list)
    acks: list[_Ack] = field(default_factory=list)
    now: list[_Now] = field(default_factory=list)
    down: list[int] = field(default_factory=list)
    stop: bool = False


class Publisher:
    """Outbox-first, in-order, bounded-in-flight delivery of events over one ``MqttLink``.

    The publisher owns ``outbox`` (``close`` closes it); the link is the caller's, closed after
    the publisher so that ``offline`` is the last message.

    Events are in memory only between ``submit`` and the commit of their batch (milliseconds):
    a crash then loses them. While the outbox cannot be written (disk full), submitted events
    wait in memory and are retried every second; beyond ``OutboxConfig.max_rows`` of them the
    oldest are dropped (logged, counted in ``dropped``).
    """

    def __init__(self, link: MqttLink, outbox: Outbox, config: OutboxConfig | None = None) -> None:
        self._link = link
        self._outbox = outbox
        config = config or OutboxConfig()
        self._limit = config.inflight
        self._max_unstored = config.max_rows
        self._events: queue.SimpleQueue[_Event] = queue.SimpleQueue()
        self._idle = threading.Condition()
        self._unstored = 0  # submitted, not yet in the outbox (guarded by _idle)
        self._latencies: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self._latency_lock = threading.Lock()
        self._dropped_unstored = self._rejected = 0  # events dropped from memory; rejected
        # publisher thread only:
        self._inflight: dict[int, Pending] = {}
        self._cursor = 0  # last row id published on this connection
        self._generation = 0  # the link connection the in-flight mids belong to
        self._retained: dict[str, _Now] = {}
        self._retry: list[Outgoing] = []
        self._refused: dict[int, Pending] = {}  # refused for now, resent at _resend_at
        self._resend_at = 0.0
        self._sent_now: dict[int, str] = {}  # mid: topic of a QoS 1 send_now message
        self._refusals = RefusalLog(log)
        self._last_trim = time.monotonic()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="greetcue-publisher", daemon=True)
        link.add_ack_callback(lambda mid, code, wall: self._put(_Ack(mid, code, wall)))
        link.add_connect_callback(lambda generation: self._put(_Link(generation, True)))
        link.add_disconnect_callback(lambda generation: self._put(_Link(generation, False)))

    def start(self) -> Self:
        self._thread.start()
        return self

    @property
    def depth(self) -> int:
        """Events not yet acknowledged by the broker (stored, or about to be)."""
        with self._idle:
            return self._outbox.depth() + self._unstored

    @property
    def dropped(self) -> int:
        """Events dropped at an outbox bound, or from memory when it could not be written."""
        return self._outbox.dropped + self._dropped_unstored

    @property
    def rejected(self) -> int:
        """Events the broker refused for good (e.g. its ACL) and that were removed, since start."""
        return self._rejected

    def latencies(self) -> list[float]:
        """End-to-end latencies (PUBACK wall time minus frame capture) since the last call;
        the frame loop drains them into the metrics."""
        with self._latency_lock:
            samples = list(self._latencies)
            self._latencies.clear()
        return samples

    def submit(self, messages: Iterable[Outgoing]) -> None:
        """Queues events for the outbox; never blocks."""
        batch = list(messages)
        if self._closed:
            raise RuntimeError("Publisher.submit after close(): these events would be lost")
        if batch:
            with self._idle:
                self._unstored += len(batch)
            self._events.put(_Submit(batch))

    def send_now(
        self,
        topic: str,
        payload: bytes,
        qos: int = 0,
        retain: bool = False,
        expiry_s: float | None = None,
    ) -> None:
        """Publishes without storing: retained (latest wins, resent on reconnect), cues with
        ``expiry_s`` (dropped with a log line when not connected) and metrics; never blocks."""
        self._put(_Now(Outgoing(topic, payload, qos, retain), expiry_s))

    def drain(self, timeout_s: float) -> bool:
        """Waits until every submitted event is acknowledged or rejected for good (none is
        left to retry); False at the timeout."""
        deadline = time.monotonic() + timeout_s
        with self._idle:
            while self._outbox.depth() + self._unstored > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(min(remaining, TICK_S))
        return True

    def close(self, timeout_s: float = 5.0) -> None:
        """Stores whatever is still queued, stops the thread and closes the outbox."""
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            self._events.put(_Stop())
            self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.error("publisher thread did not stop within %.0f s; outbox left open", timeout_s)
            return
        self._outbox.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _put(self, event: _Event) -> None:
        if not self._closed or isinstance(event, _Submit | _Stop):
            self._events.put(event)

    # --- the publisher thread ------------------------------------------------------------

    def _run(self) -> None:
        stop = False
        while not stop:
            batch = self._next_batch()
            stop = batch.stop
            try:
                self._cycle(batch)
            except Exception:
                log.exception("publisher: unexpected error; retrying in %.0f s", TICK_S)
                time.sleep(TICK_S)
            with self._idle:
                self._idle.notify_all()
        if self._retry:
            log.error("publisher: %d events could not be stored; lost", len(self._retry))

    def _next_batch(self) -> _Batch:
        """Waits for one event (or a tick), then takes every event already queued."""
        batch = _Batch(store=self._retry)
        self._retry = []
        try:
            event: _Event | None = self._events.get(timeout=TICK_S)
        except queue.Empty:
            return batch
        while event is not None:
            _sort(event, batch)
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                event = None
        return batch

    def _cycle(self, batch: _Batch) -> None:
        self._store(batch.store)
        self._acknowledge(batch.acks)
        for generation in batch.down:
            if generation == self._generation:
                self._inflight.clear()  # those PUBACKs will never come
        self._follow_link()
        for now in batch.now:
            self._send_now(now)
        if not batch.stop:
            self._pump()
        if time.monotonic() - self._last_trim > TRIM_EVERY_S:
            self._trim()

    def _store(self, messages: list[Outgoing]) -> None:
        if not messages:
            return
        try:
            self._outbox.add(messages)
        except Exception:
            log.exception("publisher: cannot store %d events; retrying", len(messages))
            self._retry = self._bounded(messages)
            time.sleep(TICK_S)
            return
        with self._idle:
            self._unstored -= len(messages)

    def _bounded(self, messages: list[Outgoing]) -> list[Outgoing]:
        """At most ``max_rows`` events wait in memory for the outbox: drops the oldest."""
        over = len(messages) - self._max_unstored
        if over <= 0:
            return messages
        self._dropped_unstored += over
        with self._idle:
            self._unstored -= over
        text = "publisher: outbox not writable; dropped the %d oldest events waiting in memory"
        log.warning(text + " (outbox.max_rows=%d)", over, self._max_unstored)
        return messages[over:]

    def _acknowledge(self, acks: list[_Ack]) -> None:
        done = []
        for ack in acks:
            row = self._inflight.pop(ack.mid, None)
            if row is None:  # a send_now message, or one from a dead connection
                topic = self._sent_now.pop(ack.mid, None)
                if topic is not None and ack.code >= FAILURE:
                    self._refusals.report(logging.WARNING, topic, ack.code, "not retried")
                continue
            topic = row.message.topic
            if ack.code < FAILURE:  # acknowledged
                done.append(row.rowid)
                if row.message.captured_wall is not None:
                    with self._latency_lock:
                        self._latencies.append(ack.wall - row.message.captured_wall)
            elif ack.code in REJECTED:
                done.append(row.rowid)
                self._rejected += 1
                fix = f"removed, not retried ({self._rejected} since start); {REJECTED[ack.code]}"
                self._refusals.report(logging.ERROR, topic, ack.code, fix)
            else:
                self._refused[row.rowid] = row
                self._resend_at = time.monotonic() + TICK_S
                self._refusals.report(logging.WARNING, topic, ack.code, "kept, resent in 1 s")
        self._outbox.remove(done)

    def _follow_link(self) -> None:
        """On a new connection: forget in-flight mids, restart at the oldest row, resend
        retained state."""
        generation = self._link.generation
        if generation == self._generation:
            return
        self._generation = generation
        self._inflight.clear()
        self._sent_now.clear()
        self._refused.clear()  # resent from the oldest row anyway
        self._cursor = 0
        self._trim()
        for now in list(self._retained.values()):
            self._send_now(now)

    def _send_now(self, now: _Now) -> None:
        message = now.message
        if message.retain:
            self._retained[message.topic] = now
        mid = self._link.publish(
            message.topic, message.payload, message.qos, message.retain, now.expiry_s
        )
        if mid is not None and message.qos > 0:
            self._sent_now[mid] = message.topic  # its PUBACK may refuse it
        if mid is not None or message.retain:
            return
        if now.expiry_s is not None:
            log.info("publisher: not connected, dropped the cue on %s", message.topic)
        else:
            log.debug("publisher: not connected, dropped %s", message.topic)

    def _pump(self) -> None:
        """Publishes pending rows in order while fewer than ``inflight`` await PUBACK."""
        if self._refused and time.monotonic() >= self._resend_at:
            self._resend_refused()
        while len(self._inflight) < self._limit:
            rows = self._outbox.pending(self._cursor, self._limit - len(self._inflight))
            if not rows:
                return
            for row in rows:
                if not self._publish(row):
                    return
                self._cursor = row.rowid

    def _resend_refused(self) -> None:
        """Resends the rows refused for now, oldest first, unless a bound dropped them since."""
        for rowid in sorted(self._refused):
            if len(self._inflight) >= self._limit:
                return
            row = self._refused.pop(rowid)
            if self._outbox.pending(rowid - 1, 1) == [row] and not self._publish(row):
                return

    def _publish(self, row: Pending) -> bool:
        """False when not connected: the next connection restarts at the oldest row."""
        m = row.message
        mid = self._link.publish(m.topic, m.payload, m.qos, m.retain)
        if mid is not None:
            self._inflight[mid] = row
        return mid is not None

    def _trim(self) -> None:
        self._last_trim = time.monotonic()
        self._outbox.trim()


def _sort(event: _Event, batch: _Batch) -> None:
    match event:
        case _Submit(messages):
            batch.store.extend(messages)
        case _Ack():
            batch.acks.append(event)
        case _Now():
            batch.now.append(event)
        case _Link(generation, up):
            if not up:
                batch.down.append(generation)
        case _Stop():
            batch.stop = True
