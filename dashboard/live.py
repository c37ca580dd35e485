"""Live updates for open pages: the ingest thread posts, each page's stream awaits.

Every browser stream has its own small queue; a page too slow to keep up loses its oldest
updates (it reloads figures on its own), never the ingest."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from edge.contract import CueCommand

QUEUE = 256


@dataclass(frozen=True)
class Update:
    """One message for pages: ``kind`` names the SSE event, ``data`` is its JSON body."""

    kind: str
    data: dict[str, Any]
    device: str | None = None  # staff streams see only their own device's updates


@dataclass
class _Listener:
    queue: asyncio.Queue[Update]
    device: str | None
    loop: asyncio.AbstractEventLoop


@dataclass
class LiveHub:
    """Fans updates out to every open stream, and keeps the cues still pending per device."""

    _by_id: dict[int, _Listener] = field(default_factory=dict)
    _pending: dict[str, CueCommand] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

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

    def cue(self, command: CueCommand) -> None:
        """A cue command for a device: remembered until it expires or is resolved."""
        with self._lock:
            self._pending[f"{command.cue_id}/{command.device}"] = command
        self.post(Update("cue", _cue_body(command), device=command.device))

    def resolved(self, cue_id: str, outcome: str) -> None:
        """A cue was acknowledged or its customer left: every device drops it."""
        with self._lock:
            gone = [key for key in self._pending if key.startswith(f"{cue_id}/")]
            devices = {self._pending.pop(key).device for key in gone}
        for device in devices:
            self.post(Update("resolved", {"cue_id": cue_id, "outcome": outcome}, device=device))

    def pending(self, device: str) -> list[dict[str, Any]]:
        """The cues still open and unexpired for a device (what a reconnecting page shows)."""
        now = time.time()
        with self._lock:
            for key in [k for k, c in self._pending.items() if c.expires_at.timestamp() < now]:
                del self._pending[key]
            return [_cue_body(c) for c in self._pending.values() if c.device == device]

    async def stream(self, device: str | None = None) -> AsyncIterator[Update]:
        """Updates for one page until it goes away (``device``: a staff page)."""
        listener = _Listener(asyncio.Queue(QUEUE), device, asyncio.get_running_loop())
        key = id(listener)
        with self._lock:
            self._by_id[key] = listener
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


def _offer(queue: asyncio.Queue[Update], update: Update) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(update)


def _cue_body(command: CueCommand) -> dict[str, Any]:
    return command.model_dump(mode="json")
