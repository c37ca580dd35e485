"""The MQTT link: one paho MQTT 5 client that reconnects by itself and never blocks its caller.

What it guarantees to the rest of the service:
- the broker announces ``offline`` (retained, QoS 1, the Last Will) when the process dies, and
  the link publishes ``online`` (retained) on every (re)connect;
- ``publish`` returns a message id only when the message went to a connected broker; it never
  queues silently (paho would keep and resend it: the outbox does that, in order);
- a PUBACK's reason code reaches the ack callbacks: a failure (>= 0x80) is not an ack, and
  ``REJECTED`` lists the failures a resend cannot fix;
- a failing message handler is logged and counted and never stops the network thread;
- the password is read from the environment and never logged; log lines name host:port and user.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Self

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from edge.config.service import MqttConfig
from edge.plumbing.mqtt_tls import configure_tls

log = logging.getLogger(__name__)

ONLINE = b"online"
OFFLINE = b"offline"
AUTH_FAILURES = {0x86, 0x87, 0x8C}  # bad user name or password, not authorised, bad auth method

Handler = Callable[[str, bytes], None]
ConnectionCallback = Callable[[int], None]  # the connection's generation (1, 2, ...)
AckCallback = Callable[[int, int, float], None]  # mid, PUBACK reason code, wall time
FAILURE = 0x80  # reason codes from here on refuse the message
REJECTED = {  # PUBACK failures a resend cannot fix, and the fix; any other failure is transient
    0x87: "allow this client to publish on it in the broker's ACL (acl_file, dynamic security)",
    0x90: "the broker does not accept this topic name: check the topic prefix and the site and "
    "camera names in the config",
    0x99: "the broker refuses this payload format: check the broker's plugins",
}


def reason_text(code: int) -> str:
    """A PUBACK reason code as ``Not authorized (0x87)``."""
    name = "unknown reason"
    for packet in (PacketTypes.PUBACK, PacketTypes.DISCONNECT):  # 0x93 is a DISCONNECT code
        with contextlib.suppress(KeyError, ValueError):
            name = ReasonCode(packet, identifier=code).getName()
            break
    return f"{name} (0x{code:02X})"


class RefusalLog:
    """Logs refused messages: the same topic and reason code at most once a minute (else at
    DEBUG), so that a wrong ACL does not fill the log."""

    EVERY_S = 60.0

    def __init__(self, logger: logging.Logger) -> None:
        self._log = logger
        self._last: dict[tuple[str, int], float] = {}

    def report(self, level: int, topic: str, code: int, outcome: str) -> None:
        now = time.monotonic()
        if now - self._last.get((topic, code), -self.EVERY_S) < self.EVERY_S:
            level = logging.DEBUG
        else:
            self._last[(topic, code)] = now
        text = "the broker refused the message on %s: %s; %s"
        self._log.log(level, text, topic, reason_text(code), outcome)


class MqttLink:
    """The service's connection to its broker; callbacks run on paho's network thread."""

    def __init__(self, config: MqttConfig, availability_topic: str, default_client_id: str) -> None:
        self._config = config
        self.availability_topic = availability_topic
        self.client_id = config.client_id or default_client_id
        self.address = f"{config.host}:{config.port}"
        self._who = f"user {config.username}" if config.username else "no user name"
        self._lock = threading.Lock()
        self._subscriptions: dict[str, SubscribeOptions] = {}
        self._on_connect: list[ConnectionCallback] = []
        self._on_disconnect: list[ConnectionCallback] = []
        self._on_ack: list[AckCallback] = []
        self._generation = 0
        self._connected = False
        self._last_failure: str | None = None  # since the last success
        self._handler_errors = 0
        self._started = self._closing = False
        self._available = True
        self._client = self._make_client()

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def generation(self) -> int:
        """Successful connections so far: a message id belongs to one generation."""
        return self._generation

    @property
    def handler_errors(self) -> int:
        """Exceptions raised by message handlers (each one logged)."""
        return self._handler_errors

    def set_available(self, available: bool) -> None:
        """What the availability topic says while connected: ``offline`` while the camera is
        down, though the process runs (the will still says ``offline`` if the process dies)."""
        with self._lock:
            changed, self._available = self._available != available, available
        if changed and self._connected:
            self._announce(self._client)

    def add_connect_callback(self, callback: ConnectionCallback) -> None:
        """Called after each (re)connect, once ``online`` and the subscriptions are sent."""
        self._on_connect.append(callback)

    def add_disconnect_callback(self, callback: ConnectionCallback) -> None:
        self._on_disconnect.append(callback)

    def add_ack_callback(self, callback: AckCallback) -> None:
        """Called on every PUBACK (QoS 1, with its reason code) or send (QoS 0, code 0) of a
        message from ``publish``."""
        self._on_ack.append(callback)

    def start(self) -> Self:
        """Connects in the background (``connect_async`` + ``loop_start``): never blocks."""
        if not self._started:
            self._started = True
            log.info("MQTT: connecting to %s as %s (%s)", self.address, self.client_id, self._who)
            self._client.connect_async(
                self._config.host, self._config.port, self._config.keepalive_s, clean_start=True
            )
            self._client.loop_start()
        return self

    def publish(
        self,
        topic: str,
        payload: bytes,
        qos: int = 1,
        retain: bool = False,
        expiry_s: float | None = None,
    ) -> int | None:
        """Sends now and returns the message id, or None when not connected (nothing queued)."""
        if not self._connected:
            return None
        properties = None
        if expiry_s is not None:
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            properties.MessageExpiryInterval = max(1, math.ceil(expiry_s))
        info = self._client.publish(topic, payload, qos, retain, properties)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            log.debug("MQTT: publish on %s not sent: %s", topic, mqtt.error_string(info.rc))
            return None
        return info.mid

    def subscribe(
        self, pattern: str, handler: Handler, qos: int = 1, retained: bool = True
    ) -> None:
        """Routes messages matching ``pattern`` to ``handler(topic, payload)``; kept across
        reconnects. ``retained=False``: the broker never sends a retained message on
        (re)subscribe (MQTT 5 retain handling), e.g. an old ack left on the ack topic."""
        self._client.message_callback_add(pattern, self._guarded(pattern, handler))
        handling = (
            SubscribeOptions.RETAIN_SEND_ON_SUBSCRIBE
            if retained
            else SubscribeOptions.RETAIN_DO_NOT_SEND
        )
        options = SubscribeOptions(qos=qos, retainHandling=handling)
        with self._lock:
            self._subscriptions[pattern] = options
        if self._connected:
            self._client.subscribe(pattern, options=options)

    def close(self, timeout_s: float = 2.0) -> None:
        """Clean shutdown: ``offline`` (retained, waits for its PUBACK), then DISCONNECT (the
        broker then discards the will), then stops the network thread."""
        if not self._started or self._closing:
            return
        self._closing = True
        if self._connected:
            info = self._client.publish(self.availability_topic, OFFLINE, 1, True)
            try:
                info.wait_for_publish(timeout_s)
            except (RuntimeError, ValueError) as err:
                log.warning("MQTT: `offline` not acknowledged by %s: %s", self.address, err)
        self._client.disconnect()
        self._client.loop_stop()
        self._connected = False

    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            reconnect_on_failure=True,
        )
        if self._config.username:
            client.username_pw_set(self._config.username, self._password())
        if self._config.tls is not None:
            tls = self._config.tls
            configure_tls(client, tls, "mqtt.tls", insecure=tls.insecure)
        client.will_set(self.availability_topic, OFFLINE, qos=1, retain=True)
        client.reconnect_delay_set(1, max(1, round(self._config.reconnect_max_s)))
        client.on_connect = self._handle_connect
        client.on_connect_fail = self._handle_connect_fail
        client.on_disconnect = self._handle_disconnect
        client.on_publish = self._handle_publish
        return client

    def _password(self) -> str | None:
        password = os.environ.get(self._config.password_env)
        if not password:
            log.warning(
                "MQTT: mqtt.username is %s but $%s is empty: connecting without a password",
                self._config.username,
                self._config.password_env,
            )
        return password or None

    def _guarded(
        self, pattern: str, handler: Handler
    ) -> Callable[[mqtt.Client, Any, mqtt.MQTTMessage], None]:
        def on_message(client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
            try:
                handler(message.topic, bytes(message.payload))
            except Exception:
                self._handler_errors += 1
                log.exception("MQTT: handler for %s failed on %s", pattern, message.topic)

        return on_message

    def _handle_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            self._refused(reason)
            return
        client.drop_out_messages()  # paho would resend them; the outbox resends, in order
        _no_delay(client)
        with self._lock:
            self._connected, self._last_failure = True, None
            self._generation += 1
            subscriptions = list(self._subscriptions.items())
        log.info("MQTT: connected to %s as %s (%s)", self.address, self.client_id, self._who)
        self._announce(client)
        for pattern, options in subscriptions:
            client.subscribe(pattern, options=options)
        self._notify(self._on_connect, self._generation)

    def _announce(self, client: mqtt.Client) -> None:
        """The availability topic says what ``set_available`` last said (retained)."""
        client.publish(self.availability_topic, ONLINE if self._available else OFFLINE, 1, True)

    def _refused(self, reason: ReasonCode) -> None:
        hint = ""
        if reason.value in AUTH_FAILURES:
            hint = f"; check mqtt.username and ${self._config.password_env}"
        message = f"MQTT: broker {self.address} refused {self._who}: {reason}{hint}"
        self._failed(logging.ERROR, message)

    def _handle_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        error = sys.exc_info()[1]  # paho calls this inside its `except OSError`; it passes none
        retry = round(self._config.reconnect_max_s)
        if isinstance(error, ssl.SSLCertVerificationError):
            self._failed(
                logging.ERROR,
                f"MQTT: TLS to {self.address}: certificate verify failed "
                f"({error.verify_message}); check mqtt.tls.ca_file and that mqtt.host is the "
                f"name in the broker's certificate; retrying every {retry} s at most",
            )
            return
        cause = f" ({error})" if error is not None else ""
        message = (
            f"MQTT: cannot reach broker {self.address}{cause}; retrying every {retry} s at most"
        )
        self._failed(logging.WARNING, message + " (events wait in the outbox)")

    def _failed(self, level: int, message: str) -> None:
        """Logs a failed attempt at ``level`` when it differs from the last one, else DEBUG:
        an outage of a week must not fill the log."""
        if message == self._last_failure:
            level = logging.DEBUG
        self._last_failure = message
        log.log(level, "%s", message)

    def _handle_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        was_connected, self._connected = self._connected, False
        if not was_connected:
            return
        if self._closing:
            log.info("MQTT: disconnected from %s", self.address)
        else:
            log.warning(
                "MQTT: lost broker %s (%s); reconnecting (events wait in the outbox)",
                self.address,
                reason,
            )
        self._notify(self._on_disconnect, self._generation)

    def _handle_publish(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason: ReasonCode,
        properties: Properties,
    ) -> None:
        now = time.time()
        if reason.is_failure:  # the ack callbacks know the topic and log it
            log.debug("MQTT: broker %s refused message %d: %s", self.address, mid, reason)
        for callback in self._on_ack:
            try:
                callback(mid, reason.value, now)
            except Exception:
                log.exception("MQTT: PUBACK callback failed")

    def _notify(self, callbacks: list[ConnectionCallback], generation: int) -> None:
        for callback in callbacks:
            try:
                callback(generation)
            except Exception:
                log.exception("MQTT: connection callback failed")


def _no_delay(client: mqtt.Client) -> None:
    """Send each small event at once: Nagle's algorithm would hold one back until the
    previous packet is acknowledged, adding up to a delayed-ACK timeout (40 ms) of latency."""
    sock = client.socket()
    if isinstance(sock, socket.socket):  # TLS sockets too; not a websocket wrapper
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
