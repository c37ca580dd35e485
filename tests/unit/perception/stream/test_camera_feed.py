"""The service's camera: a camera that is down at start, or stops, never ends the service."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edge.perception.sources import LiveSource, SourceError
from edge.perception.stream.camera_feed import CameraFeed
from tests.support.fake_camera import WAIT_S, Factory, FakeCamera

CALL_BOUND_S = 1.0  # generous: next_frame waits at most POLL_S (0.2 s); not a speed target


def live_opener(factory: Factory) -> Callable[[], LiveSource]:
    def opener() -> LiveSource:
        return LiveSource(0, "fake camera", factory, reconnect_initial_s=0.05, reconnect_max_s=0.05)

    return opener


def feed_for(
    factory: Factory, changes: list[bool], stall_s: float = 0.3, retry_max_s: float = 1.0
) -> CameraFeed:
    return CameraFeed(
        live_opener(factory), True, "fake camera", stall_s, retry_max_s, changes.append
    )


def longest_call_until(feed: CameraFeed, done: Callable[[], bool]) -> float:
    """Call ``next_frame`` until ``done()``; the longest any call took."""
    longest = 0.0
    deadline = time.monotonic() + WAIT_S
    while not done():
        assert time.monotonic() < deadline, "gave up waiting"
        start = time.monotonic()
        feed.next_frame()
        longest = max(longest, time.monotonic() - start)
    return longest


def frames_until(feed: CameraFeed, count: int) -> list[float]:
    times: list[float] = []
    deadline = time.monotonic() + WAIT_S
    while len(times) < count and time.monotonic() < deadline:
        frame = feed.next_frame()
        if frame is not None:
            times.append(frame.t)
    return times


def test_a_camera_down_at_start_is_retried_until_it_comes() -> None:
    factory = Factory(FakeCamera(1, opened=False), FakeCamera(2, opened=False), FakeCamera(3))
    changes: list[bool] = []
    feed = feed_for(factory, changes, retry_max_s=0.1)  # retried every 0.1 s, not 0.5 then 1
    try:
        assert frames_until(feed, 3), "the third camera opened and gave frames"
        assert len(factory.targets) == 3
        assert changes == [True]
    finally:
        feed.close()


def test_a_camera_that_stops_goes_offline_and_comes_back_with_times_still_rising() -> None:
    stopping = FakeCamera(1, frames=5, gated=True)
    stopping.allow(1)  # the first frame, read as the source opens
    factory = Factory(stopping, *[FakeCamera(-1, opened=False)] * 8, FakeCamera(2))
    changes: list[bool] = []
    feed = feed_for(factory, changes, stall_s=0.2)
    try:
        before = frames_until(feed, 1)
        stopping.allow(10)  # four more frames, then the stream is lost
        deadline = time.monotonic() + WAIT_S
        while feed.online and time.monotonic() < deadline:
            feed.next_frame()
        assert not feed.online
        after = frames_until(feed, 3)
        assert after, "frames came again from the camera that came back"
        assert changes[:3] == [True, False, True]
        times = before + after
        assert times == sorted(times), "frame times never go backwards across a reconnect"
    finally:
        feed.close()


def test_a_missing_file_is_an_error_not_a_camera_to_wait_for(tmp_path: Path) -> None:
    feed = CameraFeed.for_spec(str(tmp_path / "nope.mp4"), False, 1.0, 1.0)
    with pytest.raises(SourceError, match="no such file"):
        feed.next_frame()


def test_a_file_ends(footage_dir: Path) -> None:
    feed = CameraFeed.for_spec(str(footage_dir / "intel" / "people-detection.gif"), False, 1, 1)
    count = 0
    while not feed.ended:
        count += feed.next_frame() is not None
    feed.close()
    assert count == 23


def turns_while_blocked(feed: CameraFeed, blocked: threading.Event, turns: int = 3) -> float:
    """Turns the loop until the open is under way, then ``turns`` more; the longest call."""
    longest = longest_call_until(feed, blocked.is_set)
    more = iter(range(turns))
    return max(longest, longest_call_until(feed, lambda: next(more, None) is None))


def test_a_slow_open_does_not_block_the_loop_and_the_camera_comes_online() -> None:
    open_live = live_opener(Factory(FakeCamera(1)))
    opening, release = threading.Event(), threading.Event()

    def slow_opener() -> LiveSource:  # as slow as the test says: an unreachable RTSP host
        opening.set()
        release.wait(WAIT_S)
        return open_live()

    changes: list[bool] = []
    feed = CameraFeed(slow_opener, True, "fake camera", 0.3, 1.0, changes.append)
    try:
        longest = turns_while_blocked(feed, opening)
        assert not feed.online and changes == [], "still opening"
        release.set()
        longest = max(longest, longest_call_until(feed, lambda: feed.online))
        assert longest < CALL_BOUND_S
        assert changes == [True]
        assert frames_until(feed, 2), "frames keep coming from the slowly opened camera"
    finally:
        feed.close()


def test_a_slow_failed_open_is_retried_with_back_off_without_blocking_the_loop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    attempts: list[float] = []
    open_live = live_opener(Factory(FakeCamera(1)))
    failing, release = threading.Event(), threading.Event()

    def opener() -> LiveSource:
        attempts.append(time.monotonic())
        if len(attempts) == 1:
            failing.set()
            release.wait(WAIT_S)
            raise SourceError("host unreachable")
        return open_live()

    changes: list[bool] = []
    feed = CameraFeed(opener, True, "fake camera", 0.3, 1.0, changes.append)
    caplog.set_level(logging.INFO, logger="edge.perception.stream.camera_feed")
    try:
        longest = turns_while_blocked(feed, failing)
        failed_at = time.monotonic()
        release.set()
        longest = max(longest, longest_call_until(feed, lambda: feed.online))
        assert longest < CALL_BOUND_S
        assert len(attempts) == 2 and attempts[1] - failed_at >= 0.5 * 0.9, "backed off 0.5 s"
        assert changes == [True]
        assert "camera fake camera is offline (host unreachable); retry 1 in 0.5 s" in caplog.text
        assert "camera fake camera opened after 1 retries" in caplog.text
    finally:
        feed.close()


def test_close_during_a_slow_open_returns_at_once_and_the_late_source_is_closed() -> None:
    camera = FakeCamera(1)
    open_live = live_opener(Factory(camera))
    started, release = threading.Event(), threading.Event()

    def blocked_opener() -> LiveSource:
        started.set()
        release.wait(WAIT_S)
        return open_live()

    feed = CameraFeed(blocked_opener, True, "fake camera", 0.3, 1.0)
    assert feed.next_frame() is None
    assert started.wait(WAIT_S)
    start = time.monotonic()
    feed.close()
    assert time.monotonic() - start < CALL_BOUND_S
    assert feed.next_frame() is None and not feed.online, "a closed feed opens nothing"
    release.set()
    deadline = time.monotonic() + WAIT_S
    while not camera.released and time.monotonic() < deadline:
        time.sleep(0.01)
    assert camera.released, "the source that opened after close() was closed by its thread"
