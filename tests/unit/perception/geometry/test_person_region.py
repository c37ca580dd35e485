"""Where a person inside a floor disc can appear: checked against people placed on the floor."""

from __future__ import annotations

import numpy as np
import pytest

from edge.perception.geometry.camera import Camera
from edge.perception.geometry.person_region import (
    person_boxes,
    person_region,
    pixels_per_foot,
)

SIZE = (1280, 720)
CAMERA = Camera.from_pose([0.0, -1.5, 9.0], 90.0, 40.0, 80.0, SIZE)


def test_the_region_holds_every_person_standing_in_the_disc() -> None:
    region = person_region(CAMERA, (0.0, 4.0), 8.0, 6.5, 1.6)
    assert region is not None
    x, y, w, h = region.box
    rng = np.random.default_rng(7)
    radius = 8.0 * np.sqrt(rng.uniform(0, 1, 300))
    angle = rng.uniform(0, 2 * np.pi, 300)
    floor = np.column_stack([radius * np.cos(angle), 4.0 + radius * np.sin(angle)])
    boxes = np.clip(person_boxes(CAMERA, floor, 6.0, 1.6), 0, [*SIZE, *SIZE])
    seen = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    assert seen.sum() > 100
    assert (boxes[seen, 0] >= x - 1).all() and (boxes[seen, 2] <= x + w + 1).all()
    assert (boxes[seen, 1] >= y - 1).all() and (boxes[seen, 3] <= y + h + 1).all()
    heights = boxes[seen, 3] - boxes[seen, 1]
    assert region.largest_px[1] >= heights.max() - 1


def test_a_far_small_disc_is_a_small_region_and_one_out_of_view_none() -> None:
    far = person_region(CAMERA, (0.0, 30.0), 2.0, 6.5, 1.6)
    assert far is not None
    assert far.box[2] < SIZE[0] / 4 and far.box[3] < SIZE[1] / 2
    assert person_region(CAMERA, (0.0, -60.0), 2.0, 6.5, 1.6) is None  # behind the camera


def test_people_look_larger_near_the_camera() -> None:
    near, far = (
        pixels_per_foot(CAMERA, (0.0, 0.0), 3.0, 6.5),
        pixels_per_foot(CAMERA, (0.0, 0.0), 10.0, 6.5),
    )
    assert near is not None and far is not None
    assert far[0] <= far[1] < near[1]
    # The scale on the ring's nearest point matches a person's projected height there.
    feet, head = CAMERA.project(np.array([[0.0, 10.0, 0.0], [0.0, 10.0, 6.5]]))
    assert far[0] == pytest.approx(abs(feet[1] - head[1]) / 6.5, rel=0.05)
