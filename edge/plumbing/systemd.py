"""sd_notify: what a service tells systemd (``READY=1``, ``WATCHDOG=1``, ``STOPPING=1``).

Under a ``Type=notify`` unit systemd names its socket in ``NOTIFY_SOCKET`` and, with
``WatchdogSec=``, the watchdog period in ``WATCHDOG_USEC``; without ``NOTIFY_SOCKET`` nothing
is sent.
"""

from __future__ import annotations

import os

import sdnotify


class Notifier:
    """sd_notify messages, and how often the watchdog wants a ping (None: no watchdog)."""

    def __init__(self) -> None:
        env = os.environ  # sdnotify reads NOTIFY_SOCKET from it too
        self._notifier = sdnotify.SystemdNotifier()  # no socket, sends nothing: outside systemd
        if self._notifier.socket is not None:
            self._notifier.socket.setblocking(False)  # a slow reader never holds us up
        usec = env.get("WATCHDOG_USEC", "")
        ours = env.get("WATCHDOG_PID", str(os.getpid())) == str(os.getpid())
        self.ping_s = int(usec) / 2e6 if usec.isdigit() and ours and self._notifier.socket else None

    def send(self, state: str) -> None:
        """Send ``READY=1``, ``WATCHDOG=1``, ``STOPPING=1``... (nothing outside systemd)."""
        self._notifier.notify(state)
