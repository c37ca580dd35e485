"""The shipped store broker config (deploy/mosquitto/greetcue.conf and greetcue.acl) on a real
Mosquitto, with only its paths and port rewritten: each MQTT user may do what its role needs
and nothing else, and an oversized publish is dropped.

Non-delivery is proved by order: a forbidden publish is followed by an allowed sentinel on the
same connection (QoS 1), so once the watcher has the sentinel, the forbidden message would
have arrived before it."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from edge.contract import Topic
from edge.service.delivery.broker import Mosquitto, find_executable, free_port
from tests.support.mosquitto_fixture import WAIT_S, PasswordFile, Subscriber
from tests.support.paths import REPO

SHIPPED = REPO / "deploy" / "mosquitto"
EDGE, DASHBOARD = "greetcue-edge", "greetcue-dashboard"
HA = "homeassistant"
USERS = {
    EDGE: "edge-pw",
    DASHBOARD: "dash-pw",
    HA: "ha-pw",
    "counter": "counter-pw",
    "manager": "mgr-pw",
}
NAMES = {"prefix": "greetcue", "site": "store-1", "camera": "counter-1"}
EVENT = Topic.EVENT.build(**NAMES)
ZONE = Topic.ZONE.build(**NAMES, zone="10ft")
METRICS = Topic.METRICS.build(**NAMES)
AVAILABILITY = Topic.AVAILABILITY.build(**NAMES)
SIZE_LIMIT = 65536  # message_size_limit in greetcue.conf


def cue(device: str) -> str:
    return Topic.CUE.build(prefix="greetcue", site="store-1", device=device)


def ack(device: str) -> str:
    return Topic.ACK.build(prefix="greetcue", site="store-1", device=device)


def rewritten(text: str, replacements: dict[str, str]) -> str:
    """``text`` with each key replaced; fails if the shipped file no longer has one."""
    for old, new in replacements.items():
        assert old in text, f"the shipped config no longer has {old!r}"
        text = text.replace(old, new)
    return text


@pytest.fixture
def bridge_lines(request: pytest.FixtureRequest) -> list[str]:
    """A bridge to the ``central`` broker for the store broker (parametrized indirectly with
    "central"), else nothing."""
    if getattr(request, "param", None) != "central":
        return []
    central: Mosquitto = request.getfixturevalue("central")
    return [
        "connection central",
        f"address 127.0.0.1:{central.port}",
        "topic greetcue/store-1/# out 1",
        "topic greetcue/store-1/ack/+ in 1",
    ]


@pytest.fixture
def store_broker(
    tmp_path: Path, password_file: PasswordFile, bridge_lines: list[str]
) -> Iterator[int]:
    """A Mosquitto running the shipped greetcue.conf and greetcue.acl; its port."""
    port = free_port()
    acl = tmp_path / "greetcue.acl"
    shutil.copy(SHIPPED / "greetcue.acl", acl)
    conf = rewritten(
        (SHIPPED / "greetcue.conf").read_text(),
        {
            "listener 1883": f"listener {port} 127.0.0.1",
            "/etc/mosquitto/greetcue.passwd": str(password_file(USERS)),
            "/etc/mosquitto/greetcue.acl": str(acl),
        },
    )
    conf += f"persistence_location {tmp_path}/\n"  # Debian's main config sets it
    conf += "".join(f"{line}\n" for line in bridge_lines)
    if os.geteuid() == 0:  # as root Mosquitto would switch to the `mosquitto` user
        conf += f"user {pwd.getpwuid(0).pw_name}\n"
    (tmp_path / "mosquitto.conf").write_text(conf)
    with (tmp_path / "mosquitto.log").open("ab") as log:
        broker = subprocess.Popen(
            [find_executable("mosquitto"), "-c", str(tmp_path / "mosquitto.conf")],
            stdout=log,
            stderr=log,
        )
    try:
        deadline = time.monotonic() + WAIT_S
        while True:
            assert broker.poll() is None, (tmp_path / "mosquitto.log").read_text()
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            assert time.monotonic() < deadline, "Mosquitto did not listen"
            time.sleep(0.05)
        yield port
    finally:
        broker.terminate()
        broker.wait(WAIT_S)


class Speaker:
    """A paho client logged in as one user; ``say`` publishes at QoS 1 and waits."""

    def __init__(
        self,
        port: int,
        user: str | None,
        password: str | None = None,
        protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv5,
    ) -> None:
        self.answer: list[ReasonCode] = []
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"test-{user}-{uuid.uuid4().hex[:6]}",
            protocol=protocol,
        )
        if user is not None:
            self._client.username_pw_set(user, USERS[user] if password is None else password)
        self._client.on_connect = lambda _c, _u, _f, reason, _p: self.answer.append(reason)
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()
        deadline = time.monotonic() + WAIT_S
        while not self.answer and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.answer, "no CONNACK"

    def say(self, topic: str, payload: bytes = b"{}", retain: bool = False) -> None:
        self._client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(WAIT_S)

    def __enter__(self) -> Self:
        assert not self.answer[0].is_failure, self.answer[0]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._client.disconnect()
        self._client.loop_stop()


Watch = Callable[..., Subscriber]


@pytest.fixture
def watch(store_broker: int) -> Iterator[Watch]:
    """``watch(pattern, user=DASHBOARD)``: a connected subscriber logged in as ``user``."""
    made: list[Subscriber] = []

    def make(pattern: str = "greetcue/#", user: str = DASHBOARD) -> Subscriber:
        sub = Subscriber(store_broker, pattern, username=user, password=USERS[user]).connect()
        made.append(sub)
        return sub

    yield make
    for sub in made:
        sub.disconnect()


def topics_until(watcher: Subscriber, sentinel: str) -> list[str]:
    """Every topic the watcher got, once the sentinel arrived."""
    return [m.topic for m in watcher.wait_for(lambda got: any(m.topic == sentinel for m in got))]


def test_each_role_publishes_what_it_must(store_broker: int, watch: Watch) -> None:
    watcher = watch()
    own = [EVENT, AVAILABILITY, METRICS, ZONE, cue("counter")]
    with Speaker(store_broker, EDGE) as edge:
        for topic in own:
            edge.say(topic)
    with Speaker(store_broker, "counter") as device:
        device.say(ack("counter"))
    with Speaker(store_broker, DASHBOARD) as dashboard:
        dashboard.say(ack("manager"))  # a staff page's ack, for its device
    with Speaker(store_broker, HA) as home_assistant:
        home_assistant.say(ack("phone-1"))  # a Companion-app notification's Acknowledge
    acks = [ack("counter"), ack("manager"), ack("phone-1")]
    assert topics_until(watcher, ack("phone-1")) == [*own, *acks]


@pytest.mark.parametrize(
    ("user", "forbidden", "sentinel"),
    [
        ("counter", EVENT, ack("counter")),
        ("counter", ack("manager"), ack("counter")),
        ("counter", cue("counter"), ack("counter")),
        ("counter", ZONE, ack("counter")),
        ("counter", AVAILABILITY, ack("counter")),
        (DASHBOARD, EVENT, ack("counter")),
        (DASHBOARD, cue("counter"), ack("counter")),
        (DASHBOARD, METRICS, ack("counter")),
        (EDGE, ack("counter"), EVENT),
        (HA, EVENT, ack("counter")),
        (HA, cue("counter"), ack("counter")),
    ],
)
def test_a_forbidden_publish_is_not_delivered(
    store_broker: int, watch: Watch, user: str, forbidden: str, sentinel: str
) -> None:
    watcher = watch()
    with Speaker(store_broker, user) as speaker:
        speaker.say(forbidden, b"forged", retain=True)
        speaker.say(sentinel)
    assert topics_until(watcher, sentinel) == [sentinel]
    late = watch()  # a retained forgery would reach a later subscriber
    with Speaker(store_broker, user) as speaker:
        speaker.say(sentinel)
    assert topics_until(late, sentinel) == [sentinel]


def test_a_device_reads_only_its_own_cues(store_broker: int, watch: Watch) -> None:
    mine = watch(cue("counter"), user="counter")
    everything = watch("greetcue/#", user="counter")
    with Speaker(store_broker, EDGE) as edge:
        for topic in (EVENT, ZONE, cue("manager"), cue("counter")):
            edge.say(topic)
    assert topics_until(mine, cue("counter")) == [cue("counter")]
    assert topics_until(everything, cue("counter")) == [cue("counter")]


def test_the_edge_reads_the_acks_of_its_site(store_broker: int, watch: Watch) -> None:
    acks = watch(Topic.ACK.filter(prefix="greetcue", site="store-1"), user=EDGE)
    with Speaker(store_broker, "manager") as device:
        device.say(ack("manager"))
    assert topics_until(acks, ack("manager")) == [ack("manager")]


@pytest.mark.parametrize(("user", "password"), [(None, None), (EDGE, "wrong"), ("nobody", "x")])
def test_strangers_are_refused(store_broker: int, user: str | None, password: str | None) -> None:
    speaker = Speaker(store_broker, user, password)
    try:
        assert speaker.answer[0].is_failure, speaker.answer[0]
    finally:
        speaker.__exit__(None, None, None)


def test_a_publish_over_the_size_limit_is_dropped(store_broker: int, watch: Watch) -> None:
    """Over MQTT 3.1.1: Mosquitto 2.0.11 answers an MQTT 5 client's oversized QoS 1 publish
    with PUBACK reason 0x95, which paho takes for a protocol error and disconnects; it is
    dropped all the same (greetcue's clients never send anything near the limit)."""
    watcher = watch()
    with Speaker(store_broker, EDGE, protocol=MQTTProtocolVersion.MQTTv311) as edge:
        edge.say(EVENT, b"x" * (SIZE_LIMIT + 1))
        edge.say(EVENT, b"x" * SIZE_LIMIT)
        edge.say(METRICS)
    sizes = [len(m.payload) for m in watcher.wait_for(lambda got: len(got) >= 2)]
    assert sizes == [SIZE_LIMIT, 2]


def test_every_acl_user_is_one_the_install_creates() -> None:
    acl = (SHIPPED / "greetcue.acl").read_text()
    users = [line.split()[1] for line in acl.splitlines() if line.startswith("user ")]
    install = (SHIPPED.parent / "install.sh").read_text()
    assert users == [EDGE, "homeassistant", DASHBOARD]
    assert all(f"={user}\n" in install for user in (EDGE, DASHBOARD))
    guide = (SHIPPED.parent / "install.md").read_text()
    assert "install.sh --device homeassistant" in guide  # Home Assistant's user, made on demand


def _unused(*_: Any) -> None: ...


@pytest.fixture
def central(tmp_path: Path) -> Iterator[Mosquitto]:
    """A plain Mosquitto standing in for the chain's central broker."""
    with Mosquitto(tmp_path / "central") as broker:
        yield broker


@pytest.mark.parametrize("bridge_lines", ["central"], indirect=True)
def test_the_bridge_carries_acks_down_and_events_up_under_the_acl(
    central: Mosquitto, store_broker: int, watch: Watch
) -> None:
    """The bridge is the broker itself, not a user: the ACL does not stop what it carries."""
    acks = watch(Topic.ACK.filter(prefix="greetcue", site="store-1"), user=EDGE)
    up = Subscriber(central.port, "greetcue/#").connect()
    try:
        with Speaker(store_broker, EDGE) as edge:
            edge.say(EVENT)
        up.wait_for(lambda got: any(m.topic == EVENT for m in got))
        with Speaker(central.port, None) as dashboard:
            dashboard.say(ack("counter"))
        assert topics_until(acks, ack("counter")) == [ack("counter")]
    finally:
        up.disconnect()
