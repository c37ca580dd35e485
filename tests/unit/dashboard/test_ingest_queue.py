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


def test_a_group_put_all_at_once_wakes_the_writer_with_a_full_batch() -> None:
    queue: BoundedQueue[int] = BoundedQueue(100, 1 << 20)
    queue.put(0, 10, GUARD_S)
    putter = threading.Timer(0.05, lambda: queue.put_all([(n, 10) for n in range(1, 10)]))
    putter.start()
    assert take_in_thread(queue, 10, FOREVER_S) == list(range(10))
    putter.join()


def test_a_group_that_does_not_fit_whole_is_not_queued_at_all() -> None:
    queue: BoundedQueue[int] = BoundedQueue(10, 1000, reserved_items=4, reserved_bytes=100)
    assert queue.put_all([(n, 10) for n in range(6)])  # up to the reserve
    assert not queue.put_all([(6, 10)])  # an ordinary item may not take the reserve
    assert queue.put_all([(6, 10), (7, 10)], priority=True)
    assert not queue.put_all([(n, 10) for n in range(8, 11)], priority=True)  # 11 > 10
    assert not queue.put_all([(8, 950)], priority=True)  # past the bytes
    assert queue.held == (8, 80)
    queue.close()
    assert not queue.put_all([(8, 10)], priority=True)
