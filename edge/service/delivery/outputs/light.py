"""The counter light: an LED or RGB LED showing the nearest occupied zone."""

from __future__ import annotations

from typing import Any

from edge.config import LightConfig
from edge.contract import CueCommand
from edge.service.delivery.outputs.base import CueOutput

# A zone the colours table does not name still lights: white.
FALLBACK_COLOUR = (1.0, 1.0, 1.0)


class CounterLight(CueOutput):
    """Lights the nearest occupied zone's colour (a one-pin LED: on for any zone), off when
    nobody is in any zone: staff glancing at the counter see who is coming and how close."""

    def __init__(self, config: LightConfig, pin_factory: Any = None) -> None:
        from gpiozero import LED, RGBLED  # loaded only on a box with a light configured

        self._colours = dict(config.colours)
        self._rgb = len(config.pins) == 3
        if self._rgb:
            self._led = RGBLED(
                *config.pins, active_high=config.active_high, pin_factory=pin_factory
            )
        else:
            self._led = LED(config.pins[0], active_high=config.active_high, pin_factory=pin_factory)
        self._shown: str | None = None

    def cue(self, command: CueCommand) -> None:
        """Nothing: the light follows where people are (``show``), not cues."""

    def show(self, nearest_zone: str | None) -> None:
        """Light the zone's colour, or turn off; called every frame, so only changes act."""
        if nearest_zone == self._shown:
            return
        self._shown = nearest_zone
        if nearest_zone is None:
            self._led.off()
        elif self._rgb:
            self._led.color = self._colours.get(nearest_zone, FALLBACK_COLOUR)
        else:
            self._led.on()

    def close(self) -> None:
        """Turn off and release the pins."""
        self._led.close()
