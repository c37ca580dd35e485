"""The ingest queue hands the writer a full batch as soon as it is there, and what came within
the linger otherwise (the writer is woken by the first item and by a full batch only)."""

from __future__ import annotations

import threading

from dashboard.ingest_queue import BoundedQueue

GUARD_S = 20.0  # guards a hung test only
FOREVER_S = 3600.0


def take_in_thread(queue: BoundedQueue[int], most: int, linger_s: float) -> list[int]:
    taken: list[int] = []
    taker = threading.Thread(
        target=lambda: taken.extend(item for item, _ in queue.take(most, linger_s) or [])
    )
    taker.start()
    taker.join(GUARD_S)
    assert not taker.is_alive(), "take() waited out its linger with a full batch queued"
    return taken


def test_a_full_batch_is_handed_over_without_waiting_out_the_linger() -> None:
    queue: BoundedQueue[int] = BoundedQueue(100, 1 << 20)
    for n in range(3):
        queue.put(n, 10, GUARD_S)
    putter = threading.Timer(0.05, lambda: [queue.put(n, 10, GUARD_S) for n in range(3, 10)])
    putter.start()
    assert take_in_thread(queue, 10, FOREVER_S) == list(range(10))
    putter.join()


def test_fewer_items_than_a_batch_leave_after_the_linger() -> None:
    queue: BoundedQueue[int] = BoundedQueue(100, 1 << 20)
    for n in range(3):
        queue.put(n, 10, GUARD_S)
    assert take_in_thread(queue, 10, 0.05) == [0, 1, 2]
    assert queue.held == (3, 30)  # until the writer is done with them
