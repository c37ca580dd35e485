"""Cue outputs and ack inputs on simulated GPIO pins (gpiozero MockFactory) and a fake MQTT."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from gpiozero import BadPinFactory, Device
from gpiozero.pins.mock import MockFactory, MockPWMPin

from edge.config import ButtonConfig, BuzzerConfig, LightConfig, parse_config
from edge.contract import CueCommand, decode, new_id, utc
from edge.plumbing.throttle import LogThrottle
from edge.service.cues.acks import AckInbox, AckTopicHandler, GpioButton
from edge.service.cues.desk import StaffAck
from edge.service.delivery.outputs import (
    CounterLight,
    DeviceCue,
    GpioBuzzer,
    GpioError,
    LogOutput,
    build_outputs,
    gpio_errors,
)

BUZZER_PIN, BUTTON_PIN, LED_PIN, RGB_PINS = 17, 26, 12, [5, 6, 13]
ACK_TOPIC = "greetcue/store-1/ack/counter"


@pytest.fixture
def factory() -> Iterator[Any]:
    """Simulated PWM-capable pins, also as gpiozero's default; reset after each test."""
    factory = MockFactory(pin_class=MockPWMPin)
    Device.pin_factory = factory
    yield factory
    factory.close()
    Device.pin_factory = None


def command(zone: str = "10ft", reason: str = "zone", device: str = "counter") -> CueCommand:
    now = time.time()
    return CueCommand.model_validate(
        {
            "cue_id": new_id(),
            "site": "store-1",
            "camera": "counter-1",
            "device": device,
            "zone": zone,
            "reason": reason,
            "escalation": 0,
            "track_id": 1,
            "issued_at": utc(now),
            "expires_at": utc(now + 3.0),
        }
    )


