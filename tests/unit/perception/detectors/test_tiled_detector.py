"""The tiled detector with a stand-in model that sees whatever part of a person is in a crop:
each person found once with their whole box; a whole-frame plan passes the frame through."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from edge.config import parse_config
from edge.perception.detections import Detections
from edge.perception.detectors.tile_merge import MergeRule
from edge.perception.detectors.tile_plan import Size, TilePlan, plan_tiles
from edge.perception.detectors.tiled import TiledDetector
from edge.perception.geometry.calibration import camera_for
from edge.perception.geometry.camera import Camera
from edge.perception.tiling import configured_plan, customer_region

FRAME = (1920, 1080)
INPUT = (416, 416)
PEOPLE = np.array(
    [[100, 300, 220, 700], [880, 200, 1010, 620], [1500, 500, 1640, 1000]], np.float32
)
RULE = MergeRule(seam_px=4.0, iou=0.5, ios=0.6)


class SeesCrops:
    """Reports each person's part inside the image it is given; remembers the image sizes."""

    def __init__(self, origin: list[tuple[int, int]]) -> None:
        self.origin = origin  # where each next crop starts in the frame
        self.sizes: list[tuple[int, int]] = []

    def detect(self, image: npt.NDArray[np.uint8]) -> Detections:
        height, width = image.shape[:2]
        self.sizes.append((width, height))
        x, y = self.origin.pop(0) if self.origin else (0, 0)
        boxes = np.clip(PEOPLE - [x, y, x, y], 0, [width, height, width, height])
        seen = (boxes[:, 2] - boxes[:, 0] > 2) & (boxes[:, 3] - boxes[:, 1] > 2)
        return Detections(boxes[seen].astype(np.float32), np.full(seen.sum(), 0.9, np.float32))


def frame() -> npt.NDArray[np.uint8]:
    return np.zeros((FRAME[1], FRAME[0], 3), np.uint8)


def test_every_person_is_found_once_across_the_seams() -> None:
    plan = plan_tiles((0, 0, *FRAME), FRAME, INPUT, max_tiles=3, overlap_px=(200, 500))
    assert len(plan.tiles) > 1
    model = SeesCrops([(t.x, t.y) for t in plan.tiles])
    found = TiledDetector(model, lambda size: plan, RULE).detect(frame())
    assert model.sizes == [(t.w, t.h) for t in plan.tiles]
    order = np.lexsort((found.xyxy[:, 0],))
    np.testing.assert_allclose(found.xyxy[order], PEOPLE)


def test_a_whole_frame_plan_is_one_plain_pass() -> None:
    model = SeesCrops([])
    tiled = TiledDetector(model, lambda size: TilePlan.whole(size, INPUT), RULE)
    found = tiled.detect(frame())
    assert model.sizes == [FRAME]
    np.testing.assert_allclose(found.xyxy, PEOPLE)


def test_the_plan_is_made_once_per_frame_size() -> None:
    asked: list[Size] = []

    def planner(size: Size) -> TilePlan:
        asked.append(size)
        return TilePlan.whole(size, INPUT)

    tiled = TiledDetector(SeesCrops([]), planner, RULE)
    for _ in range(3):
        tiled.detect(frame())
    assert asked == [FRAME]


def calibrated(**tiles: object) -> dict[str, object]:
    """A configuration whose floor points come from a known 1080p counter camera."""
    camera = Camera.from_pose([0.0, -1.5, 9.0], 90.0, 40.0, 90.0, FRAME)
    floor = np.array([(x, y) for y in (3.0, 8.0, 14.0) for x in (-6.0, 0.0, 6.0)])
    points = [
        {"pixel": pixel.tolist(), "floor_ft": spot.tolist()}
        for pixel, spot in zip(camera.project(floor), floor, strict=True)
    ]
    return {
        "camera": {"hfov_deg": 90.0},
        "calibration": {"floor_points": points},
        "detector": {"tiles": tiles},
    }


@pytest.mark.parametrize("budget", [1, 2, 3])
def test_the_configured_plan_tiles_the_customer_region_within_the_budget(budget: int) -> None:
    config = parse_config(calibrated(max_tiles=budget))
    region = customer_region(config, camera_for(config, FRAME))
    assert region is not None
    plan = configured_plan(config, FRAME, INPUT)
    assert plan.region == region.box
    assert 1 <= len(plan.tiles) <= budget
    whole = TilePlan.whole(FRAME, INPUT).tiles[0].scale
    assert (plan.tiles[0].scale > whole) == (budget > 1)


def test_no_calibration_or_mode_off_is_the_whole_frame() -> None:
    assert configured_plan(parse_config({}), FRAME, INPUT).whole_frame
    off = parse_config(calibrated(mode="off", max_tiles=4))
    assert configured_plan(off, FRAME, INPUT).whole_frame


def test_a_bad_tiles_setting_names_the_key() -> None:
    with pytest.raises(ValueError, match="max_tiles"):
        parse_config(calibrated(max_tiles=0))
