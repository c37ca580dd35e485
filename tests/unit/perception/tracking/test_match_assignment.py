"""The tracker's assignment is SciPy's: the same pairs as ``linear_sum_assignment``, ties
included, on random matrices (SciPy is a test dependency only)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from scipy import optimize

from edge.perception.detections import iou_matrix, match
from edge.perception.tracking.assignment import linear_sum_assignment


def same_as_scipy(cost: npt.NDArray[np.float64]) -> None:
    rows, cols = linear_sum_assignment(cost)
    want_rows, want_cols = optimize.linear_sum_assignment(cost)
    assert (rows.tolist(), cols.tolist()) == (want_rows.tolist(), want_cols.tolist()), cost
    assert rows.dtype == cols.dtype == np.intp


@pytest.mark.parametrize("seed", range(10))
def test_same_pairs_as_scipy_on_random_costs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(100):
        same_as_scipy(rng.uniform(0, 1, (rng.integers(1, 16), rng.integers(1, 16))))


@pytest.mark.parametrize("seed", range(10))
def test_same_pairs_as_scipy_when_costs_tie(seed: int) -> None:
    """Small integers tie often: each tie is broken as SciPy breaks it."""
    rng = np.random.default_rng(seed)
    for _ in range(100):
        shape = (rng.integers(1, 10), rng.integers(1, 10))
        same_as_scipy(rng.integers(0, 3, shape).astype(np.float64))


@pytest.mark.parametrize("seed", range(10))
def test_box_matching_as_with_scipy(seed: int) -> None:
    """Boxes of people in a small scene, some seen twice (IoU 1 with two tracks: a tie)."""
    rng = np.random.default_rng(seed)
    for _ in range(100):
        corner = rng.uniform(0, 400, (int(rng.integers(0, 12)), 2))
        tracks = np.hstack([corner, corner + rng.uniform(20, 160, corner.shape)])
        tracks = np.vstack([tracks, tracks[: rng.integers(0, 3)]])
        found = tracks[: rng.integers(0, len(tracks) + 1)] + rng.normal(0, 8, (1, 4))
        iou = iou_matrix(tracks, found)
        admissible = iou >= 0.3
        if iou.size:
            rows, cols = optimize.linear_sum_assignment(np.where(admissible, 1.0 - iou, 1e6))
            ok = admissible[rows, cols]
            want = (rows[ok].tolist(), cols[ok].tolist())
        else:
            want = ([], [])
        got = match(iou, 0.3)
        assert (got[0].tolist(), got[1].tolist()) == want


def test_nothing_to_assign() -> None:
    rows, cols = linear_sum_assignment(np.zeros((0, 3)))
    assert rows.size == cols.size == 0
