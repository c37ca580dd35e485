"""Detections: one frame's person boxes as parallel NumPy arrays (never a list of dicts)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.perception.tracking.assignment import linear_sum_assignment

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.intp]
_NO_MATCH = 1e6


@dataclass(frozen=True, slots=True)
class Detections:
    """Boxes ``xyxy`` float32 [N, 4] in frame pixels and their ``scores`` float32 [N].

    >>> d = Detections(np.array([[0, 0, 10, 20]], np.float32), np.array([0.9], np.float32))
    >>> len(d[d.scores > 0.5])
    1
    """

    xyxy: FloatArray
    scores: FloatArray

    def __post_init__(self) -> None:
        if self.xyxy.ndim != 2 or self.xyxy.shape[1] != 4:
            raise ValueError(f"xyxy must be [N, 4], got shape {self.xyxy.shape}")
        if self.scores.shape != (self.xyxy.shape[0],):
            raise ValueError(
                f"scores must be [N] with N={self.xyxy.shape[0]}, got shape {self.scores.shape}"
            )

    @classmethod
    def empty(cls) -> Detections:
        """No detections."""
        return cls(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32))

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def __getitem__(
        self, index: npt.NDArray[np.bool_] | npt.NDArray[np.intp] | slice
    ) -> Detections:
        """Select by boolean mask, index array or slice."""
        return Detections(self.xyxy[index].reshape(-1, 4), self.scores[index].reshape(-1))

    def to_json(self, ndigits: int = 1) -> list[dict[str, object]]:
        """Plain JSON rows ``{"box": [x1, y1, x2, y2], "score": s}`` for replay files."""
        return [
            {"box": [round(float(v), ndigits) for v in box], "score": round(float(s), 4)}
            for box, s in zip(self.xyxy, self.scores, strict=True)
        ]


def iou_matrix(a: npt.NDArray[np.floating], b: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """Pairwise intersection-over-union of xyxy boxes ``a`` [N, 4] and ``b`` [M, 4] -> [N, M]."""
    a64 = np.asarray(a, np.float64).reshape(-1, 4)
    b64 = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a64[:, None, :2], b64[None, :, :2])
    rb = np.minimum(a64[:, None, 2:], b64[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0.0, None), axis=2)
    area_a = np.prod(a64[:, 2:] - a64[:, :2], axis=1)
    area_b = np.prod(b64[:, 2:] - b64[:, :2], axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def match(iou: npt.NDArray[np.float64], min_iou: float) -> tuple[IntArray, IntArray]:
    """Rows and columns of one-to-one pairs, each at IoU ``min_iou`` or more: as many pairs as
    possible, and among those the largest total IoU (Hungarian method)."""
    if iou.size == 0:
        return np.zeros(0, np.intp), np.zeros(0, np.intp)
    admissible = iou >= min_iou
    rows, cols = linear_sum_assignment(np.where(admissible, 1.0 - iou, _NO_MATCH))
    ok = admissible[rows, cols]
    return rows[ok].astype(np.intp), cols[ok].astype(np.intp)
