"""Where in the image a person standing inside a floor disc can appear, and how big.

The detector need only look where a customer can be: everyone inside the outer zone (plus a
margin) stands on a floor disc around the counter, so their boxes lie between the disc's
projection at the feet and at head height. The largest such box says how much neighbouring
tiles must overlap for one of them to hold that person whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edge.perception.geometry.camera import F64, Camera

Box = tuple[int, int, int, int]  # x, y, width, height in frame pixels

_RADII = 24  # rings sampled across the disc (the largest person may stand inside it)
_ANGLES = 96


@dataclass(frozen=True, slots=True)
class PersonRegion:
    """The frame-clipped ``box`` holding every such person, and the largest one's box size
    ``largest_px`` (width, height) within the frame."""

    box: Box
    largest_px: tuple[float, float]


def person_boxes(camera: Camera, floor_ft: F64, height_ft: float, width_ft: float) -> F64:
    """Unclipped boxes [N, 4] of upright people at floor points [N, 2]: the feet and the head
    projected, widened by ``width_ft`` at the person's own scale; NaN rows where either end is
    not imaged."""
    feet = camera.project(floor_ft)
    head = camera.project(np.column_stack([floor_ft, np.full(len(floor_ft), height_ft)]))
    half = np.linalg.norm(feet - head, axis=1) * (width_ft / height_ft) / 2
    low = np.minimum(feet, head)
    high = np.maximum(feet, head)
    return np.column_stack([low[:, 0] - half, low[:, 1], high[:, 0] + half, high[:, 1]])


def _polar(centre_ft: Sequence[float], radii: F64) -> F64:
    """Floor points [N, 2] at each of ``radii`` around ``centre_ft``, at evenly spread angles."""
    angles = np.linspace(0.0, 2 * np.pi, _ANGLES, endpoint=False)
    r, a = np.meshgrid(radii, angles)
    offsets = np.column_stack([r.ravel() * np.cos(a.ravel()), r.ravel() * np.sin(a.ravel())])
    return offsets + np.asarray(centre_ft, np.float64)


def disc_points(centre_ft: Sequence[float], radius_ft: float) -> F64:
    """Floor points [N, 2] spread evenly over the disc (its rim included)."""
    return _polar(centre_ft, radius_ft * np.sqrt(np.linspace(0.0, 1.0, _RADII)))


def ring_points(centre_ft: Sequence[float], radius_ft: float) -> F64:
    """Floor points [N, 2] on the circle of ``radius_ft`` around ``centre_ft``."""
    return _polar(centre_ft, np.array([radius_ft]))


def _clipped(boxes: F64, image_size: tuple[int, int]) -> F64:
    """The boxes' parts inside the frame; rows with no such part (or NaN) removed."""
    width, height = image_size
    clipped = np.clip(boxes, 0.0, [width, height, width, height])
    inside = np.isfinite(boxes).all(axis=1)
    inside &= (clipped[:, 2] > clipped[:, 0]) & (clipped[:, 3] > clipped[:, 1])
    return clipped[inside]


def person_region(
    camera: Camera,
    centre_ft: Sequence[float],
    radius_ft: float,
    height_ft: float,
    width_ft: float,
) -> PersonRegion | None:
    """Where a person standing within ``radius_ft`` of ``centre_ft`` can appear in the frame;
    None when no such person would be in view."""
    boxes = person_boxes(camera, disc_points(centre_ft, radius_ft), height_ft, width_ft)
    visible = _clipped(boxes, camera.image_size)
    if len(visible) == 0:
        return None
    x1, y1 = np.floor(visible[:, :2].min(axis=0)).astype(int)
    x2, y2 = np.ceil(visible[:, 2:].max(axis=0)).astype(int)
    sizes = visible[:, 2:] - visible[:, :2]
    largest = sizes.max(axis=0)
    return PersonRegion((int(x1), int(y1), int(x2 - x1), int(y2 - y1)), (largest[0], largest[1]))


def pixels_per_foot(
    camera: Camera, centre_ft: Sequence[float], radius_ft: float, height_ft: float
) -> tuple[float, float] | None:
    """The smallest and largest image scale (frame pixels per foot of a standing person's
    height) around the ring of ``radius_ft``, where the person's feet are in view; None when
    no part of the ring is."""
    floor = ring_points(centre_ft, radius_ft)
    feet = camera.project(floor)
    width, height = camera.image_size
    seen = (
        np.isfinite(feet).all(axis=1)
        & (feet >= 0).all(axis=1)
        & (feet < [width, height]).all(axis=1)
    )
    boxes = person_boxes(camera, floor[seen], height_ft, 1.0)
    scale = (boxes[:, 3] - boxes[:, 1]) / height_ft
    scale = scale[np.isfinite(scale)]
    return (float(scale.min()), float(scale.max())) if scale.size else None
