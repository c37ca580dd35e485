"""The optimal one-to-one assignment of a small cost matrix, as SciPy's ``linear_sum_assignment``
finds it: the same shortest augmenting path method (Crouse, 2016), so the same pairs, ties
included, without importing SciPy (24 MB of RSS for this one function).

A frame's matrices are tracks x detections, a few dozen at most: one NumPy pass per step of a
path is fast enough. Ties are broken as SciPy breaks them (the tracker's figures depend on it):
among the columns at the lowest reduced cost, a free one is preferred, the last found.
"""

from __future__ import annotations

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
        col4row = _solve(matrix.T)
        order = np.argsort(col4row)
        return col4row[order], order.astype(np.intp)
    return np.arange(matrix.shape[0], dtype=np.intp), _solve(matrix)


def _solve(cost: npt.NDArray[np.float64]) -> IntArray:
    """The column of each row, for ``cost`` with no more rows than columns."""
    cost = cost - cost.min()
    nr, nc = cost.shape
    u, v = np.zeros(nr), np.zeros(nc)
    path = np.full(nc, -1, np.intp)
    col4row = np.full(nr, -1, np.intp)
    row4col = np.full(nc, -1, np.intp)
    for row in range(nr):
        low, sink, seen_rows, seen_cols, dist = _shortest_path(cost, u, v, path, row4col, row)
        u[row] += low  # dual variables stay feasible
        others = seen_rows.copy()
        others[row] = False
        u[others] += low - dist[col4row[others]]
        v[seen_cols] -= low - dist[seen_cols]
        j = sink
        while True:  # augment along the path
            i = int(path[j])
            row4col[j] = i
            col4row[i], j = j, int(col4row[i])
            if i == row:
                break
    return col4row


def _shortest_path(
    cost: npt.NDArray[np.float64],
    u: npt.NDArray[np.float64],
    v: npt.NDArray[np.float64],
    path: IntArray,
    row4col: IntArray,
    row: int,
) -> tuple[float, int, npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """Dijkstra from ``row`` to a free column over reduced costs: the path's length, the free
    column it ends in, the rows and columns it scanned and each column's distance (``path``
    gets each column's predecessor row)."""
    nr, nc = cost.shape
    remaining = list(range(nc - 1, -1, -1))  # SciPy's scan order, whose ties we keep
    seen_rows, seen_cols = np.zeros(nr, bool), np.zeros(nc, bool)
    dist = np.full(nc, np.inf)
    low, i = 0.0, row
    while True:
        seen_rows[i] = True
        cols = np.array(remaining, np.intp)
        reduced = low + cost[i, cols] - u[i] - v[cols]
        closer = reduced < dist[cols]
        path[cols[closer]] = i
        dist[cols[closer]] = reduced[closer]
        scanned = dist[cols]
        low = float(scanned.min())
        lowest = np.flatnonzero(scanned == low)
        free = lowest[row4col[cols[lowest]] == -1]
        index = int(free[-1]) if free.size else int(lowest[0])
        j = int(cols[index])
        seen_cols[j] = True
        last = remaining.pop()
        if index < len(remaining):
            remaining[index] = last
        if row4col[j] == -1:
            return low, j, seen_rows, seen_cols, dist
        i = int(row4col[j])
