"""A one-item hand-over from a producer thread to a consumer that holds no more than it must.

The producer waits for room *before* it makes the next item (decodes a frame, detects one), not
after: so beyond the item the consumer holds, at most one more exists (a 1080p frame is 6 MiB),
and a live camera's frame is read as late as it can be. Used by the file decoder and by the
detection thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Handover(Generic[T]):
    """``produce()`` on the producer's side, ``take()`` on the consumer's."""

    def __init__(self, stop: threading.Event, poll_s: float) -> None:
        self._items: queue.Queue[T] = queue.Queue(maxsize=1)
        self._room = threading.Semaphore(1)  # released each time the consumer takes an item
        self._stop = stop
        self._poll_s = poll_s

    def __len__(self) -> int:
        """Items made and not yet taken (0 or 1)."""
        return self._items.qsize()

    def _wait_for_room(self) -> bool:
        """Wait until the consumer has taken the last item; False once ``stop`` is set."""
        while not self._stop.is_set():
            if self._room.acquire(timeout=self._poll_s):
                return True
        return False

    def produce(self, make: Callable[[], T], last: Callable[[T], bool]) -> None:
        """The producer's loop: make and hand over items until ``last(item)`` or ``stop``.
        No item handed over is held while the next one is made."""
        while self._wait_for_room():
            item = make()
            self.put(item)
            if last(item):
                return
            del item

    def put(self, item: T) -> None:
        """Hand over an item made once there was room (so never blocks): ``produce()``'s, or
        the one a producer hands over when its ``produce()`` raised."""
        self._items.put_nowait(item)

    def take(self, timeout: float | None = None) -> T:
        """The next item, making room for the one after; ``queue.Empty`` after ``timeout``."""
        item = self._items.get(timeout=timeout)
        self._room.release()
        return item
