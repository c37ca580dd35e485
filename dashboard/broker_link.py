"""The ingest's connection to the broker: gmqtt on an asyncio loop in a thread of its own.

gmqtt drains a queued backlog several times faster than paho-mqtt (``greetcue bench
dashboard`` measures both side by side), which reads a packet in many small reads and builds
an object per MQTT 5 property. A QoS 1 message is acknowledged (PUBACK) only when the ingest
hands its receipt back, once the message is stored, and a batch's PUBACKs leave in one write:
gmqtt's own way (a task per message, awaited, then a write per PUBACK) cost more than the
message, so the link takes QoS 1 messages at gmqtt's hook for them
(``MqttPackageHandler._handle_qos_1_publish_packet``, gmqtt 0.8; pinned in pyproject.toml,
and the ingest's tests fail if it moves: nothing would be acknowledged). A receipt names its
connection: one from a connection that has closed is not sent on the next (the broker
resends that message there). The messages gmqtt parses from one read of the socket (up to
64 KiB) are handed over as one list, once it is done with them: the ingest then takes its
queue's lock once per read, not per message. The session is persistent (clean start off, a
session expiry) and the broker sends at most Receive Maximum unacknowledged messages, so a
restart loses nothing and a slow database holds the rest at the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gmqtt
from gmqtt.mqtt.constants import UNLIMITED_RECONNECTS, MQTTv50

from dashboard.settings import Broker
from edge.plumbing.mqtt_tls import tls_context

log = logging.getLogger("greetcue.dashboard.ingest")
logging.getLogger("gmqtt").setLevel(logging.WARNING)  # it says each SUBACK and close at INFO
SESSION_EXPIRY_S = 24 * 3600  # the broker keeps our QoS 1 messages this long while we are down
KEEPALIVE_S = 30
RECONNECT_S = (1.0, 30.0)  # first and longest wait between two connection attempts
PUBACK = 0x40  # the packet type; MQTT 5 leaves out a success reason code and no properties


@dataclass(frozen=True, slots=True)
class Receipt:
    """What acknowledges one QoS 1 message: its packet id on the connection it came on."""

    connection: Any
    mid: int


@dataclass(frozen=True, slots=True)
class Delivery:
    """A message as the broker sent it; ``receipt`` (QoS 1) is handed back to acknowledge it."""

    topic: str
    payload: bytes
    qos: int
    subscriptions: tuple[int, ...]  # the identifiers of the subscriptions it matched
    receipt: Receipt | None


class BrokerLink:
    """Connects (the first time with back-off, then through gmqtt's reconnects every
    ``RECONNECT_S[0]``), subscribes on every connection, hands the messages to ``deliver``
    in order, those parsed from one read of the socket together (on the link's thread: it may
    wait there, which holds further messages), acknowledges receipts and publishes, from any
    thread."""

    def __init__(
        self,
        broker: Broker,
        receive_maximum: int,
        wanted: Sequence[tuple[str, int, int]],
        deliver: Callable[[list[Delivery]], None],
        connected: Callable[[bool], None],
    ) -> None:
        self._broker, self._wanted = broker, list(wanted)
        self._deliver, self._connected = deliver, connected
        self._is_connected = False
        self._arrived: list[Delivery] = []  # handed over together once gmqtt's read is parsed
        # Made here, so a CA, certificate or key that does not load stops the start-up.
        self._ssl = tls_context(broker.tls, "broker.tls") if broker.tls else False
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._client = self._make_client(receive_maximum)
        self._thread = threading.Thread(target=self._run, name="ingest-mqtt", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Disconnect; what was not acknowledged stays with the broker for the next session."""
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout=30)

    def acknowledge(self, receipts: Sequence[Receipt | None]) -> None:
        """PUBACK these messages (any thread; after a stop, nothing: the broker resends)."""
        pending = [receipt for receipt in receipts if receipt is not None]
        if pending:
            with contextlib.suppress(RuntimeError):  # the loop is closed: we stopped
                self._loop.call_soon_threadsafe(self._send_acks, pending)

    def publish(self, topic: str, payload: bytes) -> bool:
        """Send at QoS 1 (any thread); False when the broker is not connected."""
        if not self._is_connected:
            return False
        try:
            self._loop.call_soon_threadsafe(self._client.publish, topic, payload, 1)
        except RuntimeError:  # the loop is closed: we stopped
            return False
        return True

    # --- the link's thread ----------------------------------------------------------------

    def _make_client(self, receive_maximum: int) -> Any:
        client = gmqtt.Client(
            self._broker.client_id,
            clean_session=False,
            optimistic_acknowledgement=False,  # gmqtt acknowledges nothing itself
            session_expiry_interval=SESSION_EXPIRY_S,
            receive_maximum=receive_maximum,
        )
        if self._broker.username:
            client.set_auth_credentials(self._broker.username, self._broker.password())
        client.set_config(
            {"reconnect_retries": UNLIMITED_RECONNECTS, "reconnect_delay": RECONNECT_S[0]}
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message  # QoS 0 (QoS 2 is never subscribed to)
        client._package_handler._handle_qos_1_publish_packet = self._on_qos1
        return client

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._session())
        finally:
            self._loop.close()

    async def _session(self) -> None:
        wait = RECONNECT_S[0]
        while not self._stop.is_set():
            try:
                await self._client.connect(
                    self._broker.host,
                    self._broker.port,
                    ssl=self._ssl,
                    keepalive=KEEPALIVE_S,
                    version=MQTTv50,
                )
                break
            except gmqtt.mqtt.handler.MQTTConnectError as exc:
                log.error(
                    "broker %s:%s refused the dashboard: %s; check broker.username and $%s",
                    self._broker.host,
                    self._broker.port,
                    exc,
                    self._broker.password_env,
                )
            except OSError as exc:
                log.warning(
                    "cannot reach the broker %s:%s (%s); retrying in %.0f s",
                    self._broker.host,
                    self._broker.port,
                    exc,
                    wait,
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), wait)
            wait = min(wait * 2, RECONNECT_S[1])
        await self._stop.wait()
        with contextlib.suppress(Exception):  # a connection that never came up
            await self._client.disconnect()

    def _on_connect(self, client: Any, _flags: Any, _rc: Any, _properties: Any) -> None:
        self._is_connected = True
        self._connected(True)
        known = list(client.subscriptions)
        for subscription in known:
            client.resubscribe(subscription)
        if not known:
            for wanted, qos, identifier in self._wanted:
                client.subscribe(wanted, qos=qos, subscription_identifier=identifier)
        for wanted, _, _ in self._wanted:
            log.info("subscribed to %s on %s:%s", wanted, self._broker.host, self._broker.port)

    def _on_disconnect(self, _client: Any, _packet: Any, exc: Any = None) -> None:
        self._is_connected = False
        self._connected(False)
        if not self._stop.is_set():
            log.warning("broker connection lost (%s); reconnecting", exc or "closed")

    def _on_message(
        self, _client: Any, topic: str | bytes, payload: bytes, qos: int, properties: Any
    ) -> None:
        self._hand_over(topic, payload, qos, properties, None)

    def _on_qos1(self, mid: int, payload: bytes, topic: str | bytes, properties: Any) -> None:
        self._hand_over(topic, payload, 1, properties, Receipt(self._client._connection, mid))

    def _hand_over(
        self,
        topic: str | bytes,
        payload: bytes,
        qos: int,
        properties: Any,
        receipt: Receipt | None,
    ) -> None:
        if isinstance(topic, bytes):  # gmqtt hands over a topic that is not UTF-8 as bytes
            topic = topic.decode("utf-8", "replace")
        identifiers = tuple(properties.get("subscription_identifier", ()))
        if not self._arrived:
            self._loop.call_soon(self._hand_over_arrived)
        self._arrived.append(Delivery(topic, payload, qos, identifiers, receipt))

    def _hand_over_arrived(self) -> None:
        arrived, self._arrived = self._arrived, []
        self._deliver(arrived)

    def _send_acks(self, receipts: list[Receipt]) -> None:
        connection = self._client._connection
        if connection is None or connection.is_closing():
            return
        acks = [
            bytes((PUBACK, 2)) + receipt.mid.to_bytes(2, "big")
            for receipt in receipts
            if receipt.connection is connection
        ]
        if acks:
            connection.send_package(b"".join(acks))
