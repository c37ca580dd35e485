"""Live updates for open pages: the ingest thread posts, each page's stream awaits.

Every browser stream has its own small queue; a page too slow to keep up loses its oldest
updates (it reloads figures on its own), never the ingest. A staff device is its site and
name: two stores' ``counter`` devices never see or close each other's cues."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from edge.contract import CueCommand

QUEUE = 256


class Pusher(Protocol):
    """Where cues go beside open pages (dashboard/push.py's WebPush)."""

    def cue(self, command: CueCommand) -> None: ...

    def withdraw(self, device: DeviceId, cue_id: str) -> None: ...


class DeviceId(NamedTuple):
    """A staff device: which store, and its name there."""

    site: str
    device: str


@dataclass(frozen=True)
class Update:
    """One message for pages: ``kind`` names the SSE event, ``data`` is its JSON body."""

    kind: str
    data: dict[str, Any]
    device: DeviceId | None = None  # staff streams see only their own device's updates


@dataclass
class _Listener:
    queue: asyncio.Queue[Update]
    device: DeviceId | None
    loop: asyncio.AbstractEventLoop


@dataclass
class LiveHub:
    """Fans updates out to every open stream, and keeps the cues still pending per device."""

    _by_id: dict[int, _Listener] = field(default_factory=dict)
    _pending: dict[tuple[str, DeviceId], CueCommand] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    pusher: Pusher | None = None  # also pushes cues to devices' browsers (Web Push)
    _page_seen: dict[DeviceId, float] = field(default_factory=dict)  # last page connection

    def post(self, update: Update) -> None:
        """Deliver to every matching stream (any thread)."""
        with self._lock:
            listeners = list(self._by_id.values())
        for listener in listeners:
            if update.device is not None and listener.device not in (None, update.device):
                continue
            if listener.device is not None and update.device is None:
                continue
            listener.loop.call_soon_threadsafe(_offer, listener.queue, update)

    def watched(self) -> bool:
        """Whether a page that takes every update (not a staff device's) is open: with none,
        an update for all pages need not even be made."""
        with self._lock:
            return any(listener.device is None for listener in self._by_id.values())

    def cue(self, command: CueCommand) -> None:
        """A cue command for a site's device: remembered until it expires or is resolved."""
        device = DeviceId(command.site, command.device)
        with self._lock:
            self._pending[(str(command.cue_id), device)] = command
        self.post(Update("cue", _cue_body(command), device=device))
        if self.pusher is not None:
            self.pusher.cue(command)

    def resolved(self, site: str, cue_id: str, outcome: str) -> None:
        """A site's cue was acknowledged or its customer left: every device of that site drops
        it (a cue id from another site's event closes nothing here)."""
        with self._lock:
            gone = [key for key in self._pending if key[0] == cue_id and key[1].site == site]
            devices = {key[1] for key in gone}
            for key in gone:
                del self._pending[key]
        for device in devices:
            self.post(Update("resolved", {"cue_id": cue_id, "outcome": outcome}, device=device))
            if self.pusher is not None:
                self.pusher.withdraw(device, cue_id)

    def pending(self, device: DeviceId) -> list[dict[str, Any]]:
        """The cues still open and unexpired for a device (what a reconnecting page shows)."""
        now = time.time()
        with self._lock:
            for key in [k for k, c in self._pending.items() if c.expires_at.timestamp() < now]:
                del self._pending[key]
            return [_cue_body(c) for (_, d), c in self._pending.items() if d == device]

    async def stream(self, device: DeviceId | None = None) -> AsyncGenerator[Update, None]:
        """Updates for one page until it goes away (``device``: a staff page)."""
        listener = _Listener(asyncio.Queue(QUEUE), device, asyncio.get_running_loop())
        key = id(listener)
        with self._lock:
            self._by_id[key] = listener
            if device is not None:
                self._page_seen[device] = time.time()
        try:
            while True:
                yield await listener.queue.get()
        finally:
            with self._lock:
                self._by_id.pop(key, None)

    def listeners(self) -> int:
        """Open streams now."""
        with self._lock:
            return len(self._by_id)

    def pages(self, device: DeviceId) -> tuple[int, float | None]:
        """A device's staff pages open now, and when one last connected (None: never since
        the dashboard started)."""
        with self._lock:
            open_now = sum(1 for listener in self._by_id.values() if listener.device == device)
            return open_now, self._page_seen.get(device)


def _offer(queue: asyncio.Queue[Update], update: Update) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(update)


def _cue_body(command: CueCommand) -> dict[str, Any]:
    return command.model_dump(mode="json")
