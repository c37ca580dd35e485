"""Rate-limited reporting: a flood of refused messages writes one log line per interval (the
edge and the dashboard alike)."""

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


class LogThrottles:
    """One :class:`LogThrottle` per key (a refusal kind, a topic); a flood of distinct keys
    from a misbehaving client forgets them all past ``max_keys`` rather than growing."""

    def __init__(
        self, interval_s: float = 10.0, max_keys: int = 1000, clock: Clock = time.monotonic
    ) -> None:
        self._interval_s, self._max_keys, self._clock = interval_s, max_keys, clock
        self._by_key: dict[str, LogThrottle] = {}

    def ready(self, key: str) -> int | None:
        """As :meth:`LogThrottle.ready`, for this key."""
        throttle = self._by_key.get(key)
        if throttle is None:
            if len(self._by_key) >= self._max_keys:
                self._by_key.clear()
            throttle = self._by_key[key] = LogThrottle(self._interval_s, self._clock)
        return throttle.ready()
