"""The optimal one-to-one assignment of a small cost matrix, as SciPy's ``linear_sum_assignment``
finds it: the same shortest augmenting path method (Crouse, 2016), so the same pairs, ties
included, without importing SciPy (24 MB of RSS for this one function).

A frame's matrices are tracks x detections, a few dozen at most, so plain Python floats beat
NumPy's per-call overhead here. Ties are broken as SciPy breaks them (the tracker's figures
depend on it): among the columns at the lowest reduced cost, a free one is preferred, the last
found in SciPy's scan order.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.intp]


def linear_sum_assignment(cost: npt.ArrayLike) -> tuple[IntArray, IntArray]:
    """Rows and columns of a least-cost assignment of ``min(N, M)`` pairs of the [N, M] matrix
    ``cost`` (finite), rows ascending."""
    matrix = np.asarray(cost, np.float64)
    if matrix.size == 0:
        return np.zeros(0, np.intp), np.zeros(0, np.intp)
    if matrix.shape[0] > matrix.shape[1]:  # solved as more columns than rows, like SciPy
        col4row = np.array(_solve(matrix.T), np.intp)
        order = np.argsort(col4row)
        return col4row[order], order.astype(np.intp)
    return np.arange(matrix.shape[0], dtype=np.intp), np.array(_solve(matrix), np.intp)


def _solve(matrix: npt.NDArray[np.float64]) -> list[int]:
    """The column of each row, for a matrix with no more rows than columns."""
    cost: list[list[float]] = (matrix - matrix.min()).tolist()
    nr, nc = len(cost), len(cost[0])
    u, v = [0.0] * nr, [0.0] * nc
    path, col4row, row4col = [-1] * nc, [-1] * nr, [-1] * nc
    for row in range(nr):
        low, sink, seen_rows, seen_cols, dist = _shortest_path(cost, u, v, path, row4col, row)
        u[row] += low  # dual variables stay feasible
        for i in seen_rows:
            if i != row:
                u[i] += low - dist[col4row[i]]
        for j in seen_cols:
            v[j] -= low - dist[j]
        j = sink
        while True:  # augment along the path
            i = path[j]
            row4col[j] = i
            col4row[i], j = j, col4row[i]
            if i == row:
                break
    return col4row


def _shortest_path(
    cost: list[list[float]],
    u: list[float],
    v: list[float],
    path: list[int],
    row4col: list[int],
    row: int,
) -> tuple[float, int, list[int], list[int], list[float]]:
    """Dijkstra from ``row`` to a free column over reduced costs: the path's length, the free
    column it ends in, the rows and the columns it scanned, and each column's distance
    (``path`` gets each column's predecessor row)."""
    remaining = list(range(len(v) - 1, -1, -1))  # SciPy's scan order, whose ties we keep
    seen_rows: list[int] = []
    seen_cols: list[int] = []
    dist = [math.inf] * len(v)
    low, i = 0.0, row
    while True:
        seen_rows.append(i)
        index, lowest = -1, math.inf
        for at, j in enumerate(remaining):
            reduced = low + cost[i][j] - u[i] - v[j]
            if reduced < dist[j]:
                path[j] = i
                dist[j] = reduced
            if dist[j] < lowest or (dist[j] == lowest and row4col[j] == -1):
                lowest, index = dist[j], at
        low = lowest
        j = remaining[index]
        seen_cols.append(j)
        remaining[index] = remaining[-1]
        remaining.pop()
        if row4col[j] == -1:
            return low, j, seen_rows, seen_cols, dist
        i = row4col[j]
