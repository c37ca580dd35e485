"""Home Assistant discovery: the device-based config message and when it is (re)sent."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from edge.config import Config, parse_config
from edge.contract import Topic, ZoneOccupancy, encode
from edge.service.delivery.broker import Mosquitto
from edge.service.delivery.discovery import Discovery, object_id

if TYPE_CHECKING:  # imported by pytest_plugins below, so pytest can rewrite its asserts
    from tests.support.mosquitto_fixture import SubscriberFactory


CONFIG_TOPIC = "homeassistant/device/greetcue_store-1_counter-1/config"


class Sent:
    """A fake ``send``: records every message and signals each one."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes, int, bool]] = []
        self.event = threading.Event()

    def __call__(
        self, topic: str, payload: bytes, qos: int, retain: bool, expiry_s: float | None = None
    ) -> None:
        self.messages.append((topic, payload, qos, retain))
        self.event.set()


class Delays:
    """A fake random source: always ``delay_s``, and remembers what it was asked for."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.asked: list[tuple[float, float]] = []

    def __call__(self, low: float, high: float) -> float:
        self.asked.append((low, high))
        return self.delay_s


@dataclass
class FakeTimer:
    """``threading.Timer`` on a clock the test controls: it runs only when ``fire()`` is called."""

    interval: float
    function: Callable[[], None]
    daemon: bool = False
    started: bool = False
    cancelled: bool = False

    def start(self) -> None:
        self.started = True

    def cancel(self) -> None:
        self.cancelled = True

    def fire(self) -> None:
        """Runs it now, cancelled or not (as a timer that fires as it is cancelled would)."""
        self.function()


@pytest.fixture
def timers(monkeypatch: pytest.MonkeyPatch) -> list[FakeTimer]:
    """Every timer made while the test runs, in the order made; none runs by itself."""
    made: list[FakeTimer] = []

    def make(interval: float, function: Callable[[], None]) -> FakeTimer:
        made.append(FakeTimer(interval, function))
        return made[-1]

    monkeypatch.setattr(threading, "Timer", make)
    return made


@pytest.fixture
def config() -> Config:
    return parse_config({"site": "store-1", "camera": {"name": "counter-1"}})


def _payload(config: Config) -> dict[str, Any]:
    message = Discovery(config, Sent()).messages()[0]
    result: dict[str, Any] = json.loads(message.payload)
    return result


def _platform(payload: dict[str, Any], platform: str) -> list[dict[str, Any]]:
    return [c for c in payload["cmps"].values() if c["p"] == platform]


def test_one_retained_config_message_per_camera(config: Config) -> None:
    messages = Discovery(config, Sent()).messages()
    assert [(m.topic, m.qos, m.retain) for m in messages] == [(CONFIG_TOPIC, 1, True)]


def test_an_occupancy_binary_sensor_per_zone(config: Config) -> None:
    sensors = _platform(_payload(config), "binary_sensor")
    assert {s["state_topic"] for s in sensors} == {
        Topic.ZONE.build(prefix="greetcue", site="store-1", camera="counter-1", zone=zone)
        for zone in ("10ft", "5ft", "3ft")
    }
    assert {s["device_class"] for s in sensors} == {"occupancy"}


def test_nearest_distance_sensor_reads_the_outermost_zone(config: Config) -> None:
    (nearest,) = [c for c in _platform(_payload(config), "sensor") if c.get("device_class")]
    assert nearest["device_class"] == "distance"
    assert nearest["unit_of_measurement"] == "ft"
    assert nearest["state_class"] == "measurement"
    assert nearest["state_topic"] == "greetcue/store-1/counter-1/zone/10ft"


def test_device_and_origin_name_greetcue_and_its_version(config: Config) -> None:
    payload = _payload(config)
    version = metadata.version("greetcue")
    assert payload["dev"]["identifiers"] == ["greetcue_store-1_counter-1"]
    assert payload["dev"]["manufacturer"] == "greetcue"
    assert payload["dev"]["sw_version"] == version
    assert payload["dev"]["model"]
    assert payload["o"]["name"] == "greetcue"
    assert payload["o"]["sw"] == version


def test_availability_is_the_service_availability_topic(config: Config) -> None:
    payload = _payload(config)
    assert payload["availability_topic"] == "greetcue/store-1/counter-1/availability"
    assert (payload["payload_available"], payload["payload_not_available"]) == (
        "online",
        "offline",
    )
    assert payload["qos"] == 1


def test_unique_ids_are_distinct_and_stable_across_restarts(config: Config) -> None:
    first = [c["unique_id"] for c in _payload(config)["cmps"].values()]
    again = [c["unique_id"] for c in _payload(config.model_copy(deep=True))["cmps"].values()]
    assert first == again
    assert len(set(first)) == len(first)
    assert all(uid.startswith("greetcue_store-1_counter-1_") for uid in first)


def test_state_expires_after_three_occupancy_refreshes(config: Config) -> None:
    expiry = {c["expire_after"] for c in _payload(config)["cmps"].values()}
    assert expiry == {3 * round(config.service.occupancy_refresh_s)}


def test_prefixes_come_from_the_mqtt_section() -> None:
    config = parse_config({"mqtt": {"prefix": "gc", "discovery_prefix": "ha"}})
    discovery = Discovery(config, Sent())
    payload = json.loads(discovery.messages()[0].payload)
    assert discovery.config_topic.startswith("ha/device/")
    assert discovery.status_topic == "ha/status"
    assert payload["availability_topic"].startswith("gc/")


def test_no_discovery_without_a_discovery_prefix() -> None:
    config = parse_config({"mqtt": {"discovery_prefix": None}})
    with pytest.raises(ValueError, match="discovery_prefix"):
        Discovery(config, Sent())


@pytest.mark.parametrize(
    ("site", "camera", "expected"),
    [
        ("store-1", "counter-1", "greetcue_store-1_counter-1"),
        ("store.1", "cam_2", "greetcue_store_1_cam_2"),
    ],
)
def test_object_id_keeps_only_characters_home_assistant_accepts(
    site: str, camera: str, expected: str
) -> None:
    assert object_id(site, camera) == expected


class _Value:
    """Attribute access into parsed JSON, as ``value_json.field`` works in a template."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        return self._data[name]


