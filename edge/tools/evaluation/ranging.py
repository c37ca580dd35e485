"""Scoring ranged distances against ground truth: tracked distance vs the annotated foot point.

Each frame's tracks are matched one-to-one to ground-truth boxes at IoU >= ``iou``
(:func:`edge.perception.detections.match`); the true distance is where the ground-truth box's bottom
centre meets the floor, through a reference camera, measured to the counter. :func:`true_paths`
gives each annotated person's true walk: distance, radial speed and heading to the counter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.perception.detections import iou_matrix, match
from edge.tools.evaluation.groundtruth import FrameTruth

F64 = npt.NDArray[np.float64]
FloorOf = Callable[[F64], F64]


def distance_errors(
    rows: Iterable[Mapping[str, Any]],
    truth: Mapping[int, FrameTruth],
    floor_of: FloorOf,
    counter_ft: tuple[float, float],
    frame_offset: int = 0,
    iou: float = 0.5,
) -> F64:
    """Relative distance errors [K] (ranged - true) / true over every matched track.

    ``rows`` are ``greetcue track`` rows; ``floor_of`` maps pixels [N, 2] to floor feet [N, 2]
    (the reference camera); a row's frame ``i`` is truth frame ``i + frame_offset``.
    """
    errors: list[F64] = []
    counter = np.asarray(counter_ft, np.float64)
    for row in rows:
        gt = truth.get(int(row["frame"]) + frame_offset)
        ranged = [t for t in row["tracks"] if t["distance_ft"] is not None]
        if gt is None or not len(gt.xyxy) or not ranged:
            continue
        boxes = np.asarray([t["box"] for t in ranged], np.float64)
        gt_rows, track_rows = match(iou_matrix(gt.xyxy, boxes), iou)
        true = np.linalg.norm(floor_of(foot_points(gt.xyxy[gt_rows])) - counter, axis=1)
        measured = np.asarray([ranged[k]["distance_ft"] for k in track_rows], np.float64)
        keep = np.isfinite(true) & (true > 0)
        errors.append((measured[keep] - true[keep]) / true[keep])
    return np.concatenate(errors) if errors else np.zeros(0)


def foot_points(xyxy: npt.NDArray[np.floating]) -> F64:
    """Bottom centres [N, 2] of xyxy boxes [N, 4]: where a standing person meets the floor."""
    boxes = np.asarray(xyxy, np.float64).reshape(-1, 4)
    return np.column_stack([(boxes[:, 0] + boxes[:, 2]) / 2, boxes[:, 3]])


def truth_of(gt: FrameTruth, boxes: npt.NDArray[np.floating], iou: float = 0.5) -> dict[int, int]:
    """Box row -> ground-truth id, for the boxes [M, 4] matched one-to-one at IoU >= ``iou``."""
    if not len(gt.ids) or not len(boxes):
        return {}
    gt_rows, box_rows = match(iou_matrix(gt.xyxy, boxes), iou)
    return {int(b): int(gt.ids[g]) for g, b in zip(gt_rows, box_rows, strict=True)}


@dataclass(frozen=True, slots=True)
class TruePath:
    """One annotated person's true walk, per annotated frame: ``frames`` [K] (truth frame
    numbers), ``t`` [K] (s), ``distance_ft`` [K] to the counter, ``radial_ftps`` [K] (negative:
    approaching) and ``heading_deg`` [K] (angle between the walk and the way to the counter),
    both from a straight-line fit over ``window_s`` around the frame (NaN: too few frames)."""

    frames: npt.NDArray[np.int64]
    t: F64
    distance_ft: F64
    radial_ftps: F64
    heading_deg: F64

    def index(self, frame: int) -> int | None:
        """Row of truth frame ``frame``; None when the person is not annotated there."""
        k = int(np.searchsorted(self.frames, frame))
        return k if k < len(self.frames) and self.frames[k] == frame else None


def true_paths(
    truth: Mapping[int, FrameTruth],
    floor_of: FloorOf,
    counter_ft: tuple[float, float],
    times: Mapping[int, float],
    window_s: float = 1.0,
) -> dict[int, TruePath]:
    """Each annotated person's :class:`TruePath` over the truth frames in ``times`` (truth
    frame -> time, s): the foot point through ``floor_of``, smoothed over ``window_s``."""
    walks: dict[int, list[tuple[int, float, float, float]]] = {}
    for frame, t in sorted(times.items()):
        gt = truth.get(frame)
        if gt is None or not len(gt.ids):
            continue
        for pid, (x, y) in zip(gt.ids.tolist(), floor_of(foot_points(gt.xyxy)), strict=True):
            walks.setdefault(int(pid), []).append((frame, t, float(x), float(y)))
    return {pid: _path(np.asarray(w), counter_ft, window_s) for pid, w in walks.items()}


def _path(walk: F64, counter_ft: tuple[float, float], window_s: float) -> TruePath:
    """A :class:`TruePath` from rows [K, 4] of (frame, t, x, y)."""
    t, floor = walk[:, 1], walk[:, 2:]
    to_counter = np.asarray(counter_ft, np.float64) - floor
    distance = np.linalg.norm(to_counter, axis=1)
    radial, heading = np.full(len(t), np.nan), np.full(len(t), np.nan)
    for k in range(len(t)):
        near = np.abs(t - t[k]) <= window_s / 2 + 1e-9
        if near.sum() < 3:
            continue
        slopes = np.polyfit(t[near], np.column_stack([distance[near], floor[near]]), 1)[0]
        radial[k] = slopes[0]
        cos = slopes[1:] @ to_counter[k] / (np.linalg.norm(slopes[1:]) * distance[k])
        heading[k] = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    return TruePath(walk[:, 0].astype(np.int64), t, distance, radial, heading)
