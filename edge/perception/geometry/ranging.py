"""Distance to the counter from tracked boxes: each track's floor fixes
(``edge.perception.geometry.floor_position``) with sizes learnt per track, smoothed by a
floor Kalman filter.

Learnt sizes. Until a track has ``learn_min_frames`` frames with the whole box in view, the
cues assume ``head_height_ft`` and ``body_width_ft`` (with ``head_height_sd_ft`` and
``body_width_sd_ft`` of spread). Each such frame measures the track's own sizes (head height
and box width at the body's depth). The median of the latest ``learn_frames`` of them, clamped
to a plausible range, then replaces the defaults, and their scatter (at least an inch of head
bob, a tenth of the width for turning and arm swing) the spreads. Customers walk in from afar
with their feet in view, so when they are cut off near the counter, their own size is known.

Smoothing. Each track has a constant-velocity Kalman filter on the floor (feet, seconds). Its
measurement noise is the fix's jitter (``FloorFix.jitter``: box jitter carried through the
geometry, ``step_noise_ft`` of foot-point jitter as people step, the wobble of an assumed
size), so far people are trusted less than near ones, and cut-off ones less than whole ones,
without tuning per site. The spread of an assumed size around the person's own is left out:
it is the same on every frame, so averaging fixes never removes it, and counted as noise it
only made the filter slow to see a cut-off person walk in (their velocity lagging, their
heading off). While the motion window holds fixes made different ways
(``FloorFix.reference``: the feet leave the frame, the head or the sides come into view or
go), the fixes differ by that spread too, so it counts again (the fix's whole covariance).

Outputs. ``distance_ft`` from the filtered position to the counter; ``speed_ftps`` its rate of
change (negative = approaching); ``zone_tta_s`` the time until the straight-line, constant-
velocity path first crosses each zone ring inward (NaN when the person is already inside that
ring, approaches slower than ``min_approach_ftps``, or would walk past without entering it);
``tta_s`` the earliest of those: the time to the next ring the person will cross, i.e. when the
next cue is due. NaN stands for "none" in every float output (no floor position yet, no
approach). ``closing``: the person has moved toward the counter by more than the fixes' noise
over the motion window (:mod:`edge.perception.geometry.motion`), the evidence an approach
needs beyond the filter's velocity.

Still people stay still. While the window shows less movement than the noise of its
positions, the filter is told so: a zero-velocity measurement, as loose as a speed that could
hide in that noise and split over the window's frames, so it counts as one measurement per
window whatever the frame rate. A constant-velocity filter then never carries a person who
stopped, or one cut off at a frame edge with an unchanging box, on toward the counter. A box
that jumps (a merge, an occlusion) is not used for speed: the track's filter restarts from it
at rest and its window starts again.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import median

import numpy as np
import numpy.typing as npt

from edge.config import Config, RangingConfig
from edge.perception.geometry.camera import Camera
from edge.perception.geometry.floor_position import (
    HEAD_BOB_FT,
    WIDTH_SWAY_SHARE,
    BodySize,
    FloorFix,
    locate,
)
from edge.perception.geometry.motion import MotionWindow, box_jumped

F64 = npt.NDArray[np.float64]

# Prior spread of a new track's velocity: a brisk walk (ft/s).
_INITIAL_SPEED_SD_FTPS = 5.0
# Median absolute deviation -> standard deviation for normally spread samples.
MAD_TO_SD = 1.4826


def _learnt(
    samples: Sequence[float],
    min_count: int,
    bounds: tuple[float, float],
    min_sd: float = 0.0,
    min_sd_share: float = 0.0,
) -> tuple[float, float] | None:
    """Median of the samples clamped to ``bounds`` and their scatter as a standard deviation,
    at least ``min_sd`` and ``min_sd_share`` of the size; None while there are fewer than
    ``min_count``."""
    if len(samples) < min_count:
        return None
    middle = median(samples)
    size = min(max(middle, bounds[0]), bounds[1])
    scatter = MAD_TO_SD * median([abs(value - middle) for value in samples])
    return size, max(scatter, min_sd, min_sd_share * size)


class _Sizes:
    """One track's latest measured head heights and widths (feet) and the (size, spread) of
    each learnt from them, None until enough are measured. Relearnt only when a sample
    arrives, not every frame."""

    def __init__(self, cfg: RangingConfig) -> None:
        self._cfg = cfg
        self._heights: deque[float] = deque(maxlen=cfg.learn_frames)
        self._widths: deque[float] = deque(maxlen=cfg.learn_frames)
        self.height: tuple[float, float] | None = None
        self.width: tuple[float, float] | None = None

    def add(self, height: float, width: float) -> None:
        """Keep the finite measurements and relearn the sizes they change."""
        cfg = self._cfg
        if math.isfinite(height):
            self._heights.append(height)
            self.height = _learnt(
                self._heights,
                cfg.learn_min_frames,
                cfg.learnt_height_range_ft,
                min_sd=HEAD_BOB_FT,
            )
        if math.isfinite(width):
            self._widths.append(width)
            self.width = _learnt(
                self._widths,
                cfg.learn_min_frames,
                cfg.learnt_width_range_ft,
                min_sd_share=WIDTH_SWAY_SHARE,
            )


class _FloorTrack:
    """Constant-velocity Kalman filter on one person's floor position: [x, y, vx, vy]."""

    def __init__(self, floor: F64, cov: F64, t: float) -> None:
        self.state = np.concatenate([floor, np.zeros(2)])
        self.cov = np.zeros((4, 4))
        self.cov[:2, :2] = cov
        self.cov[2:, 2:] = _INITIAL_SPEED_SD_FTPS**2 * np.eye(2)
        self.t = t

    def predict(self, t: float, accel_sd: float) -> None:
        dt = t - self.t
        if dt <= 0:
            return
        step = np.eye(4)
        step[0, 2] = step[1, 3] = dt
        q = accel_sd**2
        # kron([[dt^4/4, dt^3/2], [dt^3/2, dt^2]] * q, eye(2)), built directly
        noise = np.zeros((4, 4))
        noise[0, 0] = noise[1, 1] = q * (dt**4 / 4)
        noise[0, 2] = noise[1, 3] = noise[2, 0] = noise[3, 1] = q * (dt**3 / 2)
        noise[2, 2] = noise[3, 3] = q * dt**2
        self.state = step @ self.state
        self.cov = step @ self.cov @ step.T + noise
        self.t = t

    def correct(self, floor: F64, cov: F64) -> None:
        """Take a floor fix with its covariance."""
        self._measure(slice(0, 2), floor, cov)

    def hold_still(self, speed_sd: float) -> None:
        """Take "not moving, to within ``speed_sd`` ft/s" as a measurement of the velocity."""
        self._measure(slice(2, 4), np.zeros(2), speed_sd**2 * np.eye(2))

    def _measure(self, part: slice, value: F64, cov: F64) -> None:
        innovation = value - self.state[part]
        gain = np.linalg.solve(self.cov[part, part] + cov, self.cov[part, :]).T
        self.state = self.state + gain @ innovation
        self.cov = self.cov - gain @ self.cov[part, :]
        self.cov = (self.cov + self.cov.T) / 2


