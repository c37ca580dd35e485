"""Constant-velocity Kalman filter over a bank of boxes: one row per track, one call per frame.

A box is its centre x, centre y, width and height, each with a velocity in pixels per second,
so the filter follows elapsed time, not frame counts: dropped frames or another frame rate only
lengthen ``dt``. Noise scales with the box height, so near (large) and far (small) people are
treated alike.

The four coordinates move, and are measured, independently, so the 8x8 covariance of a box is
four 2x2 blocks (position-position, position-velocity, velocity-velocity) and the filter is
exact as elementwise arithmetic on [K, 4] arrays: no matrix inverse, and the per-frame cost
hardly grows with the number of people.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

# Measurement noise: detector box jitter, standard deviation as a fraction of the box height.
MEASURE_STD = 0.05
# Process noise: random acceleration of each coordinate (box heights per second squared) and a
# random walk of the position (box heights per square-root second) for pose and size changes.
ACCEL_STD = 1.0
DRIFT_STD = 0.05
# Uncertainty of a new track: its position is one measurement; its velocity is unknown.
INIT_POS_STD = 2 * MEASURE_STD
INIT_VEL_STD = 1.0
_MIN_SIZE_PX = 1.0
# Rows of the state array [K, 5, 4]: value and covariance blocks, per coordinate.
_POS, _VEL, _PP, _PV, _VV = range(5)


def xyxy_to_cxcywh(xyxy: npt.NDArray[np.floating]) -> F64:
    """[N, 4] corners -> [N, 4] centre x, centre y, width, height."""
    b = np.asarray(xyxy, np.float64).reshape(-1, 4)
    size = b[:, 2:] - b[:, :2]
    return np.concatenate([b[:, :2] + size / 2, size], axis=1)


def cxcywh_to_xyxy(c: F64) -> npt.NDArray[np.float32]:
    """[N, 4] centre x, centre y, width, height -> [N, 4] float32 corners."""
    half = np.maximum(c[:, 2:4], _MIN_SIZE_PX) / 2
    return np.concatenate([c[:, :2] - half, c[:, :2] + half], axis=1).astype(np.float32)


class BoxKalman:
    """State of K boxes as one array [K, 5, 4]: per coordinate (last axis) the position,
    velocity and the position-position, position-velocity, velocity-velocity covariances.
    """

    def __init__(self) -> None:
        self.state: F64 = np.zeros((0, 5, 4))

    def __len__(self) -> int:
        return int(self.state.shape[0])

    def _height(self) -> F64:
        """Box heights [K, 1], the unit of every noise term."""
        return np.maximum(self.state[:, _POS, 3:4], _MIN_SIZE_PX)

    def add(self, xyxy: npt.NDArray[np.floating]) -> None:
        """Append one row per box, at rest, with an unknown velocity."""
        z = xyxy_to_cxcywh(xyxy)
        h2 = np.maximum(z[:, 3:4], _MIN_SIZE_PX) ** 2 * np.ones(4)
        new = np.stack(
            [z, np.zeros_like(z), INIT_POS_STD**2 * h2, np.zeros_like(z), INIT_VEL_STD**2 * h2],
            axis=1,
        )
        self.state = np.concatenate([self.state, new])

    def keep(self, mask: npt.NDArray[np.bool_]) -> None:
        """Drop the rows where ``mask`` is False."""
        self.state = self.state[mask]

    def predict(self, dt: float) -> None:
        """Move every box ``dt`` seconds ahead at its velocity; uncertainty grows with ``dt``."""
        if dt <= 0:
            return
        s = self.state
        h2 = self._height() ** 2
        a2 = ACCEL_STD**2 * h2  # discrete white-noise acceleration
        s[:, _POS] += dt * s[:, _VEL]
        s[:, _PP] += dt * (2 * s[:, _PV] + dt * s[:, _VV]) + a2 * dt**4 / 4 + DRIFT_STD**2 * h2 * dt
        s[:, _PV] += dt * s[:, _VV] + a2 * dt**3 / 2
        s[:, _VV] += a2 * dt**2

    def update(self, rows: npt.NDArray[np.intp], xyxy: npt.NDArray[np.floating]) -> None:
        """Correct ``rows`` with their measured boxes ``xyxy`` [len(rows), 4]."""
        s = self.state[rows]
        r = (MEASURE_STD * np.maximum(s[:, _POS, 3:4], _MIN_SIZE_PX)) ** 2
        innovation = xyxy_to_cxcywh(xyxy) - s[:, _POS]
        gain_p = s[:, _PP] / (s[:, _PP] + r)
        gain_v = s[:, _PV] / (s[:, _PP] + r)
        s[:, _POS] += gain_p * innovation
        s[:, _VEL] += gain_v * innovation
        s[:, _VV] -= gain_v * s[:, _PV]
        s[:, _PV] *= 1 - gain_p
        s[:, _PP] *= 1 - gain_p
        self.state[rows] = s

    def stop_resizing(self, rows: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> None:
        """Zero the size velocity of ``rows``: an unseen box keeps moving but stops growing."""
        self.state[rows, _VEL, 2:] = 0.0

    def boxes(self) -> npt.NDArray[np.float32]:
        """Current boxes [K, 4] as float32 corners."""
        return cxcywh_to_xyxy(self.state[:, _POS])
