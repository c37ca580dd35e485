"""What systemd hears from the edge service (sd_notify): ready, alive while healthy, stopping.

Under a ``Type=notify`` unit systemd names its socket in ``NOTIFY_SOCKET`` and, with
``WatchdogSec=``, the watchdog period in ``WATCHDOG_USEC``; without ``NOTIFY_SOCKET`` nothing
here does anything. The loop reports each of its turns: ``WATCHDOG=1`` goes out at most every
half period, and only while the service is healthy, i.e. a frame was processed since the last
ping, or the camera is reported offline (the feed retries it by itself; a restart would not
bring it back sooner). A detector stuck inside one inference, or a loop that stopped turning,
sends nothing, and systemd restarts the service.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from edge.plumbing.systemd import Notifier


class ServiceNotifier:
    """sd_notify for one run of the edge service."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._notifier = Notifier()
        self.ping_s = self._notifier.ping_s
        self._clock = clock
        self._next_ping = clock()
        self._frames_since_ping = False

    def ready(self) -> None:
        """The service runs: its broker link, publisher and camera feed are started."""
        self._send("READY=1")

    def turned(self, frame: bool, camera_online: bool) -> None:
        """One turn of the loop is done (``frame``: it processed one); pings when due."""
        if self.ping_s is None:
            return
        self._frames_since_ping |= frame
        now = self._clock()
        if now < self._next_ping:
            return
        if self._frames_since_ping or not camera_online:
            self._send("WATCHDOG=1")
            self._next_ping = now + self.ping_s
            self._frames_since_ping = False

    def stopping(self) -> None:
        """The service is shutting down (outbox, link and broker are being closed)."""
        self._send("STOPPING=1")

    def _send(self, state: str) -> None:
        self._notifier.send(state)
