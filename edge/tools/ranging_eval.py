"""Scoring ranged distances against ground truth: tracked distance vs the annotated foot point.

Each frame's tracks are matched one-to-one to ground-truth boxes at IoU >= ``iou``
(:func:`edge.perception.detections.match`); the true distance is where the ground-truth box's bottom
centre meets the floor, through a reference camera, measured to the counter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.perception.detections import iou_matrix, match
from edge.tools.groundtruth import FrameTruth

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
        foot = np.column_stack(
            [(gt.xyxy[gt_rows, 0] + gt.xyxy[gt_rows, 2]) / 2, gt.xyxy[gt_rows, 3]]
        ).astype(np.float64)
        true = np.linalg.norm(floor_of(foot) - counter, axis=1)
        measured = np.asarray([ranged[k]["distance_ft"] for k in track_rows], np.float64)
        keep = np.isfinite(true) & (true > 0)
        errors.append((measured[keep] - true[keep]) / true[keep])
    return np.concatenate(errors) if errors else np.zeros(0)
