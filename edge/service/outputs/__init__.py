"""Where cues go: a GPIO buzzer, the counter light, devices on MQTT, the log; one class each."""

from edge.service.outputs.base import CueOutput
from edge.service.outputs.buzzer import GpioBuzzer
from edge.service.outputs.device import DeviceCue
from edge.service.outputs.gpio import GpioError, build_outputs, gpio_errors, open_pin_factory
from edge.service.outputs.light import CounterLight
from edge.service.outputs.log import LogOutput

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
