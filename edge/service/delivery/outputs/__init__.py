"""Where cues go: a GPIO buzzer, the counter light, devices on MQTT, the log; one class each."""

from edge.service.delivery.outputs.base import CueOutput
from edge.service.delivery.outputs.buzzer import GpioBuzzer
from edge.service.delivery.outputs.device import DeviceCue
from edge.service.delivery.outputs.gpio import (
    GpioError,
    build_outputs,
    gpio_errors,
    open_pin_factory,
)
from edge.service.delivery.outputs.light import CounterLight
from edge.service.delivery.outputs.log import LogOutput

__all__ = [
    "CounterLight",
    "CueOutput",
    "DeviceCue",
    "GpioBuzzer",
    "GpioError",
    "LogOutput",
    "build_outputs",
    "gpio_errors",
    "open_pin_factory",
]
