"""Distance to the counter from tracked boxes: box -> floor position -> smoothed per track.

Position. The person's vertical axis runs through the box centre towards the image of the
straight-down direction (people lean in the image away from its centre); where it meets the
box bottom are the feet, whose ray meets the floor. A box edge touches the body's silhouette,
not its centre, so the point is then moved by ``body_radius_ft`` across the image rows (the
bottom edge is the near side of the feet, the top edge the far side of the head when the
camera looks down on it, the near side when it looks up).

Cut-off boxes. When a box reaches the bottom of the frame the feet are below it, and the box
bottom lies somewhere on the legs: its floor point is farther from the camera than the person,
an upper bound and no more. Two cues range such a box instead:

- head (box top inside the frame): the box top against a plane at the person's head height.
  Its error is the height error times range / (camera height - head height): a few inches
  from a camera well above heads, useless from one near head height.
- width (box sides inside the frame): the box width, less the lean across its height, against
  the person's apparent width gives the depth of the body along the box's centre ray. Its
  error is a share of the range, as large as the share by which the width is off, whatever
  the camera's height.

Each cue's floor covariance comes from its geometry (``pixel_noise_px`` of box jitter and the
spread of the height or width it assumes, carried through); the cues are averaged weighted by
their inverse covariances, so each counts where it is well conditioned: from 9 ft up the head
cue carries about three quarters of the weight at 10 ft, from head height the width cue nearly
all of it. The average is capped at the box bottom's bound: a cut-off box never makes a person
seem farther than the geometry allows.

Learnt sizes. Until a track has ``learn_min_frames`` frames with the whole box in view, the
cues assume ``head_height_ft`` and ``body_width_ft`` (with ``head_height_sd_ft`` and
``body_width_sd_ft`` of spread). Each such frame measures the track's own sizes: the height at
which the box-top ray passes over the foot position, and the width the box has at that
position's depth. The median of the latest ``learn_frames`` of them, clamped to a plausible
range, then replaces the defaults, and their scatter (at least an inch of head bob, a tenth of
the width for turning and arm swing) the spreads. Customers walk in from afar with their feet
in view, so when they are cut off near the counter, their own size is known.

Smoothing. Each track has a constant-velocity Kalman filter on the floor (feet, seconds). Its
measurement noise is the covariance above plus ``step_noise_ft`` of foot-point jitter as people
step, so far people are trusted less than near ones, and cut-off ones less than whole ones,
without tuning per site.

Outputs. ``distance_ft`` from the filtered position to the counter; ``speed_ftps`` its rate of
change (negative = approaching); ``zone_tta_s`` the time until the straight-line, constant-
velocity path first crosses each zone ring inward (NaN when the person is already inside that
ring, approaches slower than ``min_approach_ftps``, or would walk past without entering it);
``tta_s`` the earliest of those: the time to the next ring the person will cross, i.e. when the
next cue is due. NaN stands for "none" in every float output (no floor position yet, no
approach).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.camera import Camera
from edge.config import Config, RangingConfig

F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]

# Prior spread of a new track's velocity: a brisk walk (ft/s).
_INITIAL_SPEED_SD_FTPS = 5.0
# Finite-difference step for the measurement Jacobian.
_PIXEL_STEP = 1.0
# A learnt size is never trusted to better than this: heads bob by an inch or so as people
# walk (ft); a box's width changes as they turn and swing their arms (share of the width).
_MIN_LEARNT_HEIGHT_SD_FT = 0.1
_MIN_LEARNT_WIDTH_SHARE = 0.1
# Median absolute deviation -> standard deviation for normally spread samples.
_MAD_TO_SD = 1.4826


@dataclass(frozen=True, slots=True)
class BodySize:
    """What the cues assume of each person's body, parallel arrays over boxes (feet).

    ``height_ft`` of the head top and ``width_ft`` of the box at the body's depth, each with
    its spread (``*_sd_ft``).
    """

    height_ft: F64
    height_sd_ft: F64
    width_ft: F64
    width_sd_ft: F64

    @classmethod
    def default(cls, cfg: RangingConfig, count: int) -> BodySize:
        """The configured sizes for ``count`` people of whom nothing is known."""

        def filled(value: float) -> F64:
            return np.full(count, value, np.float64)

        return cls(
            filled(cfg.head_height_ft),
            filled(cfg.head_height_sd_ft),
            filled(cfg.body_width_ft),
            filled(cfg.body_width_sd_ft),
        )

    def __getitem__(self, rows: npt.NDArray[np.intp]) -> BodySize:
        return BodySize(
            self.height_ft[rows],
            self.height_sd_ft[rows],
            self.width_ft[rows],
            self.width_sd_ft[rows],
        )


@dataclass(frozen=True, slots=True)
class FloorFix:
    """Floor positions measured from boxes, before smoothing (parallel arrays over boxes).

    ``floor_ft`` [M, 2] (NaN where no cue ranges the box), ``covariance`` [M, 2, 2] in ft^2,
    ``truncated`` [M]: the box reaches the frame bottom. ``height_ft`` and ``width_ft`` [M]:
    the sizes this box measures (NaN unless the whole box is in view), to be learnt from.
    """

    floor_ft: F64
    covariance: F64
    truncated: Mask
    height_ft: F64
    width_ft: F64


@dataclass(frozen=True, slots=True)
class _Cue:
    """Floor positions [K, 2], d position / d pixel [K, 2, 2] and the rays' directions [K, 3]."""

    floor_ft: F64
    jac_px: F64
    rays: F64


