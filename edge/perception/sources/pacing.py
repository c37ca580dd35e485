"""Pacer: replays a file at its own speed, as a camera would deliver it."""

from __future__ import annotations

import time
from collections.abc import Callable


class Pacer:
    """Holds each frame back until its media time has passed since the first frame.

    Every due time is measured from one fixed anchor, so a late frame never pushes the ones
    after it back (no drift accumulates); frames that are already late are not delayed.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._anchor: float | None = None

    def wait(self, t: float) -> None:
        """Return when media time ``t`` (seconds) is due; the first call sets the anchor."""
        now = self._clock()
        if self._anchor is None:
            self._anchor = now - t
            return
        delay = self._anchor + t - now
        if delay > 0:
            self._sleep(delay)
