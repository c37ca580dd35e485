"""The GPIO header: which gpiozero pin factory, readable start-up errors, and every output the
configuration asks for."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from edge.config import Config, ConfigError, GpioConfig
from edge.service.delivery.outputs.base import CueOutput
from edge.service.delivery.outputs.buzzer import GpioBuzzer
from edge.service.delivery.outputs.light import CounterLight
from edge.service.delivery.outputs.log import LogOutput

FIX = (
    "on a Raspberry Pi install python3-lgpio; elsewhere set gpio.pin_factory: mock or remove "
    "the gpio section"
)


class GpioError(ConfigError):
    """GPIO is configured but cannot be used; the message names the fix."""


def open_pin_factory(config: GpioConfig) -> Any:
    """The configured pin factory; None for ``auto``, which lets gpiozero pick (lgpio on a
    Pi). ``mock`` simulates PWM-capable pins, so an RGB light works on any box."""
    if config.pin_factory == "mock":
        from gpiozero.pins.mock import MockFactory, MockPWMPin

        return MockFactory(pin_class=MockPWMPin)
    if config.pin_factory == "auto":
        return None
    try:
        from gpiozero.pins.lgpio import LGPIOFactory

        return LGPIOFactory()
    except Exception as exc:  # lgpio raises its own error type when no GPIO chip opens
        raise GpioError(f"GPIO not available ({exc}): {FIX}") from None


@contextmanager
def gpio_errors(key: str) -> Iterator[None]:
    """Turn gpiozero's start-up failures into a GpioError naming the fix or the key."""
    from gpiozero import GPIOZeroError  # gpiozero loads only on a box with GPIO configured

    try:
        yield
    except (ImportError, OSError) as exc:  # gpiozero's BadPinFactory is an ImportError
        raise GpioError(f"GPIO not available ({exc}): {FIX}") from None
    except GPIOZeroError as exc:
        raise GpioError(f"{key}: {exc}; check the pin and that nothing else uses it") from None


def build_outputs(config: Config, pin_factory: Any = None) -> list[CueOutput]:
    """Every output on this box the configuration asks for: the log (cues.log), and the GPIO
    buzzer and light on ``pin_factory``, the one :func:`open_pin_factory` gave (shared with
    the button; None: gpiozero's default). Devices on MQTT are the dispatcher's."""
    outputs: list[CueOutput] = [LogOutput()] if config.cues.log else []
    gpio = config.gpio
    if gpio is None:
        return outputs
    if gpio.buzzer is not None:
        with gpio_errors("gpio.buzzer.pin"):
            outputs.append(GpioBuzzer(gpio.buzzer, pin_factory))
    if gpio.light is not None:
        with gpio_errors("gpio.light.pins"):
            outputs.append(CounterLight(gpio.light, pin_factory))
    return outputs
