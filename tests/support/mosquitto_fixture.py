"""A real Mosquitto per test and an independent MQTT 5 subscriber to watch what it delivers.

Load it with ``pytest_plugins = ["tests.support.mosquitto_fixture"]``. The broker is
never mocked: what the tests prove is what a real broker does with our messages.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edge.service.delivery.broker import Mosquitto

WAIT_S = 10.0  # guards against a hung test only; never a speed requirement
MOSQUITTO_PASSWD = "/usr/bin/mosquitto_passwd"


@dataclass(frozen=True)
class Received:
    """One message as the subscriber got it."""

    topic: str
    payload: bytes
    retain: bool
    properties: dict[str, Any]
    received_wall: float
    dup: bool = False  # the broker resent it (its PUBACK from us was lost)


Predicate = Callable[[list[Received]], bool]


class Subscriber:
    """A separate paho MQTT 5 client collecting every message on ``pattern``.

    ``persistent=True`` keeps the session on the broker (clean_start False, session expiry), so
    QoS 1 messages published while it is away are queued and delivered when it comes back.
    """

    def __init__(
        self,
        port: int,
        pattern: str = "#",
        *,
        host: str = "127.0.0.1",
        client_id: str | None = None,
        persistent: bool = False,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.host, self.port, self.pattern = host, port, pattern
        self.persistent = persistent
        self._messages: list[Received] = []
        self._changed = threading.Condition()
        self._subscribed = threading.Event()
        client_id = client_id or f"test-sub-{uuid.uuid4().hex[:8]}"
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
        )
        if username:
            self._client.username_pw_set(username, password)
        self._client.reconnect_delay_set(1, 1)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe

    @property
    def messages(self) -> list[Received]:
        with self._changed:
            return list(self._messages)

    def payloads(self) -> list[bytes]:
        return [m.payload for m in self.messages]

    def connect(self, timeout_s: float = WAIT_S) -> Self:
        """Connects and returns once the subscription is acknowledged."""
        self._subscribed.clear()
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        if self.persistent:
            properties.SessionExpiryInterval = 300
        self._client.connect(
            self.host, self.port, clean_start=not self.persistent, properties=properties
        )
        self._client.loop_start()
        if not self._subscribed.wait(timeout_s):
            raise AssertionError(f"subscriber: no SUBACK for {self.pattern} within {timeout_s} s")
        return self

    def disconnect(self) -> None:
        """A clean DISCONNECT; a persistent session stays on the broker."""
        self._client.disconnect()
        self._client.loop_stop()

    def wait_for(self, predicate: Predicate, timeout_s: float = WAIT_S) -> list[Received]:
        """Waits until ``predicate(messages)`` holds; fails with what arrived otherwise."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while not predicate(self._messages):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    got = [(m.topic, m.payload[:60]) for m in self._messages[-5:]]
                    raise AssertionError(
                        f"timed out after {timeout_s} s: {len(self._messages)} messages on "
                        f"{self.pattern}, the last: {got}"
                    )
                self._changed.wait(remaining)
            return list(self._messages)

    def wait_for_count(self, count: int, timeout_s: float = WAIT_S) -> list[Received]:
        return self.wait_for(lambda messages: len(messages) >= count, timeout_s)

    def payloads_until(self, marker: bytes, timeout_s: float = WAIT_S) -> list[bytes]:
        """Waits for ``marker`` and returns every payload up to it: a message that must not
        come, sent before the marker by the same sender, would be among them."""
        got = self.wait_for(lambda messages: any(m.payload == marker for m in messages), timeout_s)
        payloads = [m.payload for m in got]
        return payloads[: payloads.index(marker) + 1]

    def __enter__(self) -> Self:
        return self.connect()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.disconnect()

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if not reason.is_failure:
            client.subscribe(self.pattern, qos=1)

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reasons: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        props = message.properties.json() if message.properties else {}  # type: ignore[no-untyped-call]
        received = Received(
            message.topic,
            bytes(message.payload),
            bool(message.retain),
            props,
            time.time(),
            bool(message.dup),
        )
        with self._changed:
            self._messages.append(received)
            self._changed.notify_all()


PasswordFile = Callable[[dict[str, str]], Path]


@pytest.fixture
def password_file(tmp_path: Path) -> PasswordFile:
    """``password_file({user: password})``: a Mosquitto password file hashed by
    mosquitto_passwd; skips the test when the tool is not installed."""
    tool = shutil.which("mosquitto_passwd") or MOSQUITTO_PASSWD
    if not Path(tool).is_file():
        pytest.skip("mosquitto_passwd not installed (apt install mosquitto)")

    def write(users: dict[str, str]) -> Path:
        path = tmp_path / "mosquitto-passwd"
        path.write_text("")
        for user, password in users.items():
            command = [tool, "-b", str(path), user, password]
            subprocess.run(command, check=True, capture_output=True)
        return path

    return write


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A fresh private Mosquitto on a free port, state in tmp_path; stopped after the test."""
    with Mosquitto(tmp_path / "mosquitto", port=0) as broker:
        yield broker


SubscriberFactory = Callable[..., Subscriber]


@pytest.fixture
def subscriber(mosquitto: Mosquitto) -> Iterator[SubscriberFactory]:
    """``subscriber(pattern, **options)``: a connected Subscriber on ``mosquitto``, closed
    after the test."""
    made: list[Subscriber] = []

    def make(pattern: str = "#", **options: Any) -> Subscriber:
        sub = Subscriber(mosquitto.port, pattern, host=mosquitto.host, **options).connect()
        made.append(sub)
        return sub

    yield make
    for sub in made:
        sub.disconnect()
