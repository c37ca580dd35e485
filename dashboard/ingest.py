"""MQTT ingest: subscribe to every site's topics, validate each message with the contract,
store it idempotently, and tell open pages. Runs on its own threads: the network thread only
queues, one writer thread stores in batches, so neither the broker nor the web server ever
waits on the database.

Messages from outside are untrusted: anything malformed or unknown is counted by kind and
logged with its topic (rate-limited), and never stops the ingest.
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from dashboard.live import LiveHub, Update
from dashboard.settings import Broker, DashboardConfig
from dashboard.store import writes
from edge.contract import (
    AckRecorded,
    ContractError,
    CueCommand,
    CueUnacknowledged,
    Event,
    Metrics,
    Topic,
    ZoneOccupancy,
    decode,
    decode_availability,
    decode_event,
)

log = logging.getLogger("greetcue.dashboard.ingest")
SESSION_EXPIRY_S = 24 * 3600  # the broker keeps our QoS 1 messages this long while we are down
LOG_EVERY_S = 10.0
MAX_PAYLOAD = 64 * 1024  # an event is well under 2 KB


@dataclass(frozen=True)
class Incoming:
    """A message as it arrived, until it is stored and acknowledged."""

    topic: str
    payload: bytes
    received_s: float
    mid: int
    qos: int


@dataclass
class IngestStats:
    """What the ingest has seen, for ``/metrics`` and the overview."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    lag_s: float | None = None  # received minus published for the newest stored event
    connected: bool = False
    queued: int = 0


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
    ):
        self._broker, self._engine, self._hub, self._batch = broker, engine, hub, batch
        self._linger_s, self._live = linger_s, live
        self._queue: queue.Queue[Incoming | None] = queue.Queue(depth)
        self._receive_maximum = min(depth // 2, 65535)
        self.stats = IngestStats()
        self._writer = threading.Thread(target=self._write_loop, name="ingest-writer", daemon=True)
        self._client = self._make_client()
        self._logged: dict[str, float] = {}
        self._publish_lock = threading.Lock()

    @classmethod
    def from_settings(
        cls,
        settings: DashboardConfig,
        engine: Engine,
        hub: LiveHub | None = None,
        broker: Broker | None = None,
    ) -> Ingest:
        """An ingest as the settings say; no hub: a worker that serves no pages."""
        return cls(
            broker or settings.broker,
            engine,
            hub or LiveHub(),
            settings.ingest_batch,
            settings.ingest_queue,
            settings.ingest_linger_s,
            live=hub is not None,
        )

    @property
    def alive(self) -> bool:
        """Whether the writer thread runs (it stores every message)."""
        return self._writer.is_alive()

    def start(self) -> Ingest:
        """Connect (retrying in the background) and start writing."""
        self._writer.start()
        self._client.connect_async(
            self._broker.host,
            self._broker.port,
            keepalive=30,
            clean_start=False,
            properties=_session_properties(self._receive_maximum),
        )
        self._client.loop_start()
        return self

    def stop(self) -> None:
        """Disconnect, then store what is queued."""
        self._client.disconnect()
        self._client.loop_stop()
        self._queue.put(None)
        self._writer.join(timeout=30)

    def publish_ack(self, topic: str, payload: bytes) -> bool:
        """Send a staff page's ack (QoS 1); False when the broker is not connected."""
        if not self._client.is_connected():
            return False
        with self._publish_lock:
            info = self._client.publish(topic, payload, qos=1)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    # --- network thread -------------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self._broker.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,  # acknowledged once stored: a crash before that loses nothing
        )
        if self._broker.username:
            client.username_pw_set(self._broker.username, self._broker.password())
        if self._broker.tls:
            tls = self._broker.tls
            try:
                client.tls_set(
                    ca_certs=str(tls.ca_file) if tls.ca_file else None,
                    certfile=str(tls.cert_file) if tls.cert_file else None,
                    keyfile=str(tls.key_file) if tls.key_file else None,
                )
            except (OSError, ssl.SSLError) as err:
                raise RuntimeError(
                    f"broker.tls: cannot load the CA / certificate / key ({err}); check "
                    "broker.tls.ca_file, cert_file and key_file"
                ) from err
        client.reconnect_delay_set(1, 30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def _on_connect(
        self, client: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any
    ) -> None:
        if reason.is_failure:
            log.error(
                "broker %s:%s refused the dashboard: %s; check broker.username and $%s",
                self._broker.host,
                self._broker.port,
                reason,
                self._broker.password_env,
            )
            return
        self.stats.connected = True
        for wanted, qos, identifier in subscriptions(self._broker, self._live):
            properties = Properties(PacketTypes.SUBSCRIBE)  # type: ignore[no-untyped-call]
            properties.SubscriptionIdentifier = identifier
            client.subscribe(wanted, qos=qos, properties=properties)
            log.info("subscribed to %s on %s:%s", wanted, self._broker.host, self._broker.port)

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        self.stats.connected = False
        log.warning("broker connection lost (%s); reconnecting", reason)

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        if LIVE_ONLY in getattr(message.properties, "SubscriptionIdentifier", []):
            self._live_only(message)
            return
        self.stats.received += 1
        item = Incoming(
            message.topic, bytes(message.payload), time.time(), message.mid, message.qos
        )
        try:
            self._queue.put_nowait(item)
        except queue.Full:  # only QoS 0 can get here: QoS 1 is bounded by Receive Maximum
            self._refuse("queue_full", message.topic, "the database is too slow; message lost")

    def _live_only(self, message: mqtt.MQTTMessage) -> None:
        """An event another worker stores: only shown on open pages."""
        try:
            event = decode_event(bytes(message.payload))
        except ContractError:
            return  # the worker that stores it counts it
        self._show(event)

    def _show(self, event: Event) -> None:
        """An event on the open pages; an ack or a customer who left closes its cue there."""
        self._hub.post(Update("event", event.model_dump(mode="json")))
        if isinstance(event, AckRecorded | CueUnacknowledged):
            outcome = "acknowledged" if isinstance(event, AckRecorded) else "left"
            self._hub.resolved(str(event.cue_id), outcome)

    # --- writer thread --------------------------------------------------------------------

    def _write_loop(self) -> None:
        stop = False
        while not stop:
            items = [self._queue.get()]
            deadline = time.monotonic() + self._linger_s  # gather a batch: one commit for many
            while len(items) < self._batch and items[-1] is not None:
                try:
                    items.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            stop = None in items
            written = [item for item in items if item is not None]
            if written and not self._write(written, stopping=stop):
                return  # stopping with the database down: the broker redelivers the rest
            self.stats.queued = self._queue.qsize()

    def _write(self, items: list[Incoming], stopping: bool) -> bool:
        """Store a batch, then acknowledge it to the broker (so a crash loses nothing)."""
        parsed = [self._parse(item) for item in items]
        wait = 1.0
        while True:
            try:
                fresh = self._store(parsed)
                break
            except IntegrityError:
                fresh = self._store_each(parsed)
                break
            except SQLAlchemyError as exc:
                log.error(
                    "database write failed (%s: %s); retrying in %.0f s",
                    exc.__class__.__name__,
                    str(exc).splitlines()[0][:120],
                    wait,
                )
                if stopping:
                    return False
                time.sleep(wait)
                wait = min(wait * 2, 30.0)
        for item in items:
            if item.qos > 0:
                self._client.ack(item.mid, item.qos)
        events = sum(isinstance(p, writes.Received) for p in parsed)
        self.stats.stored += len(fresh)
        self.stats.duplicates += events - len(fresh)
        if fresh:
            newest = max(fresh, key=lambda item: item.received_s)
            published = newest.event.published_at or newest.event.captured_at
            self.stats.lag_s = max(0.0, newest.received_s - published.timestamp())
        self._tell_pages(fresh, [p for p in parsed if not isinstance(p, writes.Received)])
        return True

    def _store(self, parsed: list[Any]) -> list[writes.Received]:
        events = [p for p in parsed if isinstance(p, writes.Received)]
        with self._engine.begin() as connection:
            fresh = writes.store_events(connection, events)
            for other in parsed:
                if other is not None and not isinstance(other, writes.Received):
                    _store_other(connection, other)
        return fresh

    def _store_each(self, parsed: list[Any]) -> list[writes.Received]:
        """One by one, refusing what the database refuses, so one bad message loses no other."""
        fresh: list[writes.Received] = []
        for one in parsed:
            try:
                fresh += self._store([one])
            except IntegrityError as exc:
                self._refuse("store_refused", "-", str(exc).splitlines()[0])
        return fresh

    def _parse(self, item: Incoming) -> Any:
        """The message as something to store, or None (refused, or nothing to store)."""
        topic, payload, at = item.topic, item.payload, item.received_s
        if len(payload) > MAX_PAYLOAD:
            self._refuse("too_large", topic, f"{len(payload)} bytes; the limit is {MAX_PAYLOAD}")
            return None
        try:
            found = self._broker.parse_topic(topic)
        except ContractError as exc:
            self._refuse("foreign_site", topic, str(exc))
            return None
        if found is None:
            self._refuse("unknown_topic", topic, f"no greetcue topic under {self._broker.prefix}")
            return None
        kind, names = found
        try:
            if kind is Topic.EVENT:
                event = decode_event(payload)
                if (event.site, event.camera) != (names["site"], names["camera"]):
                    raise ContractError("payload site/camera differ from the topic's")
                return writes.Received(event, at, payload)
            if kind is Topic.AVAILABILITY:
                online = decode_availability(payload) == "online"
                return writes.Availability(names["site"], names["camera"], online, at)
            if kind is Topic.ZONE:
                zone: ZoneOccupancy = decode(ZoneOccupancy, payload)
                return zone
            if kind is Topic.METRICS:
                metrics: Metrics = decode(Metrics, payload)
                return writes.MetricsSeen(
                    metrics.site, metrics.camera, metrics.model_dump_json(), at
                )
            if kind is Topic.CUE:
                command: CueCommand = decode(CueCommand, payload)
                self._hub.cue(command)
        except (ContractError, UnicodeDecodeError) as exc:
            self._refuse(f"malformed_{kind.name.lower()}", topic, str(exc))
        return None  # acks go to the edge; the edge's ack event is what counts

    def _refuse(self, kind: str, topic: str, why: str) -> None:
        self.stats.refused[kind] += 1
        now, key = time.monotonic(), f"{kind} {topic}"
        if len(self._logged) > 1000:  # random topics from a misbehaving client
            self._logged.clear()
        if now - self._logged.get(key, -LOG_EVERY_S) >= LOG_EVERY_S:
            self._logged[key] = now
            log.warning(
                "refused a message on %s (%s, %d so far): %s",
                topic,
                kind,
                self.stats.refused[kind],
                why[:200],
            )

    def _tell_pages(self, fresh: list[writes.Received], others: list[Any]) -> None:
        if not self._broker.shared_group:  # shared: the live-only subscription shows them all
            for item in fresh:
                self._show(item.event)
        for other in others:
            if isinstance(other, ZoneOccupancy):
                self._hub.post(Update("zone", other.model_dump(mode="json")))
            elif isinstance(other, writes.Availability):
                body = {"site": other.site, "camera": other.camera, "online": other.online}
                self._hub.post(Update("camera", body))


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


def _session_properties(receive_maximum: int) -> Properties:
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = SESSION_EXPIRY_S
    properties.ReceiveMaximum = receive_maximum
    return properties
