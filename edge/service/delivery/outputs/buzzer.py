"""A buzzer or vibration motor on a GPIO pin, buzzing the cued zone's pattern."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from edge.config import BuzzerConfig
from edge.contract import CueCommand
from edge.service.delivery.outputs.base import CueOutput

# A zone the patterns table does not name still buzzes: one short pulse.
FALLBACK_PATTERN = (0.2,)


class GpioBuzzer(CueOutput):
    """Plays the zone's (or ``waiting``) on, off, on, ... pattern for cues to its device.

    The pattern plays on a thread of its own, so ``cue`` returns at once; a new cue while a
    pattern plays stops it and starts the new one: patterns never stack into one long buzz.
    """

    def __init__(self, config: BuzzerConfig, pin_factory: Any = None) -> None:
        self.device = config.device
        from gpiozero import Buzzer  # loaded only on a box with a buzzer configured

        self._patterns = {name: tuple(p) for name, p in config.patterns.items()}
        self._buzzer = Buzzer(
            config.pin, active_high=config.active_high, initial_value=False, pin_factory=pin_factory
        )
        self._stop = threading.Event()
        self._player: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        """Whether a pattern is playing now."""
        return self._player is not None and self._player.is_alive()

    def cue(self, command: CueCommand) -> None:
        """Restart the buzzer with this cue's pattern, if the cue is for this device."""
        if command.device != self.device:
            return
        key = "waiting" if command.reason == "waiting" else command.zone
        self._halt()
        self._stop = threading.Event()
        self._player = threading.Thread(
            target=self._play,
            args=(self._patterns.get(key, FALLBACK_PATTERN), self._stop),
            name=f"buzzer-{self.device}",
            daemon=True,
        )
        self._player.start()

    def close(self) -> None:
        """Stop any pattern and release the pin."""
        self._halt()
        self._buzzer.close()

    def _halt(self) -> None:
        # Returns at once: the player sleeps on the event, so it wakes, turns off and ends.
        self._stop.set()
        if self._player is not None:
            self._player.join()
            self._player = None

    def _play(self, pattern: Sequence[float], stop: threading.Event) -> None:
        for step, seconds in enumerate(pattern):
            self._buzzer.value = step % 2 == 0
            if stop.wait(seconds):
                break
        self._buzzer.off()
