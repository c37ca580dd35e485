"""Delivery against a real Mosquitto (order, outages, the will, expiry, auth, refused PUBACKs),
and against a scripted link (transient refusals, an unwritable outbox)."""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest

from edge.config.service import MqttConfig, OutboxConfig
from edge.service.delivery import publisher as publisher_module
from edge.service.delivery.broker import Mosquitto
from edge.service.delivery.mqtt import MqttLink
from edge.service.delivery.outbox import Outbox, Outgoing
from edge.service.delivery.publisher import Publisher
from tests.support.mosquitto_fixture import Subscriber

if TYPE_CHECKING:
    from tests.support.mosquitto_fixture import PasswordFile, SubscriberFactory


AVAILABILITY = "greetcue/store-1/counter-1/availability"
EVENTS = "greetcue/store-1/counter-1/event"
WAIT_S = 10.0  # guards against a hung test only; never a speed requirement


def wait_until(condition: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def settle(link: MqttLink) -> None:
    """Returns once the broker has handled all the link sent so far (and sent back what that
    brought, such as a retained message on a new subscription): the broker handles a client's
    packets in order, so a message to the link's own new subscription comes back after them."""
    back = threading.Event()
    topic = f"greetcue/test/settle-{uuid.uuid4().hex[:8]}"
    link.subscribe(topic, lambda topic, payload: back.set())
    assert link.publish(topic, b"settle") is not None, "the link is connected"
    assert back.wait(WAIT_S), "the broker answered"


def config_for(broker: Mosquitto, **options: object) -> MqttConfig:
    return MqttConfig.model_validate(
        {"host": broker.host, "port": broker.port, "reconnect_max_s": 1, **options}
    )


def event(i: int) -> Outgoing:
    return Outgoing(EVENTS, json.dumps({"id": i}).encode(), captured_wall=time.time())


def ids(sub: Subscriber) -> list[int]:
    return [json.loads(m.payload)["id"] for m in sub.messages if m.topic == EVENTS]


@pytest.fixture
def link(mosquitto: Mosquitto) -> Iterator[MqttLink]:
    link = MqttLink(config_for(mosquitto), AVAILABILITY, "greetcue-test").start()
    wait_until(lambda: link.connected)
    yield link
    link.close()


@pytest.fixture
def publisher(link: MqttLink, tmp_path: Path) -> Iterator[Publisher]:
    with Publisher(link, Outbox(tmp_path / "outbox.sqlite3"), OutboxConfig(inflight=8)) as pub:
        yield pub


# --- the link: availability, will, auth, handlers ----------------------------------------


def test_online_is_retained_on_connect(link: MqttLink, subscriber: SubscriberFactory) -> None:
    late = subscriber(AVAILABILITY).wait_for_count(1)
    assert (late[0].payload, late[0].retain) == (b"online", True)


def test_clean_close_publishes_offline_retained(
    link: MqttLink, subscriber: SubscriberFactory
) -> None:
    live = subscriber(AVAILABILITY)
    live.wait_for_count(1)
    link.close()
    assert live.wait_for_count(2)[1].payload == b"offline"
    retained = subscriber(AVAILABILITY).wait_for_count(1)[0]
    assert (retained.payload, retained.retain) == (b"offline", True)


CHILD = """
import sys, time
from edge.config.service import MqttConfig
from edge.service.delivery.mqtt import MqttLink
link = MqttLink(MqttConfig(host="127.0.0.1", port=int(sys.argv[1])), sys.argv[2], "child")
link.start()
while not link.connected:
    time.sleep(0.02)
print("connected", flush=True)
time.sleep(60)
"""


def test_kill_9_makes_the_broker_publish_the_will(
    mosquitto: Mosquitto, subscriber: SubscriberFactory
) -> None:
    live = subscriber(AVAILABILITY)
    args = [sys.executable, "-c", CHILD, str(mosquitto.port), AVAILABILITY]
    child = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "connected"
    live.wait_for(lambda got: [m.payload for m in got] == [b"online"])
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    live.wait_for(lambda got: [m.payload for m in got] == [b"online", b"offline"])
    retained = subscriber(AVAILABILITY).wait_for_count(1)[0]
    assert (retained.payload, retained.retain) == (b"offline", True)


def test_password_is_checked_and_never_logged(
    tmp_path: Path,
    password_file: PasswordFile,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "s3cret-Pa55"
    passwords = password_file({"edge": secret})
    monkeypatch.setenv("GREETCUE_TEST_PASSWORD", "wrong-" + secret)
    options = {"username": "edge", "password_env": "GREETCUE_TEST_PASSWORD"}
    caplog.set_level(logging.DEBUG, logger="edge.service.delivery.mqtt")
    with Mosquitto(tmp_path / "broker", password_file=passwords) as broker:
        refused = MqttLink(config_for(broker, **options), AVAILABILITY, "greetcue-test").start()
        wait_until(lambda: "refused" in caplog.text)
        refused.close()
        assert not refused.connected and refused.generation == 0
        assert f"broker {broker.host}:{broker.port} refused user edge" in caplog.text
        assert "check mqtt.username and $GREETCUE_TEST_PASSWORD" in caplog.text
        monkeypatch.setenv("GREETCUE_TEST_PASSWORD", secret)
        accepted = MqttLink(config_for(broker, **options), AVAILABILITY, "greetcue-test").start()
        wait_until(lambda: accepted.connected)
        accepted.close()
    assert secret not in caplog.text


def test_a_failing_handler_is_counted_and_the_link_keeps_working(
    link: MqttLink, caplog: pytest.LogCaptureFixture
) -> None:
    got: list[tuple[str, bytes]] = []

    def broken(topic: str, payload: bytes) -> None:
        raise ValueError("bad ack")

    link.subscribe("greetcue/store-1/ack", broken)
    link.subscribe("greetcue/store-1/other", lambda topic, payload: got.append((topic, payload)))
    settle(link)
    link.publish("greetcue/store-1/ack", b"{}")
    link.publish("greetcue/store-1/other", b"still here")
    wait_until(lambda: got == [("greetcue/store-1/other", b"still here")])
    assert link.handler_errors == 1
    assert "handler for greetcue/store-1/ack failed" in caplog.text


def test_a_retained_message_is_not_replayed_to_a_live_only_subscription(
    mosquitto: Mosquitto,
) -> None:
    old = MqttLink(config_for(mosquitto), AVAILABILITY, "greetcue-old").start()
    wait_until(lambda: old.connected)
    old.publish("greetcue/store-1/ack", b"old ack", retain=True)
    settle(old)
    old.close()
    got: list[bytes] = []
    link = MqttLink(config_for(mosquitto), AVAILABILITY, "greetcue-test")
    link.subscribe(
        "greetcue/store-1/ack", lambda topic, payload: got.append(payload), retained=False
    )
    subscribed = threading.Event()  # the connect callbacks run once the SUBSCRIBEs are sent
    link.add_connect_callback(lambda generation: subscribed.set())
    link.start()
    try:
        assert subscribed.wait(WAIT_S)
        settle(link)  # a retained ack would have come with the SUBACK, before this
        link.publish("greetcue/store-1/ack", b"live ack")
        wait_until(lambda: b"live ack" in got)
        assert got == [b"live ack"]
    finally:
        link.close()


# --- the publisher: order, outages, send_now ---------------------------------------------


def test_every_event_arrives_once_in_order(
    publisher: Publisher, subscriber: SubscriberFactory
) -> None:
    sub = subscriber(EVENTS)
    for start in range(0, 300, 30):
        publisher.submit(event(i) for i in range(start, start + 30))
    assert publisher.drain(WAIT_S)
    sub.wait_for_count(300)
    assert ids(sub) == list(range(300))
    latencies = publisher.latencies()
    assert len(latencies) == 300 and all(0 <= s < WAIT_S for s in latencies)
    assert publisher.latencies() == [] and publisher.depth == 0


def test_events_submitted_while_the_broker_is_down_arrive_after(
    mosquitto: Mosquitto, publisher: Publisher, subscriber: SubscriberFactory
) -> None:
    sub = subscriber(EVENTS, persistent=True)
    mosquitto.stop()
    publisher.submit(event(i) for i in range(20))
    wait_until(lambda: publisher.depth == 20)
    assert not publisher.drain(0.5)
    mosquitto.start()
    assert publisher.drain(WAIT_S)
    sub.wait_for_count(20)
    assert ids(sub) == list(range(20))


def test_ten_second_outage_mid_stream_loses_nothing(
    mosquitto: Mosquitto, publisher: Publisher, subscriber: SubscriberFactory
) -> None:
    sub = subscriber(EVENTS, persistent=True)
    stop = threading.Event()
    sent: list[int] = []

    def stream() -> None:
        while not stop.is_set():
            sent.append(len(sent))
            publisher.submit([event(sent[-1])])
            time.sleep(0.01)

    streamer = threading.Thread(target=stream)
    streamer.start()
    sub.wait_for_count(20)  # mid-stream
    mosquitto.stop()
    time.sleep(10.0)  # the outage under test
    mosquitto.start()
    resumed = len(sent)
    sub.wait_for(lambda got: json.loads(got[-1].payload)["id"] >= resumed)  # streaming again
    stop.set()
    streamer.join()
    assert publisher.drain(WAIT_S)
    sub.wait_for(lambda _: set(ids(sub)) >= set(sent))
    arrived = [json.loads(m.payload)["id"] for m in sub.messages]
    assert list(dict.fromkeys(arrived)) == sent  # nothing lost, in order of first arrival
    # At least once: events the broker took but whose PUBACK the outage swallowed come again
    # (ids make that harmless); only those in flight then, at most the in-flight window.
    again = sorted({i for i in arrived if arrived.count(i) > 1})
    assert len(again) <= OutboxConfig().inflight
    first = min(again, default=0)
    assert again == list(range(first, first + len(again))), "one run of in-flight events"


def test_retained_state_is_resent_when_the_broker_lost_it(
    mosquitto: Mosquitto, publisher: Publisher, subscriber: SubscriberFactory
) -> None:
    zone = "greetcue/store-1/counter-1/zone/3ft"
    for count in (1, 2):
        publisher.send_now(zone, f'{{"count": {count}}}'.encode(), qos=1, retain=True)
    latest = [b'{"count": 2}']
    watch = subscriber(zone)
    before = len(watch.wait_for(lambda got: [m.payload for m in got][-1:] == latest))
    mosquitto.kill()  # a crash: the broker saved nothing
    mosquitto.start()
    watch.wait_for(lambda got: len(got) > before and [m.payload for m in got][-1:] == latest)
    first = subscriber(zone).wait_for_count(1)[0]
    assert (first.payload, first.retain) == (b'{"count": 2}', True)


def test_an_expired_cue_never_reaches_a_device_that_comes_back_late(
    publisher: Publisher, subscriber: SubscriberFactory
) -> None:
    cue = "greetcue/store-1/cue/watch-1"
    prompt = subscriber(cue, client_id="device-prompt", persistent=True)
    late = subscriber(cue, client_id="device-late", persistent=True)
    live = subscriber(cue)
    prompt.disconnect()
    late.disconnect()
    publisher.send_now(cue, b"buzz", qos=1, expiry_s=1)
    live.wait_for_count(1)
    prompt.connect()
    assert prompt.wait_for_count(1)[0].payload == b"buzz"
    # the broker counts whole seconds: 1, or 0 (left out) once a second boundary has passed
    assert live.messages[0].properties.get("MessageExpiryInterval", 0) <= 1
    time.sleep(2.0)  # the broker's clock passes the cue's expiry
    publisher.send_now(cue, b"marker", qos=1)  # queued behind the cue, had it survived
    live.wait_for_count(2)
    late.connect()
    assert late.wait_for_count(1)[0].payload == b"marker"  # the cue would have come first


def test_a_cue_while_disconnected_is_dropped_with_a_log_line(
    mosquitto: Mosquitto,
    publisher: Publisher,
    link: MqttLink,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mosquitto.stop()
    wait_until(lambda: not link.connected)
    with caplog.at_level(logging.INFO, logger="edge.service.delivery.publisher"):
        publisher.send_now("greetcue/store-1/cue/watch-1", b"buzz", qos=1, expiry_s=3)
        wait_until(lambda: "dropped the cue on greetcue/store-1/cue/watch-1" in caplog.text)
    assert publisher.depth == 0


def test_a_publish_the_acl_refuses_is_rejected_not_acked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    acl = tmp_path / "acl"
    acl.write_text(f"topic readwrite {AVAILABILITY}\ntopic readwrite {EVENTS}\n")
    denied = "greetcue/store-1/denied"
    refused = [Outgoing(denied, b"x", captured_wall=time.time()) for _ in range(2)]
    with (
        Mosquitto(tmp_path / "broker", extra_config=[f"acl_file {acl}"]) as broker,
        Subscriber(broker.port, EVENTS, host=broker.host) as sub,
    ):
        link = MqttLink(config_for(broker), AVAILABILITY, "greetcue-test").start()
        wait_until(lambda: link.connected)
        with Publisher(link, Outbox(tmp_path / "outbox.sqlite3")) as publisher:
            publisher.submit([refused[0], event(1), refused[1], event(2)])
            assert publisher.drain(WAIT_S)  # nothing retryable is left
            assert (publisher.rejected, publisher.depth, publisher.dropped) == (2, 0, 0)
            assert len(publisher.latencies()) == 2  # a refusal is not an ack
        sub.wait_for_count(2)
        assert ids(sub) == [1, 2]
        link.close()
    assert f"refused the message on {denied}: Not authorized (0x87)" in caplog.text
    assert "removed, not retried (1 since start)" in caplog.text and "broker's ACL" in caplog.text
    logged = [r.levelname for r in caplog.records if denied in r.getMessage()]
    assert [level for level in logged if level != "DEBUG"] == ["ERROR"]  # once a minute at most
    assert Outbox(tmp_path / "outbox.sqlite3").depth() == 0


# --- the publisher against a scripted link: transient refusals, an unwritable outbox ------


class ScriptedLink:
    """Connected from the start; answers every publish with ``answer(topic, attempt)``, a
    PUBACK reason code, from the publisher's own thread (as paho would, a bit later)."""

    def __init__(self, answer: Callable[[str, int], int] = lambda topic, attempt: 0) -> None:
        self.answer = answer
        self.generation = 1
        self.published: list[bytes] = []
        self._acks: list[Callable[[int, int, float], None]] = []

    def add_ack_callback(self, callback: Callable[[int, int, float], None]) -> None:
        self._acks.append(callback)

    def add_connect_callback(self, callback: Callable[[int], None]) -> None:
        pass

    add_disconnect_callback = add_connect_callback

    def publish(self, topic: str, payload: bytes, *args: object) -> int:
        attempt = self.published.count(payload)
        self.published.append(payload)
        mid = len(self.published)
        for callback in self._acks:
            callback(mid, self.answer(topic, attempt), time.time())
        return mid


def scripted(link: ScriptedLink, outbox: Outbox, config: OutboxConfig) -> Publisher:
    return Publisher(cast(MqttLink, link), outbox, config)


@pytest.fixture
def quick_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The publisher's thread ticks (resends a refused event, retries an unwritable outbox)
    every 20 ms instead of every second: the same steps in the same order, sooner."""
    monkeypatch.setattr(publisher_module, "TICK_S", 0.02)


@pytest.mark.usefixtures("quick_ticks")
def test_a_transient_refusal_is_kept_and_resent(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    at_resend: list[tuple[int, list[float]]] = []

    def quota_twice(topic: str, attempt: int) -> int:
        if attempt == 1:  # resending the refused event: it was kept and not taken as acked
            at_resend.append((sender.depth, sender.latencies()))
        return 0x97 if attempt < 2 else 0

    link = ScriptedLink(quota_twice)
    with scripted(link, Outbox(tmp_path / "o.sqlite3"), OutboxConfig()) as sender:
        sender.submit([event(1)])
        assert sender.drain(WAIT_S)
        assert (sender.rejected, len(sender.latencies())) == (0, 1)
    assert at_resend == [(1, [])]
    assert link.published == [b'{"id": 1}'] * 3
    assert f"refused the message on {EVENTS}: Quota exceeded (0x97); kept" in caplog.text


@pytest.mark.usefixtures("quick_ticks")
def test_memory_waiting_for_an_unwritable_outbox_is_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3")
    add = outbox.add

    def disk_full(messages: object) -> list[int]:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(outbox, "add", disk_full)
    link = ScriptedLink()
    with scripted(link, outbox, OutboxConfig(max_rows=100)) as publisher:
        for start in range(0, 150, 10):
            publisher.submit(event(i) for i in range(start, start + 10))
        wait_until(lambda: publisher.dropped == 50)
        assert publisher.depth == 100
        monkeypatch.setattr(outbox, "add", add)  # space again
        assert publisher.drain(WAIT_S)
    assert [json.loads(p)["id"] for p in link.published] == list(range(50, 150))
    assert "dropped the 50 oldest events waiting in memory (outbox.max_rows=100)" in caplog.text
