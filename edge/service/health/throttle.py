"""Rate-limited reporting: a flood of refused messages writes one log line per interval."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]


class LogThrottle:
    """At most one report per ``interval_s``; says how many were held back in between."""

    def __init__(self, interval_s: float = 10.0, clock: Clock = time.monotonic) -> None:
        self._interval_s, self._clock = interval_s, clock
        self._next = float("-inf")
        self._held = 0

    def ready(self) -> int | None:
        """None while quiet; else the number of reports held back since the last one."""
        now = self._clock()
        if now < self._next:
            self._held += 1
            return None
        self._next = now + self._interval_s
        held, self._held = self._held, 0
        return held

    @staticmethod
    def since(held: int) -> str:
        """`` (N more since the last report)`` for a log line, or nothing."""
        return f" ({held} more since the last report)" if held else ""
