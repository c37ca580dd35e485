"""The configured tile plan: the calibration says where customers can be, the configuration
how many detector passes a frame may take (``detector.tiles``).

Without a calibration, or with ``mode: off``, the plan is the whole frame in one pass.
"""

from __future__ import annotations

import logging

from edge.config import Config
from edge.perception.detectors.detector import Detector
from edge.perception.detectors.tile_merge import MergeRule
from edge.perception.detectors.tile_plan import Size, TilePlan, plan_tiles
from edge.perception.detectors.tiled import TiledDetector
from edge.perception.geometry.calibration import camera_for
from edge.perception.geometry.camera import Camera
from edge.perception.geometry.person_region import PersonRegion, person_region

log = logging.getLogger(__name__)


def customer_region(config: Config, camera: Camera) -> PersonRegion | None:
    """Where a person inside the outer zone (plus ``tiles.margin_ft``) can appear in the
    camera's frames; None when no such person is in view."""
    tiles = config.detector.tiles
    outer_ft = max(zone.radius_ft for zone in config.zones) + tiles.margin_ft
    return person_region(
        camera,
        config.counter.position_ft,
        outer_ft,
        tiles.person_height_ft,
        config.ranging.body_width_ft,
    )


def camera_plan(config: Config, camera: Camera, input_size: Size) -> TilePlan:
    """The tiles for the calibrated ``camera``'s frames (``tiles.mode`` aside)."""
    tiles = config.detector.tiles
    region = customer_region(config, camera)
    if region is None:
        log.warning(
            "no part of the outer zone is in view: detecting on the whole frame; "
            "check the calibration with `greetcue calibrate --rings`"
        )
        return TilePlan.whole(camera.image_size, input_size)
    overlap = (region.largest_px[0] * tiles.overlap, region.largest_px[1] * tiles.overlap)
    return plan_tiles(
        region.box, camera.image_size, input_size, tiles.max_tiles, overlap, tiles.scale_tolerance
    )


def configured_plan(config: Config, frame_size: Size, input_size: Size) -> TilePlan:
    """The tiles the detector runs on for frames of ``frame_size``."""
    if config.detector.tiles.mode == "off" or config.calibration is None:
        return TilePlan.whole(frame_size, input_size)
    return camera_plan(config, camera_for(config, frame_size), input_size)


def tiled_detector(config: Config, detector: Detector) -> TiledDetector[Detector]:
    """``detector`` run on the configured tiles, merged by the configured rule."""
    tiles = config.detector.tiles
    rule = MergeRule(tiles.seam_px, tiles.merge_iou, tiles.merge_ios)
    return TiledDetector(
        detector, lambda size: configured_plan(config, size, detector.input_size), rule
    )