def _finite(array: F64, dims: int) -> Mask:
    """Whether each entry over the first ``dims`` axes of ``array`` is all finite numbers."""
    flat = array.reshape(*array.shape[:dims], -1)
    return np.asarray(np.isfinite(flat).all(axis=-1), np.bool_)


def _ray_fans(camera: Camera, pixels: F64) -> F64:
    """Rays [3, K, 3] through the pixels [K, 2] and one pixel step right and down of them."""
    steps = np.array([[0.0, 0.0], [_PIXEL_STEP, 0.0], [0.0, _PIXEL_STEP]])
    shifted = (pixels[None, :, :] + steps[:, None, :]).reshape(-1, 2)
    return camera.rays(shifted).reshape(3, len(pixels), 3)


def _along(camera: Camera, fans: F64, scale: F64) -> tuple[F64, F64]:
    """Floor points [K, 2] ``scale`` [3, K] along each fan's rays, and d point / d pixel."""
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, np.nan)
    points = camera.centre[:2] + scale[..., None] * fans[..., :2]
    jac = np.stack([points[1] - points[0], points[2] - points[0]], axis=2) / _PIXEL_STEP
    return points[0], jac


def _on_planes(camera: Camera, fans: F64, plane_z: F64, radius: float, sign: float) -> _Cue:
    """Body centres from box-edge rays meeting the planes ``plane_z`` [K].

    The box edge touches the body where the image row is extreme, so the centre lies
    ``radius`` from the hit along the floor gradient of the row (``sign`` +1: towards rows
    further down the image, i.e. from a top edge; -1 from a bottom edge).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        hit, jac = _along(camera, fans, (plane_z - camera.centre[2]) / fans[..., 2])
    usable = _finite(jac, 1)
    gradient = np.linalg.inv(np.where(usable[:, None, None], jac, np.eye(2)))[:, 1, :]
    down_rows = gradient / np.linalg.norm(gradient, axis=1, keepdims=True)  # d v / d floor
    down_rows[~usable] = np.nan
    return _Cue(hit + sign * radius * down_rows, jac, fans[0])


def _by_width(camera: Camera, fans: F64, width_px: F64, width_ft: F64) -> _Cue:
    """Body centres along the box-centre rays at the depth where ``width_ft`` spans the box."""
    depth = camera.matrix[0, 0] * width_ft / width_px
    with np.errstate(divide="ignore", invalid="ignore"):
        floor, jac = _along(camera, fans, depth / (fans @ camera.rotation[2]))
    return _Cue(floor, jac, fans[0])


def _covariance(cue: _Cue, cfg: RangingConfig, along: F64, along_sd: F64) -> F64:
    """Floor covariance [K, 2, 2]: pixel noise, foot-step jitter and ``along_sd`` [K] of
    spread in the direction ``along`` [K, 2] (per unit of the assumed size)."""
    cov = cfg.pixel_noise_px**2 * cue.jac_px @ cue.jac_px.transpose(0, 2, 1)
    cov += cfg.step_noise_ft**2 * np.eye(2)
    cov += along_sd[:, None, None] ** 2 * np.einsum("ki,kj->kij", along, along)
    return cov


def _head_cue(camera: Camera, tops: F64, size: BodySize, cfg: RangingConfig) -> tuple[F64, F64]:
    """Floor positions and covariances of box tops ranged against the head heights."""
    cue = _on_planes(camera, _ray_fans(camera, tops), size.height_ft, cfg.body_radius_ft, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_ft = cue.rays[:, :2] / cue.rays[:, 2:]  # d position / d plane height
    return cue.floor_ft, _covariance(cue, cfg, per_ft, size.height_sd_ft)


def _width_cue(
    camera: Camera, centres: F64, width_px: F64, size: BodySize, cfg: RangingConfig
) -> tuple[F64, F64]:
    """Floor positions and covariances of boxes ranged by their width."""
    cue = _by_width(camera, _ray_fans(camera, centres), width_px, size.width_ft)
    offset = cue.floor_ft - camera.centre[:2]
    # Relative depth error: the assumed width's spread and both edges' pixel noise.
    share = np.hypot(size.width_sd_ft / size.width_ft, np.sqrt(2) * cfg.pixel_noise_px / width_px)
    return cue.floor_ft, _covariance(cue, cfg, offset, share)


def _combined(floors: F64, covs: F64) -> tuple[F64, F64]:
    """Inverse-covariance average [K, 2] and its covariance over cues [C, K, ...]; NaN cues
    are left out, and rows without any cue stay NaN."""
    valid = _finite(floors, 2) & _finite(covs, 2)
    info = np.zeros(covs.shape)
    info[valid] = np.linalg.inv(covs[valid])
    weighted = np.einsum("ckij,ckj->cki", info, np.where(valid[..., None], floors, 0.0))
    total = info.sum(axis=0)
    floor = np.full(floors.shape[1:], np.nan)
    cov = np.full(covs.shape[1:], np.nan)
    any_cue = valid.any(axis=0)
    cov[any_cue] = np.linalg.inv(total[any_cue])
    floor[any_cue] = np.einsum("kij,kj->ki", cov[any_cue], weighted.sum(axis=0)[any_cue])
    return floor, cov


def _axis_ends(camera: Camera, boxes: F64) -> tuple[F64, F64, F64]:
    """Pixels [M, 2] of each box centre and where the person's vertical axis meets the box's
    bottom and top rows.

    Away from the image centre of a tilted camera, people lean: vertical lines converge on
    the image of the straight-down direction. The axis is the line from that point through
    the box centre, so the feet are not simply at the bottom centre of the box.
    """
    down = camera.matrix @ camera.rotation @ np.array([0.0, 0.0, -1.0])  # homogeneous pixel
    centres = np.column_stack(
        [(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2, np.ones(len(boxes))]
    )
    axes = np.cross(centres, down)

    def on_row(rows: F64) -> F64:
        lines = np.column_stack([np.zeros_like(rows), np.ones_like(rows), -rows])
        points = np.cross(axes, lines)
        return np.column_stack([points[:, 0] / points[:, 2], rows])

    return centres[:, :2], on_row(boxes[:, 3]), on_row(boxes[:, 1])


def _measured_size(
    camera: Camera, floor: F64, centres: F64, width_px: F64, tops: F64, cfg: RangingConfig
) -> tuple[F64, F64]:
    """Head heights and widths [K] of people at known floor positions [K, 2]: the inverses of
    the head and width cues, so that ranging with a learnt size gives back the position."""
    top_fans = _ray_fans(camera, tops)
    # Planes a foot from the lens on the side the top ray goes to; the head cue is linear in
    # the plane height there.
    probe = camera.centre[2] + np.sign(top_fans[0, :, 2])
    cue = _on_planes(camera, top_fans, probe, cfg.body_radius_ft, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_ft = cue.rays[:, :2] / cue.rays[:, 2:]
        step = np.einsum("ki,ki->k", floor - cue.floor_ft, per_ft) / np.sum(per_ft**2, axis=1)
    height = probe + step

    rays = camera.rays(centres)
    offset = floor - camera.centre[:2]
    along = np.einsum("ki,ki->k", offset, rays[:, :2]) / np.sum(rays[:, :2] ** 2, axis=1)
    depth = along * (rays @ camera.rotation[2])
    width = width_px * depth / camera.matrix[0, 0]
    return height, width


def locate(
    camera: Camera, xyxy: npt.ArrayLike, cfg: RangingConfig, size: BodySize | None = None
) -> FloorFix:
    """Floor position of each box [M, 4] (xyxy pixels): from the feet, or for a box cut off at
    the bottom from its head and width cues, assuming ``size`` (default: the configured one)."""
    boxes = np.asarray(xyxy, np.float64).reshape(-1, 4)
    size = size or BodySize.default(cfg, len(boxes))
    width, height = camera.image_size
    margin = cfg.bottom_margin_px
    truncated = boxes[:, 3] >= height - margin
    top_in = boxes[:, 1] > margin
    sides_in = (boxes[:, 0] > margin) & (boxes[:, 2] < width - margin)
    centres, bottoms, tops = _axis_ends(camera, boxes)
    # A leaning person's box is wider than the body by the lean across its height.
    width_px = boxes[:, 2] - boxes[:, 0] - np.abs(tops[:, 0] - bottoms[:, 0])

    feet = _on_planes(
        camera, _ray_fans(camera, bottoms), np.zeros(len(boxes)), cfg.body_radius_ft, -1.0
    )
    floor = feet.floor_ft
    cov = _covariance(feet, cfg, np.zeros_like(floor), np.zeros(len(boxes)))

    rows = np.flatnonzero(truncated)
    if rows.size:
        cut = size[rows]
        head, head_cov = _head_cue(camera, tops[rows], cut, cfg)
        wide, wide_cov = _width_cue(camera, centres[rows], width_px[rows], cut, cfg)
        head[~top_in[rows]] = np.nan
        wide[~sides_in[rows]] = np.nan
        estimate, estimate_cov = _combined(np.stack([head, wide]), np.stack([head_cov, wide_cov]))
        bound = np.linalg.norm(floor[rows] - camera.centre[:2], axis=1)
        ranged = np.linalg.norm(estimate - camera.centre[:2], axis=1)
        better = np.isfinite(ranged) & ~(bound <= ranged)
        floor[rows[better]] = estimate[better]
        cov[rows[better]] = estimate_cov[better]

    whole = ~truncated & top_in & sides_in & _finite(floor, 1)
    heights = np.full(len(boxes), np.nan)
    widths = np.full(len(boxes), np.nan)
    if whole.any():
        heights[whole], widths[whole] = _measured_size(
            camera, floor[whole], centres[whole], width_px[whole], tops[whole], cfg
        )
    return FloorFix(floor, cov, truncated, heights, widths)


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
    values = np.asarray(samples, np.float64)
    median = float(np.median(values))
    size = float(np.clip(median, *bounds))
    scatter = _MAD_TO_SD * float(np.median(np.abs(values - median)))
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
        if np.isfinite(height):
            self._heights.append(height)
            self.height = _learnt(
                self._heights,
                cfg.learn_min_frames,
                cfg.learnt_height_range_ft,
                min_sd=_MIN_LEARNT_HEIGHT_SD_FT,
            )
        if np.isfinite(width):
            self._widths.append(width)
            self.width = _learnt(
                self._widths,
                cfg.learn_min_frames,
                cfg.learnt_width_range_ft,
                min_sd_share=_MIN_LEARNT_WIDTH_SHARE,
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
        step[:2, 2:] = dt * np.eye(2)
        per_axis = accel_sd**2 * np.array([[dt**4 / 4, dt**3 / 2], [dt**3 / 2, dt**2]])
        noise = np.kron(per_axis, np.eye(2))
        self.state = step @ self.state
        self.cov = step @ self.cov @ step.T + noise
        self.t = t

    def correct(self, floor: F64, cov: F64) -> None:
        innovation = floor - self.state[:2]
        gain = np.linalg.solve(self.cov[:2, :2] + cov, self.cov[:2, :]).T
        self.state = self.state + gain @ innovation
        self.cov = self.cov - gain @ self.cov[:2, :]
        self.cov = (self.cov + self.cov.T) / 2


@dataclass(frozen=True, slots=True)
class RangeResult:
    """Per-track ranging, parallel arrays over the tracks passed to :meth:`Ranger.update`.

    ``floor_ft`` [M, 2] smoothed position; ``distance_ft`` [M] to the counter; ``speed_ftps``
    [M] radial (negative = approaching); ``zone_tta_s`` [M, Z] seconds until each zone ring is
    crossed inward (zones in the order given to the Ranger); ``truncated`` [M]. NaN = none.
    """

    track_ids: npt.NDArray[np.int64]
    floor_ft: F64
    distance_ft: F64
    speed_ftps: F64
    zone_tta_s: F64
    truncated: npt.NDArray[np.bool_]

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

    @classmethod
    def from_config(cls, config: Config, camera: Camera) -> Ranger:
        """A Ranger for the configured counter, zones and ranging settings."""
        radii = [zone.radius_ft for zone in config.zones]
        return cls(camera, config.counter.position_ft, radii, config.ranging)

    def _body_sizes(self, ids: list[int]) -> BodySize:
        """Each track's learnt size, the configured one where none is learnt yet."""
        size = BodySize.default(self._cfg, len(ids))
        for row, track_id in enumerate(ids):
            sizes = self._sizes.get(track_id)
            if sizes is not None and sizes.height is not None:
                size.height_ft[row], size.height_sd_ft[row] = sizes.height
            if sizes is not None and sizes.width is not None:
                size.width_ft[row], size.width_sd_ft[row] = sizes.width
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
        states = np.full((len(ids), 4), np.nan)
        for row, track_id in enumerate(ids.tolist()):
            self._sizes.setdefault(track_id, _Sizes(self._cfg)).add(
                float(fix.height_ft[row]), float(fix.width_ft[row])
            )
            measured = bool(np.isfinite(fix.floor_ft[row]).all())
            track = self._tracks.get(track_id)
            if track is None:
                if not measured:
                    continue
                track = self._tracks[track_id] = _FloorTrack(
                    fix.floor_ft[row], fix.covariance[row], t
                )
            else:
                track.predict(t, self._cfg.accel_noise_ftps2)
                if measured:
                    track.correct(fix.floor_ft[row], fix.covariance[row])
            states[row] = track.state
        offset = states[:, :2] - self._counter
        distance = np.linalg.norm(offset, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            speed = np.einsum("ij,ij->i", offset, states[:, 2:]) / distance
        tta = _ring_entry_times(offset, states[:, 2:], self._radii, self._cfg.min_approach_ftps)
        return RangeResult(ids, states[:, :2], distance, speed, tta, fix.truncated)

    def end(self, track_ids: Iterable[int]) -> None:
        """Forget ended tracks."""
        for track_id in track_ids:
            self._tracks.pop(int(track_id), None)
            self._sizes.pop(int(track_id), None)
