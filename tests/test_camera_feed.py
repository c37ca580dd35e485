"""The service's camera: a camera that is down at start, or stops, never ends the service."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from edge.perception.sources import LiveSource, SourceError
from edge.service.camera_feed import CameraFeed
from tests.fake_camera import WAIT_S, Factory, FakeCamera


def feed_for(factory: Factory, changes: list[bool], stall_s: float = 0.3) -> CameraFeed:
    def opener() -> LiveSource:
        return LiveSource(0, "fake camera", factory, reconnect_initial_s=0.05, reconnect_max_s=0.05)

    return CameraFeed(opener, True, "fake camera", stall_s, 1.0, changes.append)


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
    feed = feed_for(factory, changes)
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