@dataclass(frozen=True, slots=True)
class RangeResult:
    """Per-track ranging, parallel arrays over the tracks passed to :meth:`Ranger.update`.

    ``floor_ft`` [M, 2] smoothed position; ``velocity_ftps`` [M, 2] its rate of change;
    ``distance_ft`` [M] to the counter; ``speed_ftps`` [M] radial (negative = approaching);
    ``zone_tta_s`` [M, Z] seconds until each zone ring is crossed inward (zones in the order
    given to the Ranger); ``truncated`` [M]; ``closing`` [M] moved toward the counter beyond
    the noise over the motion window; ``restarted`` [M] the track's box jumped in this frame
    and its position restarted from it (a merge, an occlusion, or the tracker's id passing to
    someone else). NaN = none.
    """

    track_ids: npt.NDArray[np.int64]
    floor_ft: F64
    velocity_ftps: F64
    distance_ft: F64
    speed_ftps: F64
    zone_tta_s: F64
    truncated: npt.NDArray[np.bool_]
    closing: npt.NDArray[np.bool_]
    restarted: npt.NDArray[np.bool_]

    @property
    def next_zone(self) -> npt.NDArray[np.int64]:
        """Index of the next ring each person will cross (-1: none predicted)."""
        if self.zone_tta_s.shape[1] == 0:
            return np.full(len(self.track_ids), -1, np.int64)
        filled = np.where(np.isfinite(self.zone_tta_s), self.zone_tta_s, np.inf)
        index = np.argmin(filled, axis=1)
        return np.where(np.isfinite(filled.min(axis=1)), index, -1).astype(np.int64)

    @property
    def tta_s(self) -> F64:
        """Seconds until the next ring is crossed: when the next cue is due (NaN: none)."""
        filled = np.where(np.isfinite(self.zone_tta_s), self.zone_tta_s, np.inf)
        soonest = filled.min(axis=1, initial=np.inf)
        return np.where(np.isfinite(soonest), soonest, np.nan)