def _render(template: str, payload: bytes) -> str:
    """Render a one-expression template by hand (jinja2 is not installed); these expressions
    are written in the subset where Jinja and Python agree, and Jinja prints None as None."""
    expression = template.removeprefix("{{").removesuffix("}}")
    value_json = _Value(json.loads(payload))
    return str(eval(expression, {"__builtins__": {}}, {"value_json": value_json}))


@pytest.mark.parametrize(
    ("count", "nearest_ft", "zone_state", "nearest_state", "people_state"),
    [
        (0, None, "OFF", "None", "0"),  # "None" is Home Assistant's unknown
        (1, 7.5, "ON", "7.5", "1"),
        (3, 2.25, "ON", "2.25", "3"),
    ],
)
def test_templates_turn_real_occupancy_into_states(
    config: Config,
    count: int,
    nearest_ft: float | None,
    zone_state: str,
    nearest_state: str,
    people_state: str,
) -> None:
    occupancy = ZoneOccupancy(
        site="store-1",
        camera="counter-1",
        zone="10ft",
        radius_ft=10,
        count=count,
        nearest_ft=nearest_ft,
        updated_at=datetime(2025, 1, 1, tzinfo=UTC),
    )
    cmps = _payload(config)["cmps"]
    rendered = {key: _render(c["value_template"], encode(occupancy)) for key, c in cmps.items()}
    assert rendered["zone_10ft"] == zone_state
    assert rendered["nearest"] == nearest_state
    assert rendered["people"] == people_state


def test_on_connect_sends_the_config(config: Config) -> None:
    sent = Sent()
    discovery = Discovery(config, sent)
    discovery.on_connect()
    assert sent.messages == [(m.topic, m.payload, 1, True) for m in discovery.messages()]


def test_home_assistant_online_sends_it_again_after_a_random_delay(config: Config) -> None:
    sent, delays = Sent(), Delays(0.01)
    discovery = Discovery(config, sent, uniform=delays)
    discovery.on_status(b"online")
    assert sent.event.wait(5.0)
    assert delays.asked == [(1.0, 5.0)]
    assert [m[0] for m in sent.messages] == [CONFIG_TOPIC]
    discovery.close()


@pytest.mark.parametrize("payload", [b"offline", b"", b"restarting", b"\xff"])
def test_other_status_payloads_are_ignored(
    config: Config, payload: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    sent, delays = Sent(), Delays(0.0)
    discovery = Discovery(config, sent, uniform=delays)
    with caplog.at_level(logging.DEBUG, logger="edge.service.delivery.discovery"):
        discovery.on_status(payload)
    assert delays.asked == []  # no re-send was scheduled
    assert "nothing to do" in caplog.text


def test_close_cancels_a_pending_resend(config: Config, timers: list[FakeTimer]) -> None:
    sent = Sent()
    discovery = Discovery(config, sent, uniform=Delays(0.1))
    discovery.on_status(b"online")
    discovery.close()
    discovery.on_status(b"online")
    assert [(timer.started, timer.cancelled) for timer in timers] == [(True, True)]
    timers[0].fire()
    assert sent.messages == []


def test_repeated_births_send_it_once(config: Config, timers: list[FakeTimer]) -> None:
    sent = Sent()
    discovery = Discovery(config, sent, uniform=Delays(0.1))
    discovery.on_status(b"online")
    discovery.on_status(b"online")
    assert [timer.interval for timer in timers] == [0.1]
    assert discovery.counts["ha_status_coalesced"] == 1
    timers[0].fire()
    assert [m[0] for m in sent.messages] == [CONFIG_TOPIC]
    discovery.close()


def test_the_config_is_retained_by_a_real_broker(
    config: Config, mosquitto: Mosquitto, subscriber: SubscriberFactory
) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    client.connect(mosquitto.host, mosquitto.port)
    client.loop_start()

    def send(
        topic: str, payload: bytes, qos: int, retain: bool, expiry_s: float | None = None
    ) -> None:
        client.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(10.0)

    discovery = Discovery(config, send)
    discovery.on_connect()
    client.disconnect()
    client.loop_stop()
    # Home Assistant subscribing later (a restart) still gets the config: it is retained.
    (message,) = subscriber("homeassistant/#").wait_for_count(1)
    assert (message.topic, message.retain) == (CONFIG_TOPIC, True)
    assert json.loads(message.payload) == discovery.payload()


def test_a_flood_of_births_sends_once_counts_the_rest_and_logs_a_line(
    config: Config, timers: list[FakeTimer], caplog: pytest.LogCaptureFixture
) -> None:
    sent = Sent()
    discovery = Discovery(config, sent, uniform=Delays(1.0))
    with caplog.at_level(logging.DEBUG, logger="edge.service.delivery.discovery"):
        for _ in range(10_000):
            discovery.on_status(b"online")
        for _ in range(1_000):
            discovery.on_status(b"offline")
        assert [timer.interval for timer in timers] == [1.0]  # the whole flood while it waits
        timers[0].fire()
    discovery.close()
    assert [m[0] for m in sent.messages] == [CONFIG_TOPIC]
    assert discovery.counts == {"ha_status_ignored": 1_000, "ha_status_coalesced": 9_999}
    assert len(caplog.records) <= 2, [r.getMessage() for r in caplog.records[:5]]
