"""Perception: one frame through detector -> tracker -> ranging, wired and nothing more.

:class:`Sight` takes from a frame's pixels all that the later stages need (the detector's
boxes and the strong boxes' appearance), so the pixels can go as soon as a frame is sighted.
:class:`Perception` then passes one stage's output to the next and tells the ranging stage
which tracks ended. Each stage keeps its own state. Ranging takes the detector's own box of
the frame (NaN for a coasting track, which it then predicts), so no box is smoothed twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from edge.config import Config, TrackerConfig
from edge.perception.detections import Detections
from edge.perception.detectors import Detector, PersonDetector, create_detector
from edge.perception.detectors.tiled import TiledDetector
from edge.perception.geometry.camera import Camera
from edge.perception.geometry.ranging import Ranger, RangeResult
from edge.perception.sources import Frame, FrameInfo
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
class Sighting:
    """All that tracking needs of a frame's pixels, taken from them: the detections and the
    strong boxes' appearance (None: re-link is off). Once a frame is sighted its pixels can go,
    so the service's loop, handed sightings by its detection thread, never holds an image."""

    frame: FrameInfo
    detections: Detections
    appearance: F32 | None


class Sight:
    """A frame's pixels to its :class:`Sighting`: the detector's boxes (unless given), then the
    appearance of the strong ones, for the tracker's re-link."""

    def __init__(self, detector: PersonDetector, tracker: TrackerConfig) -> None:
        self.detector = detector
        self._tracker = tracker

    def __call__(
        self, frame: Frame, detections: Detections | None = None, lap: Lap = _no_lap
    ) -> Sighting:
        """``frame`` sighted; ``detections``: its boxes found elsewhere (None: detect here,
        then ``lap("detect")``)."""
        if detections is None:
            detections = self.detector.detect(frame.image)
            lap("detect")
        cfg, appearance = self._tracker, None
        if cfg.relink_similarity > 0:
            xyxy, scores = detections.xyxy, detections.scores
            appearance = describe_strong(frame.image, xyxy, scores, cfg.high_score)
        return Sighting(frame.info, detections, appearance)


@dataclass(frozen=True, slots=True)
class Perceived:
    """One frame's people: their tracks and, row for row, their ranging."""

    frame: FrameInfo
    tracks: Tracks
    ranges: RangeResult


class Perception:
    """Track and range the people of one calibrated camera, sighting by sighting."""

    def __init__(self, camera: Camera, config: Config) -> None:
        self.tracker = Tracker(config.tracker)
        self.ranger = Ranger.from_config(config, camera)

    def __call__(self, sighting: Sighting, lap: Lap = _no_lap) -> Perceived:
        """The sighting's people; ``lap(stage)`` is called as each stage finishes (for timing)."""
        frame = sighting.frame
        tracks = self.tracker.update(sighting.detections, frame.t, sighting.appearance)
        lap("track")
        self.ranger.end(tracks.ended.tolist())
        ranges = self.ranger.update(tracks.ids, tracks.observed, frame.t, frame.size)
        lap("range")
        return Perceived(frame, tracks, ranges)