def _ring_entry_times(offset: F64, velocity: F64, radii: F64, min_speed: float) -> F64:
    """Seconds [M, Z] until the straight path offset + velocity * t first enters each ring."""
    dist2 = np.einsum("ij,ij->i", offset, offset)
    dot = np.einsum("ij,ij->i", offset, velocity)
    speed2 = np.einsum("ij,ij->i", velocity, velocity)
    with np.errstate(invalid="ignore", divide="ignore"):
        radial = dot / np.sqrt(dist2)
        outside = dist2[:, None] - radii[None, :] ** 2
        disc = dot[:, None] ** 2 - speed2[:, None] * outside
        times = (-dot[:, None] - np.sqrt(disc)) / speed2[:, None]
    valid = (outside > 0) & (disc >= 0) & (radial < -min_speed)[:, None]
    return np.where(valid, times, np.nan)


class Ranger:
    """Floor position, distance, radial speed and time-to-arrival for each tracked person.

    Drive it with every frame's tracks; call :meth:`end` when tracks end::

        ranger = Ranger.from_config(config, camera)
        result = ranger.update(ids, xyxy, frame_time_s, (width, height))
    """

    def __init__(
        self,
        camera: Camera,
        counter_ft: Sequence[float],
        radii_ft: Sequence[float],
        cfg: RangingConfig | None = None,
    ) -> None:
        self._camera = camera
        self._counter = np.asarray(counter_ft, np.float64).reshape(2)
        self._radii = np.asarray(radii_ft, np.float64).reshape(-1)
        self._cfg = cfg or RangingConfig()
        self._tracks: dict[int, _FloorTrack] = {}
        self._sizes: dict[int, _Sizes] = {}
        self._windows: dict[int, MotionWindow] = {}
        self._boxes: dict[int, tuple[float, F64]] = {}  # last box seen and when

    @classmethod
    def from_config(cls, config: Config, camera: Camera) -> Ranger:
        """A Ranger for the configured counter, zones and ranging settings."""
        radii = [zone.radius_ft for zone in config.zones]
        return cls(camera, config.counter.position_ft, radii, config.ranging)

    def _body_sizes(self, ids: list[int]) -> BodySize:
        """Each track's learnt size, the configured one where none is learnt yet. A learnt
        size's spread is the scatter of the track's own measurements: it wobbles that much."""
        size = BodySize.default(self._cfg, len(ids))
        for row, track_id in enumerate(ids):
            sizes = self._sizes.get(track_id)
            if sizes is not None and sizes.height is not None:
                size.height_ft[row], size.height_sd_ft[row] = sizes.height
                size.height_wobble_ft[row] = size.height_sd_ft[row]
            if sizes is not None and sizes.width is not None:
                size.width_ft[row], size.width_sd_ft[row] = sizes.width
                size.width_wobble_ft[row] = size.width_sd_ft[row]
        return size

    def update(
        self,
        track_ids: npt.ArrayLike,
        xyxy: npt.ArrayLike,
        t: float,
        image_size: tuple[int, int],
    ) -> RangeResult:
        """Range the tracks seen in the frame captured at ``t`` seconds (monotonic clock)."""
        ids = np.asarray(track_ids, np.int64).reshape(-1)
        boxes = np.asarray(xyxy, np.float64).reshape(-1, 4)
        if len(boxes) != len(ids):
            raise ValueError(f"got {len(ids)} track ids but {len(boxes)} boxes")
        self._camera = self._camera.resized(image_size)
        fix = locate(self._camera, boxes, self._cfg, self._body_sizes(ids.tolist()))
        jumped = self._jumped(ids.tolist(), boxes, t)
        states, closing, restarted = self._filtered(ids.tolist(), fix, t, jumped)
        offset = states[:, :2] - self._counter
        distance = np.linalg.norm(offset, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            speed = np.einsum("ij,ij->i", offset, states[:, 2:]) / distance
        tta = _ring_entry_times(offset, states[:, 2:], self._radii, self._cfg.min_approach_ftps)
        return RangeResult(
            ids,
            states[:, :2],
            states[:, 2:],
            distance,
            speed,
            tta,
            fix.truncated,
            closing,
            restarted,
        )

    def _jumped(self, ids: list[int], boxes: F64, t: float) -> list[bool]:
        """Per row: the box jumped since the track's last box (see :func:`box_jumped`)."""
        cfg, jumped = self._cfg, []
        for track_id, box in zip(ids, boxes, strict=True):
            last = self._boxes.get(track_id)
            if not np.isfinite(box).all():
                jumped.append(False)
                continue
            self._boxes[track_id] = (t, box)
            jumped.append(
                last is not None
                and box_jumped(last[1], box, t - last[0], cfg.box_jump_share, cfg.box_change_per_s)
            )
        return jumped

    def _filtered(
        self, ids: list[int], fix: FloorFix, t: float, jumped: list[bool]
    ) -> tuple[F64, npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        """Each track's filter state [M, 4] after this frame's fixes (NaN: no position yet),
        whether it is closing in and whether it restarted; learns each track's sizes."""
        states = np.full((len(ids), 4), np.nan)
        closing = np.zeros(len(ids), np.bool_)
        restarted = np.zeros(len(ids), np.bool_)
        measured: list[bool] = np.asarray(np.isfinite(fix.floor_ft).all(axis=1)).tolist()
        sizes = zip(fix.height_ft.tolist(), fix.width_ft.tolist(), strict=True)
        for row, (track_id, (height, width)) in enumerate(zip(ids, sizes, strict=True)):
            learnt = self._sizes.get(track_id)
            if learnt is None:
                learnt = self._sizes[track_id] = _Sizes(self._cfg)
            learnt.add(height, width)
            window = self._windows.get(track_id)
            if window is None:  # made once per track, not on every frame's row
                window = self._windows[track_id] = MotionWindow(self._cfg.motion_window_s)
            track = self._tracks.get(track_id)
            if jumped[row] and measured[row] and track is not None:
                window.clear()
                track, restarted[row] = None, True
            if measured[row]:
                sd = self._radial_sd(fix.floor_ft[row], fix.jitter[row])
                size_sd = self._radial_sd(fix.floor_ft[row], fix.covariance[row])
                window.add(t, fix.floor_ft[row], sd, size_sd, int(fix.reference[row]))
            noise = fix.covariance[row] if window.mixed else fix.jitter[row]
            if track is None:
                if not measured[row]:
                    continue
                track = self._tracks[track_id] = _FloorTrack(fix.floor_ft[row], noise, t)
            else:
                track.predict(t, self._cfg.accel_noise_ftps2)
                if measured[row]:
                    track.correct(fix.floor_ft[row], noise)
            closing[row] = self._judge(track, window)
            states[row] = track.state
        return states, closing, restarted

    def _radial_sd(self, floor: F64, cov: F64) -> float:
        """A fix's spread (covariance ``cov``) along the line to the counter (ft)."""
        toward = self._counter - floor
        norm = float(np.linalg.norm(toward))
        if norm == 0:
            return float(np.sqrt(np.trace(cov) / 2))
        unit = toward / norm
        return float(np.sqrt(unit @ cov @ unit))

    def _judge(self, track: _FloorTrack, window: MotionWindow) -> bool:
        """Whether the window shows the person closing in beyond its noise; holds the filter
        still while it shows no movement beyond its noise."""
        move = window.movement(self._counter)
        if move.moved_ft < move.sd_ft:
            track.hold_still(move.sd_ft * np.sqrt(move.fixes) / window.window_s)
        return bool(move.closing_ft >= self._cfg.motion_sigmas * move.sd_ft)

    def end(self, track_ids: Iterable[int]) -> None:
        """Forget ended tracks."""
        for track_id in track_ids:
            for per_track in (self._tracks, self._sizes, self._windows, self._boxes):
                per_track.pop(int(track_id), None)
