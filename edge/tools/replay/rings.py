"""The calibration check picture: zone rings around the counter drawn on a snapshot.

An integrator sees at a glance whether the 10/5/3-ft rings lie where the floor really is that
far from the counter; the floor points (circles) and where the solved camera puts them
(crosses) show which measurement is off; the detector's tiles and the region they cover show
where customers will be looked for. Drawing only, for ``greetcue calibrate --rings``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from edge.perception.detectors.tile_plan import TilePlan
from edge.perception.geometry.calibration import Calibration
from edge.perception.geometry.camera import Camera
from edge.tools.replay.drawing import label

Image = npt.NDArray[np.uint8]

# Zone ring colours (BGR), one per ring in turn: amber, orange, red, then magenta and cyan.
ZONE_COLOURS = [(0, 220, 255), (0, 140, 255), (0, 0, 255), (255, 0, 255), (255, 255, 0)]
_POINT_COLOUR = (0, 200, 0)
_REPROJECTED_COLOUR = (0, 0, 255)
_COUNTER_COLOUR = (255, 128, 0)
_REGION_COLOUR = (255, 255, 255)
_TILE_COLOURS = [(255, 255, 0), (255, 0, 255), (0, 255, 128), (128, 128, 255)]


def ring_pieces(
    camera: Camera, centre_ft: Sequence[float], radius_ft: float, samples: int = 720
) -> list[npt.NDArray[np.int32]]:
    """Polylines [K, 2] of the floor circle's parts in front of the camera and near the view.

    Parts behind the camera have no image; parts far outside the frame are cut so the
    polylines stay within drawable coordinates (OpenCV clips them to the image).
    """
    angles = np.linspace(0, 2 * np.pi, samples, endpoint=False)
    circle = np.column_stack(
        [centre_ft[0] + radius_ft * np.cos(angles), centre_ft[1] + radius_ft * np.sin(angles)]
    )
    pixels = camera.project(circle)
    width, height = camera.image_size
    near = (
        np.isfinite(pixels).all(axis=1)
        & (np.abs(pixels[:, 0] - width / 2) < 2 * width)
        & (np.abs(pixels[:, 1] - height / 2) < 2 * height)
    )
    if near.all():
        return [np.round(pixels).astype(np.int32)]
    start = int(np.argmin(near))  # begin at a gap so no piece wraps around the end
    pixels, near = np.roll(pixels, -start, axis=0), np.roll(near, -start)
    edges = np.flatnonzero(np.diff(near.astype(np.int8)))
    pieces = np.split(np.arange(samples), edges + 1)
    return [
        np.round(pixels[piece]).astype(np.int32)
        for piece in pieces
        if near[piece[0]] and len(piece) > 1
    ]


def _in_image(points: npt.NDArray[Any], size: tuple[int, int]) -> npt.NDArray[Any]:
    """The points [K, 2] that fall inside an image of ``size`` (NaN never does)."""
    inside = (
        (points[:, 0] >= 0)
        & (points[:, 0] < size[0])
        & (points[:, 1] >= 0)
        & (points[:, 1] < size[1])
    )
    return points[inside]


def _point(xy: npt.NDArray[np.float64]) -> tuple[int, int]:
    return int(np.rint(xy[0])), int(np.rint(xy[1]))


def draw_check(
    image: Image,
    calibration: Calibration,
    counter_ft: Sequence[float],
    rings: Sequence[tuple[str, float]],
) -> tuple[Image, list[str]]:
    """The snapshot the calibration was solved on, with labelled rings, counter and floor
    points; also the names of rings with no part inside the frame."""
    camera = calibration.camera
    out = image.copy()
    size = camera.image_size
    thick = max(1, round(size[0] / 640))
    text_scale = max(0.4, out.shape[1] / 1400)

    def caption(text: str, at: tuple[int, int], colour: tuple[int, int, int]) -> None:
        label(out, text, at, colour, (0, 0, 0), text_scale)

    unseen: list[str] = []
    for index, (name, radius) in enumerate(rings):
        colour = ZONE_COLOURS[index % len(ZONE_COLOURS)]
        pieces = ring_pieces(camera, counter_ft, radius)
        cv2.polylines(out, pieces, False, colour, 2 * thick, cv2.LINE_AA)
        visible = _in_image(np.vstack(pieces), size) if pieces else np.zeros((0, 2), np.int32)
        if len(visible) == 0:
            unseen.append(name)
            continue
        rightmost = visible[np.argmax(visible[:, 0])]
        caption(name, (int(rightmost[0]) + 4, int(rightmost[1]) + 4), colour)
    counter = camera.project(np.asarray(counter_ft, np.float64).reshape(1, 2))
    if len(_in_image(counter, size)):
        centre = _point(counter[0])
        cv2.drawMarker(out, centre, _COUNTER_COLOUR, cv2.MARKER_DIAMOND, 12 * thick, 2 * thick)
        caption("counter", (centre[0] - 20, centre[1] - 10), _COUNTER_COLOUR)
    for index, (seen, solved) in enumerate(
        zip(calibration.pixels, calibration.reprojected_px, strict=True)
    ):
        seen_pt = _point(seen)
        cv2.circle(out, seen_pt, 5 * thick, _POINT_COLOUR, thick, cv2.LINE_AA)
        if np.isfinite(solved).all():
            solved_pt = _point(solved)
            cv2.line(out, seen_pt, solved_pt, _REPROJECTED_COLOUR, thick, cv2.LINE_AA)
            cv2.drawMarker(out, solved_pt, _REPROJECTED_COLOUR, cv2.MARKER_CROSS, 8 * thick, thick)
        caption(str(index + 1), (seen_pt[0] + 6, seen_pt[1] - 6), _POINT_COLOUR)
    worst = float(np.nanmax(calibration.residual_in))
    caption(
        f"camera {camera.height_ft:.1f} ft high, tilt {camera.tilt_deg:.0f} deg, "
        f"worst point {worst:.1f} in",
        (4, 4),
        (255, 255, 255),
    )
    return out, unseen


def draw_plan(image: Image, plan: TilePlan) -> Image:
    """``image`` with the customer region (white) and each tile (its number and scale)."""
    out = image.copy()
    thick = max(1, round(out.shape[1] / 640))
    text_scale = max(0.4, out.shape[1] / 1400)
    x, y, w, h = plan.region
    cv2.rectangle(out, (x, y), (x + w - 1, y + h - 1), _REGION_COLOUR, thick, cv2.LINE_AA)
    for index, tile in enumerate(plan.tiles):
        colour = _TILE_COLOURS[index % len(_TILE_COLOURS)]
        inset = (index + 1) * thick  # tiles sharing an edge stay apart
        corner = (tile.x + inset, tile.y + inset)
        far = (tile.x + tile.w - 1 - inset, tile.y + tile.h - 1 - inset)
        cv2.rectangle(out, corner, far, colour, thick, cv2.LINE_AA)
        at = (corner[0] + 4, far[1] - int(30 * text_scale))
        label(out, f"tile {index + 1} x{tile.scale:.2f}", at, colour, (0, 0, 0), text_scale)
    return out
