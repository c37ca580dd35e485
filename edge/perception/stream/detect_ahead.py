"""Detection on its own thread, one frame ahead of the rest of the loop.

ONNX Runtime releases the GIL while it infers, so on a box with two or more cores (a Pi 4 has
four) the detector can work on frame N+1 while the frame loop tracks, ranges and cues frame
N: the loop then runs at the detector's rate, not at detector + everything else. A frame's own
latency is unchanged (it is detected as soon as it is read, and handed on at once). The camera
is read on this thread too, so a camera that is down never holds up the loop: without frames
the thread hands on an empty turn every ``POLL_S``.

The thread reads the next frame only once the loop has taken the last one (a ``Handover``), so
exactly one frame is ever ahead of the loop: a live camera's frame is read as late as it can be
(the freshest picture), and no more frames are held than the overlap needs.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass

from edge.perception.detections import Detections
from edge.perception.detectors import PersonDetector
from edge.perception.sources import Frame
from edge.perception.sources.handover import Handover
from edge.perception.stream.camera_feed import POLL_S, CameraFeed

log = logging.getLogger(__name__)

JOIN_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class Detected:
    """A frame and its detections, with the seconds spent waiting for it and detecting."""

    frame: Frame
    detections: Detections
    capture_s: float
    detect_s: float


class _End:
    """The file ended."""


_Item = Detected | BaseException | _End | None


class DetectAhead:
    """Reads ``feed`` and runs ``detector`` on a thread; ``next()`` hands the results on."""

    def __init__(self, feed: CameraFeed, detector: PersonDetector) -> None:
        self._feed = feed
        self._detector = detector
        self._stop = threading.Event()
        self._items: Handover[_Item] = Handover(self._stop, POLL_S)
        self.ended = False
        self._thread = threading.Thread(target=self._run, name="greetcue-detect", daemon=True)
        self._thread.start()

    def next(self) -> Detected | None:
        """The next detected frame, or None for a turn without one (camera down, or waiting);
        an error of the camera or detector is raised here, in the loop's thread."""
        try:
            item = self._items.take(timeout=2 * POLL_S)
        except queue.Empty:
            return None
        if isinstance(item, _End):
            self.ended = True
            return None
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        """Stop the thread, then release the camera."""
        self._stop.set()
        self._thread.join(JOIN_TIMEOUT_S)
        if self._thread.is_alive():
            log.warning("detection thread still busy after %.0f s; leaving it", JOIN_TIMEOUT_S)
        self._feed.close()

    def _run(self) -> None:
        try:
            self._items.produce(self._step, lambda item: isinstance(item, _End))
        except BaseException as exc:  # handed to the loop, never lost in this thread
            self._items.put(exc)

    def _step(self) -> _Item:
        start = time.perf_counter()
        frame = self._feed.next_frame()
        if frame is None:
            return _End() if self._feed.ended else None
        read = time.perf_counter()
        detections = self._detector.detect(frame.image)
        return Detected(frame, detections, read - start, time.perf_counter() - read)
