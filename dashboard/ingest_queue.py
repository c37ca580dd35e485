"""The ingest's hand-over from the network thread to the writer: bounded in messages and in
bytes, counting a batch until the writer is done with it, so a slow database costs a known
amount of memory whatever the payload sizes.

The writer is woken by the first item and by a full batch, not by every item in between: at
tens of thousands of messages a second, a wake-up per message cost the ingest more than
storing it.

A share of the room is kept for priority items (the ingest's QoS 1 messages, of which the
broker sends no more than the connection's Receive Maximum unacknowledged): they always fit,
so the network thread never blocks on them; other items wait for the rest of the room.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class BoundedQueue(Generic[T]):
    """Items with their sizes; ``put`` waits for room, ``take`` hands out a batch, ``done``
    frees its room."""

    def __init__(
        self, max_items: int, max_bytes: int, reserved_items: int = 0, reserved_bytes: int = 0
    ) -> None:
        if not (0 <= reserved_items < max_items and 0 <= reserved_bytes < max_bytes):
            raise ValueError("the reserve must be smaller than the queue's bounds")
        self._max = (max_items, max_bytes)
        self._reserved = (reserved_items, reserved_bytes)
        self._items: deque[tuple[T, int]] = deque()
        self._held_items = self._held_bytes = 0  # queued plus taken and not yet done
        self._closed = False
        self._wanted = 1  # items that make the writer's take worth waking it for
        self._changed = threading.Condition()

    @property
    def held(self) -> tuple[int, int]:
        """Messages and bytes held: queued, or taken by the writer and not yet done."""
        return self._held_items, self._held_bytes

    @property
    def queued(self) -> int:
        """Messages waiting for the writer."""
        return len(self._items)

    def put(self, item: T, size: int, timeout_s: float, priority: bool = False) -> bool:
        """Queue ``item`` once there is room (a priority item may use the reserve); False
        when none came within ``timeout_s`` or the queue is closed."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while not self._closed and not self._fits(size, priority):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            if self._closed:
                return False
            self._items.append((item, size))
            self._held_items += 1
            self._held_bytes += size
            if len(self._items) in (1, self._wanted):
                self._changed.notify_all()
            return True

    def put_all(self, items: list[tuple[T, int]], priority: bool = False) -> bool:
        """Queue all of ``items`` (with their sizes) if they fit now, else none; never
        waits. False: none queued (the queue is closed, or they do not all fit)."""
        size = sum(one for _, one in items)
        with self._changed:
            if self._closed or not self._fits(size, priority, len(items)):
                return False
            before = len(self._items)
            self._items.extend(items)
            self._held_items += len(items)
            self._held_bytes += size
            if before == 0 or before < self._wanted <= len(self._items):
                self._changed.notify_all()
            return True

    def _fits(self, size: int, priority: bool, count: int = 1) -> bool:
        if self._held_items == 0 and count == 1:
            return True  # one item always fits, whatever its size
        keep_items, keep_bytes = (0, 0) if priority else self._reserved
        return (
            self._held_items + count <= self._max[0] - keep_items
            and self._held_bytes + size <= self._max[1] - keep_bytes
        )

    def take(self, most: int, linger_s: float) -> list[tuple[T, int]] | None:
        """Wait for an item, then up to ``most`` that arrive within ``linger_s``; None once
        the queue is closed and empty."""
        with self._changed:
            while not self._items and not self._closed:
                self._changed.wait()
            if not self._items:
                return None
            deadline = time.monotonic() + linger_s
            self._wanted = most
            while len(self._items) < most and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            self._wanted = 1
            return [self._items.popleft() for _ in range(min(most, len(self._items)))]

    def done(self, batch: list[tuple[T, int]]) -> None:
        """The writer is done with a batch: its room is free again."""
        with self._changed:
            self._held_items -= len(batch)
            self._held_bytes -= sum(size for _, size in batch)
            self._changed.notify_all()

    def close(self) -> None:
        """No more items; ``take`` returns what is left, then None."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
