"""Perception: one frame through detector -> tracker -> ranging, wired and nothing more.

Each stage keeps its own state; this class only passes one stage's output to the next (with
the strong boxes' appearance for the tracker, which needs the frame's pixels) and tells the
ranging stage which tracks ended. Ranging takes the detector's own box of the frame
(NaN for a coasting track, which it then predicts), so no box is smoothed twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from edge.config import Config
from edge.perception.detections import Detections
from edge.perception.detectors import Detector, PersonDetector, create_detector
from edge.perception.detectors.tiled import TiledDetector
from edge.perception.geometry.camera import Camera
from edge.perception.geometry.ranging import Ranger, RangeResult
from edge.perception.sources import Frame
from edge.perception.tiling import tiled_detector
from edge.perception.tracking.appearance import F32, describe_strong
from edge.perception.tracking.tracker import Tracker, Tracks

Lap = Callable[[str], None]


def _no_lap(stage: str) -> None:
    """No timing."""


def tracking_detector(
    config: Config, model: str | None = None, threads: int | None = None
) -> TiledDetector[Detector]:
    """The configured detector on the configured tiles, run down to ``tracker.low_score`` so
    the tracker's second, low-score association stage has boxes to work with."""
    detector = create_detector(
        model or config.detector.model,
        threads=threads or config.detector.threads,
        score=config.tracker.low_score,
        nms_iou=config.detector.nms_iou,
        spin=config.detector.spin,
    )
    return tiled_detector(config, detector)


@dataclass(frozen=True, slots=True)
class Perceived:
    """One frame's people: their tracks and, row for row, their ranging."""

    frame: Frame
    tracks: Tracks
    ranges: RangeResult


class Perception:
    """Detect, track and range people frame by frame for one calibrated camera."""

    def __init__(self, detector: PersonDetector, camera: Camera, config: Config) -> None:
        self.detector = detector
        self.tracker = Tracker(config.tracker)
        self.ranger = Ranger.from_config(config, camera)

    def __call__(self, frame: Frame, lap: Lap = _no_lap) -> Perceived:
        """One frame's people; ``lap(stage)`` is called as each stage finishes (for timing)."""
        detections = self.detector.detect(frame.image)
        lap("detect")
        return self.track(frame, detections, lap)

    def track(self, frame: Frame, detections: Detections, lap: Lap = _no_lap) -> Perceived:
        """Track and range the frame's detections (when detection ran elsewhere)."""
        tracks = self.tracker.update(detections, frame.t, self._appearance(frame, detections))
        lap("track")
        self.ranger.end(tracks.ended.tolist())
        height, width = frame.image.shape[:2]
        ranges = self.ranger.update(tracks.ids, tracks.observed, frame.t, (width, height))
        lap("range")
        return Perceived(frame, tracks, ranges)

    def _appearance(self, frame: Frame, detections: Detections) -> F32 | None:
        """The strong boxes' appearance, for the tracker's re-link (None: re-link is off)."""
        cfg = self.tracker.config
        if cfg.relink_similarity <= 0:
            return None
        return describe_strong(frame.image, detections.xyxy, detections.scores, cfg.high_score)
