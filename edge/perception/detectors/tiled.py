"""A detector run on a frame's tiles: each tile detected, the boxes put back in frame pixels
and merged across seams; the same ``detect(image) -> Detections`` as one detector.

The plan depends only on the frame size, so it is made once per size (the first frame) by
the planner given. A plan of one whole-frame tile runs the detector exactly as without tiling.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import numpy as np

from edge.perception.detections import Detections
from edge.perception.detectors.detector import Image, PersonDetector, check_frame
from edge.perception.detectors.tile_merge import MergeRule, merge_tiles
from edge.perception.detectors.tile_plan import Size, Tile, TilePlan

Planner = Callable[[Size], TilePlan]
D = TypeVar("D", bound=PersonDetector)


class TiledDetector(Generic[D]):
    """Runs ``detector`` on the tiles ``planner`` gives for each frame size."""

    def __init__(self, detector: D, planner: Planner, rule: MergeRule) -> None:
        self.detector = detector
        self._planner = planner
        self._rule = rule
        self._plans: dict[Size, TilePlan] = {}

    def plan(self, frame_size: Size) -> TilePlan:
        """The tiles for frames of ``frame_size`` (width, height), planned once per size."""
        plan = self._plans.get(frame_size)
        if plan is None:
            plan = self._plans[frame_size] = self._planner(frame_size)
        return plan

    def detect(self, image: Image) -> Detections:
        """Person boxes in ``image`` (BGR, uint8, H x W x 3), frame pixels, best score first."""
        check_frame(image)
        plan = self.plan((image.shape[1], image.shape[0]))
        if plan.whole_frame:
            return self.detector.detect(image)
        return merge_tiles([self._detect_tile(image, t) for t in plan.tiles], plan, self._rule)

    def _detect_tile(self, image: Image, tile: Tile) -> Detections:
        found = self.detector.detect(image[tile.y : tile.y + tile.h, tile.x : tile.x + tile.w])
        offset = np.array([tile.x, tile.y, tile.x, tile.y], np.float32)
        return Detections(found.xyxy + offset, found.scores)
