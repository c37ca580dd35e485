"""Scoring detections against ground truth: recall and precision at an IoU threshold.

Each frame's detections are matched one-to-one to ground-truth boxes at IoU >= ``iou``, as
many pairs as possible (Hungarian assignment,
:func:`edge.perception.detections.match`). Frames of the
ground truth with no detection line still count their people as missed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.perception.detections import Detections, iou_matrix, match
from edge.tools.evaluation.groundtruth import FrameTruth


class ReplayFileError(ValueError):
    """A replay JSONL file is missing or malformed."""


@dataclass(frozen=True, slots=True)
class DetectionScore:
    """Counts over a set of frames and the rates they give."""

    frames: int
    truths: int
    detections: int
    matched: int

    @property
    def recall(self) -> float:
        return self.matched / self.truths if self.truths else 0.0

    @property
    def precision(self) -> float:
        return self.matched / self.detections if self.detections else 0.0

    def __add__(self, other: DetectionScore) -> DetectionScore:
        return DetectionScore(
            self.frames + other.frames,
            self.truths + other.truths,
            self.detections + other.detections,
            self.matched + other.matched,
        )


def count_matches(truth_xyxy: np.ndarray, det_xyxy: np.ndarray, iou: float = 0.5) -> int:
    """Number of one-to-one matches between truth and detections with IoU >= ``iou``."""
    if len(truth_xyxy) == 0 or len(det_xyxy) == 0:
        return 0
    rows, _ = match(iou_matrix(truth_xyxy, det_xyxy), iou)
    return len(rows)


def count_duplicates(truth_xyxy: np.ndarray, det_xyxy: np.ndarray, cover: float = 0.7) -> int:
    """Detections beyond the first lying on one person: each detection goes to the truth box
    covering the largest share of it (at least ``cover``); a box with k of them adds k - 1."""
    if len(truth_xyxy) == 0 or len(det_xyxy) == 0:
        return 0
    truth = np.asarray(truth_xyxy, np.float64)
    dets = np.asarray(det_xyxy, np.float64)
    lt = np.maximum(dets[:, None, :2], truth[None, :, :2])
    rb = np.minimum(dets[:, None, 2:], truth[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0.0, None), axis=2)
    area = np.maximum(np.prod(dets[:, 2:] - dets[:, :2], axis=1), 1e-12)
    share = inter / area[:, None]
    owner = np.argmax(share, axis=1)[share.max(axis=1) >= cover]
    counts = np.bincount(owner, minlength=len(truth))
    return int(np.clip(counts - 1, 0, None).sum())


def score_frames(
    detections: Mapping[int, Detections],
    truth: Mapping[int, FrameTruth],
    frames: Iterable[int],
    iou: float = 0.5,
    min_score: float = 0.0,
) -> DetectionScore:
    """Score ``detections`` (truth frame number -> Detections) over the given truth frames."""
    total = DetectionScore(0, 0, 0, 0)
    empty = Detections.empty()
    for number in frames:
        gt = truth.get(number)
        gt_boxes = gt.xyxy if gt is not None else np.zeros((0, 4), np.float32)
        dets = detections.get(number, empty)
        dets = dets[dets.scores >= min_score]
        total += DetectionScore(
            1, len(gt_boxes), len(dets), count_matches(gt_boxes, dets.xyxy, iou)
        )
    return total


def read_detections_jsonl(path: Path | str) -> dict[int, Detections]:
    """Read a ``greetcue detect`` replay file into frame index -> Detections."""
    path = Path(path)
    if not path.is_file():
        raise ReplayFileError(
            f"{path} does not exist; write it with `greetcue detect SOURCE --out`"
        )
    frames: dict[int, Detections] = {}
    with path.open(encoding="utf-8") as lines:
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                rows = row["detections"]
                boxes = np.asarray([d["box"] for d in rows], np.float32).reshape(-1, 4)
                scores = np.asarray([d["score"] for d in rows], np.float32)
                frames[int(row["frame"])] = Detections(boxes, scores)
            except (ValueError, KeyError, TypeError) as exc:
                raise ReplayFileError(
                    f"{path}:{lineno}: not a detection line ({exc}); expected "
                    '{"frame": i, "t": s, "detections": [{"box": [x1, y1, x2, y2], "score": s}]}'
                ) from None
    return frames
