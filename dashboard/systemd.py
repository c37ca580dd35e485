"""What systemd hears from the dashboard (sd_notify): ready, alive while healthy, stopping.

Under a ``Type=notify`` unit systemd names its socket in ``NOTIFY_SOCKET`` and, with
``WatchdogSec=``, the watchdog period in ``WATCHDOG_USEC``; without ``NOTIFY_SOCKET`` nothing
here sends anything. The web server says READY=1 once it listens and pings from its own event
loop (uvicorn's tick), so a blocked loop stops the pings; so does a dead ingest writer thread.
An ingest worker sends the same messages through a ``Notifier`` of its own
(``edge.plumbing.systemd``).
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from edge.plumbing.systemd import Notifier

TICK_S = 0.1  # uvicorn's main loop calls on_tick this often


class NotifyingServer(uvicorn.Server):
    """uvicorn's server, telling systemd when it listens, that it lives, and when it stops."""

    def __init__(self, config: uvicorn.Config, healthy: Callable[[], bool]) -> None:
        super().__init__(config)
        self._healthy = healthy
        self._systemd = Notifier()
        ping_s = self._systemd.ping_s
        self._ping_ticks = None if ping_s is None else max(1, int(ping_s / TICK_S))

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._systemd.send("READY=1")

    async def on_tick(self, counter: int) -> bool:
        ticks = self._ping_ticks
        if ticks is not None and counter % ticks == 0 and self._healthy():
            self._systemd.send("WATCHDOG=1")
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._systemd.send("STOPPING=1")
        await super().shutdown(sockets)


class PortInUseError(RuntimeError):
    """The dashboard's listen port is taken; the message names the port, the key and the fix."""


def listen_socket(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port``; ``PortInUseError`` when another program has it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto TCP, as asyncio's own sockets have: only then does it set TCP_NODELAY on each
    # connection (with proto 0 every answer waited ~40 ms for the client's delayed ACK)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(socket.SOMAXCONN)
        return sock
    except OSError as exc:
        sock.close()
        if exc.errno != errno.EADDRINUSE:
            raise
        raise PortInUseError(
            f"port {port} on {host} is already in use (another dashboard or program listens "
            "there); stop that program, or set listen.port in the dashboard's YAML file (or "
            "pass --port) to a free port"
        ) from None


def serve_app(app: FastAPI, host: str, port: int, healthy: Callable[[], bool]) -> None:
    """Run ``app`` on ``host:port`` until SIGTERM or Ctrl-C, talking to systemd; HTTPS when
    its settings give ``listen.tls_cert`` and ``tls_key``."""
    listen = app.state.settings.listen
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        ssl_certfile=listen.tls_cert,
        ssl_keyfile=listen.tls_key,
    )
    NotifyingServer(config, healthy).run(sockets=[listen_socket(host, port)])