def wait_for(condition: Callable[[], bool], timeout_s: float = 3.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def states(pin: Any) -> list[bool]:
    return [bool(s.state) for s in pin.states]


def buzzer(factory: Any, patterns: dict[str, list[float]]) -> GpioBuzzer:
    return GpioBuzzer(BuzzerConfig(pin=BUZZER_PIN, patterns=patterns), factory)


PATTERNS = {"10ft": [0.03], "5ft": [0.03, 0.03, 0.03], "waiting": [0.03, 0.03, 0.03, 0.03, 0.03]}


@pytest.mark.parametrize(
    ("zone", "reason", "pulses"), [("10ft", "zone", 1), ("5ft", "zone", 2), ("3ft", "waiting", 3)]
)
def test_buzzer_plays_the_cued_zone_pattern(
    factory: Any, zone: str, reason: str, pulses: int
) -> None:
    out = buzzer(factory, PATTERNS)
    pin = factory.pin(BUZZER_PIN)
    out.cue(command(zone, reason))
    wait_for(lambda: not out.busy)  # the pattern has played to its end: nothing more follows
    assert states(pin) == [False] + [True, False] * pulses
    # A state's timestamp is how long the state before it lasted: each step held its time.
    assert all(s.timestamp >= 0.02 for s in pin.states[2:])
    out.close()


def test_buzzer_ignores_cues_for_other_devices(factory: Any) -> None:
    out = buzzer(factory, PATTERNS)
    out.cue(command(device="manager"))
    assert not out.busy  # no pattern was started, so none can follow
    assert states(factory.pin(BUZZER_PIN)) == [False]
    out.close()


def test_a_new_cue_restarts_the_pattern_instead_of_stacking(factory: Any) -> None:
    out = buzzer(factory, {"10ft": [0.5]})
    pin = factory.pin(BUZZER_PIN)
    out.cue(command())
    wait_for(lambda: len(pin.states) == 2)  # buzzing
    out.cue(command())
    wait_for(lambda: len(pin.states) == 5)
    assert states(pin) == [False, True, False, True, False]
    first_buzz_s = pin.states[2].timestamp
    assert first_buzz_s < 0.4  # cut short by the new cue, not played to its end
    out.close()


def test_rgb_light_shows_the_nearest_zone_colour_and_turns_off(factory: Any) -> None:
    light = CounterLight(LightConfig(pins=RGB_PINS), factory)
    pins = [factory.pin(p) for p in RGB_PINS]
    light.show("5ft")
    assert [p.state for p in pins] == pytest.approx([1.0, 0.6, 0.0])
    light.show("3ft")
    assert [p.state for p in pins] == pytest.approx([0.0, 1.0, 0.0])
    light.show(None)
    assert [p.state for p in pins] == [0, 0, 0]
    light.close()


@pytest.mark.parametrize(("zone", "lit"), [("10ft", True), ("3ft", True), (None, False)])
def test_one_pin_led_lights_for_any_zone(factory: Any, zone: str | None, lit: bool) -> None:
    light = CounterLight(LightConfig(pins=[LED_PIN]), factory)
    light.show("5ft")
    light.show(zone)
    assert bool(factory.pin(LED_PIN).state) is lit
    light.close()


def test_button_press_puts_a_button_ack_for_its_device_in_the_inbox(factory: Any) -> None:
    inbox = AckInbox()
    button = GpioButton(
        ButtonConfig(pin=BUTTON_PIN, device="counter", bounce_s=0),
        inbox,
        factory,
        clock=lambda: 7.0,
    )
    factory.pin(BUTTON_PIN).drive_low()  # pressed: the button is wired to ground
    acks: list[StaffAck] = []

    def arrived() -> bool:
        acks.extend(inbox.drain())
        return bool(acks)

    wait_for(arrived)
    assert acks == [StaffAck(None, "counter", "button", 7.0)]
    button.close()


def test_device_cue_publishes_on_the_device_topic_with_expiry_the_remaining_lifetime() -> None:
    sent: list[tuple[str, bytes, int, bool, float | None]] = []
    cmd = command(device="manager")
    now = cmd.expires_at.timestamp() - 2.25
    out = DeviceCue(
        "greetcue", "store-1", ["counter", "manager"], lambda *a: sent.append(a), lambda: now
    )
    out.cue(cmd)
    [(topic, payload, qos, retain, expiry_s)] = sent
    assert (topic, qos, retain) == ("greetcue/store-1/cue/manager", 1, False)
    assert expiry_s == pytest.approx(2.25)
    assert decode(CueCommand, payload) == cmd


def test_device_cue_drops_a_cue_that_has_already_expired() -> None:
    sent: list[object] = []
    cmd = command()
    out = DeviceCue("greetcue", "store-1", ["counter"], lambda *a: sent.append(a), lambda: 1e12)
    out.cue(cmd)
    assert (sent, out.stale) == ([], 1)


def test_a_good_ack_payload_is_queued_as_an_mqtt_ack() -> None:
    inbox = AckInbox()
    cue_id = new_id()
    handler = AckTopicHandler(inbox, clock=lambda: 42.0)
    handler(ACK_TOPIC, f'{{"cue_id": "{cue_id}", "device": "counter", "staff": "ana"}}'.encode())
    assert inbox.drain() == [StaffAck(cue_id, "counter", "mqtt", 42.0, "ana")]


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"\xff\xfe",
        b"{}",
        b'{"cue_id": "not-a-uuid", "device": "counter"}',
        f'{{"cue_id": "{new_id()}", "device": "counter", "extra": 1}}'.encode(),
        f'{{"cue_id": "{new_id()}", "device": "a/b"}}'.encode(),
        b"[" * 10_000,
    ],
    ids=["not-json", "not-utf8", "empty", "bad-uuid", "extra-field", "slash-device", "deep"],
)
def test_a_bad_ack_payload_is_refused_counted_and_logged(
    payload: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = AckInbox()
    handler = AckTopicHandler(inbox)
    with caplog.at_level(logging.WARNING, "edge.service.cues.acks"):
        handler(ACK_TOPIC, payload)
    assert (handler.refused, inbox.drain()) == ({"ack_payload": 1}, [])
    [record] = caplog.records
    assert ACK_TOPIC in record.getMessage()


@pytest.mark.parametrize(
    "topic",
    ["greetcue/store-1/ack/manager", "other/store-1/ack/counter", "greetcue/store-1/cue/counter"],
)
def test_an_ack_speaking_for_another_device_than_its_topic_is_refused(
    topic: str, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = AckInbox()
    handler = AckTopicHandler(inbox)
    payload = f'{{"cue_id": "{new_id()}", "device": "counter"}}'.encode()
    with caplog.at_level(logging.WARNING, "edge.service.cues.acks"):
        handler(topic, payload)
        handler(ACK_TOPIC, payload)  # the same payload on its own device's topic is taken
    assert handler.refused == {"ack_topic_mismatch": 1}
    assert [ack.device for ack in inbox.drain()] == ["counter"]
    [record] = caplog.records
    assert topic in record.getMessage() and "ack_topic_mismatch" in record.getMessage()


def test_a_flood_of_bad_acks_logs_one_line_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    handler = AckTopicHandler(AckInbox(), throttle=LogThrottle(interval_s=60.0))
    with caplog.at_level(logging.WARNING, "edge.service.cues.acks"):
        for _ in range(500):
            handler(ACK_TOPIC, b"junk")
    assert handler.refused == {"ack_payload": 500}
    assert len(caplog.records) == 1


def test_a_full_inbox_refuses_new_acks_and_counts_them() -> None:
    inbox = AckInbox(capacity=2)
    accepted = [inbox.put(StaffAck(None, "counter", "button", float(t))) for t in range(3)]
    assert (accepted, inbox.dropped, len(inbox.drain())) == ([True, True, False], 1, 2)


def test_build_outputs_makes_every_configured_output(factory: Any) -> None:
    config = parse_config(
        {
            "mqtt": {"host": "broker"},
            "gpio": {
                "pin_factory": "mock",
                "buzzer": {"pin": BUZZER_PIN},
                "light": {"pins": RGB_PINS},
            },
        }
    )
    outputs = build_outputs(config, pin_factory=factory)
    assert [type(o) for o in outputs] == [LogOutput, GpioBuzzer, CounterLight]
    for output in outputs:
        output.close()


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (BadPinFactory("Unable to load any default pin factory!"), "gpio.pin_factory: mock"),
        (ImportError("No module named 'lgpio'"), "install python3-lgpio"),
    ],
)
def test_unavailable_gpio_is_a_config_error_naming_the_fix(error: Exception, message: str) -> None:
    with pytest.raises(GpioError, match=message), gpio_errors("gpio.buzzer.pin"):
        raise error
