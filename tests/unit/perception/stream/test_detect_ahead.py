"""DetectAhead with a fake camera feed and a fake detector: frames handed on in order with their
detections, detection one frame ahead of the loop, errors raised in the loop's thread, the end
of a file, a camera without frames, and a close that never waits on a full hand-over."""

from __future__ import annotations

import sys
import threading
import time
from typing import cast

import numpy as np
import pytest

from edge.perception.detections import Detections
from edge.perception.detectors import Detector
from edge.perception.sources import Frame
from edge.perception.stream.camera_feed import CameraFeed
from edge.perception.stream.detect_ahead import JOIN_TIMEOUT_S, DetectAhead

WAIT_S = 10.0  # guards a hung test only


def frame(index: int) -> Frame:
    """A tiny frame whose first pixel holds its index."""
    image = np.zeros((2, 2, 3), np.uint8)
    image[0, 0, 0] = index
    return Frame(image, index, index / 10, time.monotonic(), time.time())


class FakeFeed:
    """``frames`` frames, then None: ended (a file) or not (a camera that is down)."""

    def __init__(self, frames: int, *, ends: bool = True) -> None:
        self._frames = [frame(i) for i in range(frames)]
        self._ends = ends
        self.ended = False
        self.closed = False

    def next_frame(self) -> Frame | None:
        if self._frames:
            return self._frames.pop(0)
        self.ended = self._ends
        return None

    def close(self) -> None:
        self.closed = True


class FakeDetector:
    """One box per frame whose score is the frame's index / 100; records what it was given
    and signals each frame it starts on; fails on ``fail_on``."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.fail_on = fail_on
        self.seen: list[int] = []
        self.started = {i: threading.Event() for i in range(16)}

    def detect(self, image: np.ndarray) -> Detections:
        index = int(image[0, 0, 0])
        self.seen.append(index)
        self.started[index].set()
        if index == self.fail_on:
            raise RuntimeError(f"detector broke on frame {index}")
        box = np.array([[0, 0, 1, 1]], np.float32)
        return Detections(box, np.array([index / 100], np.float32))


def detect_ahead(feed: FakeFeed, detector: FakeDetector) -> DetectAhead:
    return DetectAhead(cast(CameraFeed, feed), cast(Detector, detector))


def next_detected(ahead: DetectAhead) -> list[int]:
    """Frame indexes handed on until the end of the feed."""
    got: list[int] = []
    deadline = time.monotonic() + WAIT_S
    while not ahead.ended:
        assert time.monotonic() < deadline, "the feed never ended"
        item = ahead.next()
        if item is not None:
            assert item.detections.scores.tolist() == pytest.approx([item.frame.index / 100])
            assert item.capture_s >= 0 and item.detect_s >= 0
            got.append(item.frame.index)
    return got


def test_every_frame_is_handed_on_in_order_with_its_detections_then_the_end() -> None:
    feed, detector = FakeFeed(5), FakeDetector()
    ahead = detect_ahead(feed, detector)
    try:
        assert next_detected(ahead) == [0, 1, 2, 3, 4]
    finally:
        ahead.close()
    assert detector.seen == [0, 1, 2, 3, 4] and feed.closed


def test_the_next_frame_is_detected_while_the_loop_holds_this_one() -> None:
    feed, detector = FakeFeed(3), FakeDetector()
    ahead = detect_ahead(feed, detector)
    try:
        first = ahead.next()
        assert first is not None and first.frame.index == 0
        assert detector.started[1].wait(WAIT_S), "frame 1 is detected before the loop asks"
    finally:
        ahead.close()


def test_a_detector_error_is_raised_in_the_loop_thread() -> None:
    ahead = detect_ahead(FakeFeed(3), FakeDetector(fail_on=1))
    try:
        first = ahead.next()
        assert first is not None and first.frame.index == 0
        with pytest.raises(RuntimeError, match="detector broke on frame 1"):
            while ahead.next() is None:
                pass
    finally:
        ahead.close()


def test_a_camera_without_frames_gives_empty_turns_and_no_end() -> None:
    ahead = detect_ahead(FakeFeed(0, ends=False), FakeDetector())
    try:
        assert ahead.next() is None
        assert not ahead.ended
    finally:
        ahead.close()


class AskedFeed(FakeFeed):
    """A FakeFeed noting, at each read, how many frames the loop had asked for."""

    def __init__(self, frames: int) -> None:
        super().__init__(frames)
        self.asked = 0
        self.asked_at_read: list[int] = []

    def next_frame(self) -> Frame | None:
        self.asked_at_read.append(self.asked)
        return super().next_frame()


def test_a_frame_is_read_only_once_the_loop_has_taken_the_one_before() -> None:
    feed, detector = AskedFeed(6), FakeDetector()
    ahead = detect_ahead(feed, detector)
    try:
        for index in range(6):
            feed.asked += 1
            item = None
            while item is None:
                item = ahead.next()
            assert item.frame.index == index
            if index < 5:  # the loop holds this frame until the next one is being detected
                assert detector.started[index + 1].wait(WAIT_S)
    finally:
        ahead.close()
    # frame i is read once the loop asked for frame i - 1: one frame ahead, never two
    assert feed.asked_at_read[1:6] == [1, 2, 3, 4, 5]


def test_close_returns_though_a_detected_frame_waits_for_a_loop_that_stopped_asking() -> None:
    feed, detector = FakeFeed(3), FakeDetector()
    ahead = detect_ahead(feed, detector)
    assert detector.started[0].wait(WAIT_S)  # frame 0 goes to the hand-over; nobody takes it
    start = time.monotonic()
    ahead.close()
    assert time.monotonic() - start < JOIN_TIMEOUT_S
    assert feed.closed


class HoldingFeed(FakeFeed):
    """A FakeFeed that, before reading frame 1, waits for the loop to let go of frame 0 and
    then counts the references to frame 0's image."""

    def __init__(self) -> None:
        super().__init__(2)
        self.first_image = self._frames[0].image
        self.let_go = threading.Event()
        self.refs_while_reading: int | None = None

    def next_frame(self) -> Frame | None:
        if len(self._frames) == 1:
            assert self.let_go.wait(WAIT_S)
            self.refs_while_reading = sys.getrefcount(self.first_image)
        return super().next_frame()


def test_the_thread_holds_no_frame_it_handed_on_while_it_reads_the_next() -> None:
    feed = HoldingFeed()
    ahead = detect_ahead(feed, FakeDetector())
    try:
        first = ahead.next()
        assert first is not None and first.frame.index == 0
        del first  # the loop's turn is over
        feed.let_go.set()
        assert next_detected(ahead) == [1]
    finally:
        ahead.close()
    # the feed's own reference and getrefcount's argument: frame 0 itself is gone
    assert feed.refs_while_reading == 2, "frame 0 was still held while frame 1 was read"
