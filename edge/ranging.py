"""Distance to the counter from tracked boxes: box -> floor position -> smoothed per track.

Position. The person's vertical axis runs through the box centre towards the image of the
straight-down direction (people lean in the image away from its centre); where it meets the
box bottom are the feet, whose ray meets the floor. A box edge touches the body's silhouette,
not its centre, so the point is then moved by ``body_radius_ft`` across the image rows (the
bottom edge is the near side of the feet, the top edge the far side of the head when the
camera looks down on it).

Cut-off boxes. When a box reaches the bottom of the frame the feet are below it, and the box
bottom lies somewhere on the legs: its floor point is farther from the camera than the person.
The box top is then ranged against a plane at ``head_height_ft`` instead, and the nearer of the
two estimates (horizontal distance from the camera) is kept. The foot estimate of a cut-off box
is a hard upper bound on how far the person can be; the head estimate is a guess that is too far
for people taller than ``head_height_ft``. Taking the nearer one means a cut-off box never makes
a person seem farther than the geometry allows; when the guess errs, it errs towards "closer",
an early cue rather than a late one. With the camera near head height the head estimate is
weak (its ray is almost parallel to the head plane); the measurement noise below says so.

Smoothing. Each track has a constant-velocity Kalman filter on the floor (feet, seconds). Its
measurement noise comes from the geometry: ``pixel_noise_px`` of box jitter and, for head
ranging, ``head_height_sd_ft`` of height spread, carried through the ray-plane intersection,
plus ``step_noise_ft`` of foot-point jitter as people step. Far people are therefore trusted
less than near ones, and head-ranged ones less than foot-ranged ones, without tuning per site.

Outputs. ``distance_ft`` from the filtered position to the counter; ``speed_ftps`` its rate of
change (negative = approaching); ``zone_tta_s`` the time until the straight-line, constant-
velocity path first crosses each zone ring inward (NaN when the person is already inside that
ring, approaches slower than ``min_approach_ftps``, or would walk past without entering it);
``tta_s`` the earliest of those: the time to the next ring the person will cross, i.e. when the
next cue is due. NaN stands for "none" in every float output (no floor position yet, no
approach).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.camera import Camera
from edge.config import Config, RangingConfig

F64 = npt.NDArray[np.float64]

# Prior spread of a new track's velocity: a brisk walk (ft/s).
_INITIAL_SPEED_SD_FTPS = 5.0
# Finite-difference steps for the measurement Jacobian.
_PIXEL_STEP = 1.0
_PLANE_STEP_FT = 0.05


@dataclass(frozen=True, slots=True)
class FloorFix:
    """Floor positions measured from boxes, before smoothing (parallel arrays over boxes).

    ``floor_ft`` [M, 2] (NaN where no ray meets its plane in front of the camera),
    ``covariance`` [M, 2, 2] in ft^2, ``truncated`` [M]: the box reaches the frame bottom.
    """

    floor_ft: F64
    covariance: F64
    truncated: npt.NDArray[np.bool_]


def _on_plane(
    camera: Camera,
    pixels: F64,
    plane_z: float,
    box_bottom: bool,
    plane_sd: float,
    cfg: RangingConfig,
) -> tuple[F64, F64]:
    """Floor position [K, 2] and covariance [K, 2, 2] of box-edge pixels on the plane z."""
    steps = np.array([[0.0, 0.0], [_PIXEL_STEP, 0.0], [0.0, _PIXEL_STEP]])
    shifted = (pixels[None, :, :] + steps[:, None, :]).reshape(-1, 2)
    hit, moved_u, moved_v = camera.backproject(shifted, plane_z).reshape(3, len(pixels), 2)
    jac_px = np.stack([moved_u - hit, moved_v - hit], axis=2) / _PIXEL_STEP  # [K, 2, 2]
    cov = cfg.pixel_noise_px**2 * jac_px @ jac_px.transpose(0, 2, 1)
    cov += cfg.step_noise_ft**2 * np.eye(2)
    if plane_sd > 0:
        raised = camera.backproject(pixels, plane_z + _PLANE_STEP_FT)
        jac_h = (raised - hit) / _PLANE_STEP_FT
        cov += plane_sd**2 * np.einsum("ki,kj->kij", jac_h, jac_h)

    unusable = ~np.isfinite(cov).all(axis=(1, 2)) | ~np.isfinite(hit).all(axis=1)
    jac_px[unusable] = np.eye(2)
    # The box edge touches the body where the image row is extreme: step from there to the
    # body's centre across the row lines, i.e. along the floor gradient of v.
    up_image = np.linalg.inv(jac_px)[:, 1, :]  # d v / d floor
    up_image /= np.linalg.norm(up_image, axis=1, keepdims=True)
    sign = -1.0 if box_bottom else 1.0
    position = hit + sign * cfg.body_radius_ft * up_image
    position[unusable] = np.nan
    return position, cov


def _axis_ends(camera: Camera, boxes: F64) -> tuple[F64, F64]:
    """Pixels [M, 2] where each person's vertical axis meets the box's bottom and top rows.

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

    return on_row(boxes[:, 3]), on_row(boxes[:, 1])


def locate(camera: Camera, xyxy: npt.ArrayLike, cfg: RangingConfig) -> FloorFix:
    """Floor position of each box [M, 4] (xyxy pixels): feet, or head when cut off."""
    boxes = np.asarray(xyxy, np.float64).reshape(-1, 4)
    bottoms, tops = _axis_ends(camera, boxes)
    truncated = boxes[:, 3] >= camera.image_size[1] - cfg.bottom_margin_px
    floor, cov = _on_plane(camera, bottoms, 0.0, True, 0.0, cfg)
    if truncated.any():
        head, head_cov = _on_plane(
            camera, tops[truncated], cfg.head_height_ft, False, cfg.head_height_sd_ft, cfg
        )
        foot_range = np.linalg.norm(floor[truncated] - camera.centre[:2], axis=1)
        head_range = np.linalg.norm(head - camera.centre[:2], axis=1)
        use_head = np.isfinite(head_range) & ~(foot_range <= head_range)
        rows = np.flatnonzero(truncated)[use_head]
        floor[rows] = head[use_head]
        cov[rows] = head_cov[use_head]
    return FloorFix(floor, cov, truncated)


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

    @classmethod
    def from_config(cls, config: Config, camera: Camera) -> Ranger:
        """A Ranger for the configured counter, zones and ranging settings."""
        radii = [zone.radius_ft for zone in config.zones]
        return cls(camera, config.counter.position_ft, radii, config.ranging)

    def update(
        self,
        track_ids: npt.ArrayLike,
        xyxy: npt.ArrayLike,
        t: float,
        image_size: tuple[int, int],
    ) -> RangeResult:
        """Range the tracks seen in the frame captured at ``t`` seconds (monotonic clock)."""
        ids = np.asarray(track_ids, np.int64).reshape(-1)
        self._camera = self._camera.resized(image_size)
        fix = locate(self._camera, xyxy, self._cfg)
        if len(fix.floor_ft) != len(ids):
            raise ValueError(f"got {len(ids)} track ids but {len(fix.floor_ft)} boxes")
        states = np.full((len(ids), 4), np.nan)
        for row, track_id in enumerate(ids.tolist()):
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
