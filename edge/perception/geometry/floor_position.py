"""Floor position of each person from one frame's boxes, with its covariance; no state.

Position. The person's vertical axis runs through the box centre towards the image of the
straight-down direction (people lean in the image away from its centre); where it meets the
box bottom are the feet, whose ray meets the floor. A box edge touches the body's silhouette,
not its centre, so the point is then moved by ``body_radius_ft`` across the image rows (the
bottom edge is the near side of the feet, the top edge the far side of the head when the
camera looks down on it, the near side when it looks up).

Cut-off boxes. When a box reaches the bottom of the frame the feet are below it, and the box
bottom lies somewhere on the legs: its floor point is farther from the camera than the person,
an upper bound and no more. Two cues range such a box instead, each assuming a body size
(:class:`BodySize`: the configured one, or the track's own learnt by
``edge.perception.geometry.ranging``):

- head (box top inside the frame): the box top against a plane at the person's head height.
  Its error is the height error times range / (camera height - head height): a few inches
  from a camera well above heads, useless from one near head height.
- width (box sides inside the frame): the box width, less the lean across its height, against
  the person's apparent width gives the depth of the body along the box's centre ray. Its
  error is a share of the range, as large as the share by which the width is off, whatever
  the camera's height.

Each cue's floor covariance comes from its geometry (``pixel_noise_px`` of box jitter and the
spread of the height or width it assumes, carried through, plus ``step_noise_ft`` of foot-point
jitter as people step); the cues are averaged weighted by their inverse covariances, so each
counts where it is well conditioned: from 9 ft up the head cue carries about three quarters of
the weight at 10 ft, from head height the width cue nearly all of it. The average is capped at
the box bottom's bound: a cut-off box never makes a person seem farther than the geometry
allows.

Jitter. A size assumed for a person is off by the same amount on every frame: people's spread
around ``head_height_ft`` or ``body_width_ft`` scales the distances of all of one person's
fixes alike, so it never makes a displacement. From one frame to the next the fixes of one
person, ranged the same way (:attr:`FloorFix.reference`), differ only by the box jitter, the
steps and the wobble of the apparent size (``BodySize.*_wobble_ft``: heads bob, arms swing,
people turn): :attr:`FloorFix.jitter`, the noise against which movement is judged.

Sizes. A box wholly in view measures its person's sizes: the height at which the box-top ray
passes over the foot position, and the width the box has at that position's depth (the cues'
inverses, so ranging with a learnt size gives the position back).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.config import RangingConfig
from edge.perception.geometry.camera import Camera

F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]

# Finite-difference step for the measurement Jacobian.
_PIXEL_STEP = 1.0
# How much one person's apparent size changes from frame to frame: heads bob by an inch or so
# as people walk (ft); a box's width changes as they turn and swing their arms (share of the
# width).
HEAD_BOB_FT = 0.1
WIDTH_SWAY_SHARE = 0.1
# How a fix was made (FloorFix.reference): from the box bottom, else one bit per cut-off cue.
FROM_BOTTOM, HEAD_CUE, WIDTH_CUE = 0, 1, 2


@dataclass(frozen=True, slots=True)
class BodySize:
    """What the cues assume of each person's body, parallel arrays over boxes (feet).

    ``height_ft`` of the head top and ``width_ft`` of the box at the body's depth, each with
    its spread (``*_sd_ft``) and how much of that the size wobbles from frame to frame
    (``*_wobble_ft``; the rest is the same on every frame of one person).
    """

    height_ft: F64
    height_sd_ft: F64
    width_ft: F64
    width_sd_ft: F64
    height_wobble_ft: F64
    width_wobble_ft: F64

    @classmethod
    def default(cls, cfg: RangingConfig, count: int) -> BodySize:
        """The configured sizes for ``count`` people of whom nothing is known: their spread is
        people's, around the assumed size; only head bob and sway wobble."""

        def filled(value: float) -> F64:
            return np.full(count, value, np.float64)

        return cls(
            filled(cfg.head_height_ft),
            filled(cfg.head_height_sd_ft),
            filled(cfg.body_width_ft),
            filled(cfg.body_width_sd_ft),
            filled(min(HEAD_BOB_FT, cfg.head_height_sd_ft)),
            filled(min(WIDTH_SWAY_SHARE * cfg.body_width_ft, cfg.body_width_sd_ft)),
        )

    def __getitem__(self, rows: npt.NDArray[np.intp]) -> BodySize:
        return BodySize(
            self.height_ft[rows],
            self.height_sd_ft[rows],
            self.width_ft[rows],
            self.width_sd_ft[rows],
            self.height_wobble_ft[rows],
            self.width_wobble_ft[rows],
        )


@dataclass(frozen=True, slots=True)
class FloorFix:
    """Floor positions measured from boxes, before smoothing (parallel arrays over boxes).

    ``floor_ft`` [M, 2] (NaN where no cue ranges the box), ``covariance`` [M, 2, 2] in ft^2,
    ``truncated`` [M]: the box reaches the frame bottom. ``height_ft`` and ``width_ft`` [M]:
    the sizes this box measures (NaN unless the whole box is in view), to be learnt from.
    ``jitter`` [M, 2, 2]: the part of ``covariance`` that differs from frame to frame between
    fixes of one person made the same way, ``reference`` [M] (:data:`FROM_BOTTOM`, or the
    cut-off cues used, :data:`HEAD_CUE` | :data:`WIDTH_CUE`); see the module docstring.
    """

    floor_ft: F64
    covariance: F64
    truncated: Mask
    height_ft: F64
    width_ft: F64
    jitter: F64
    reference: npt.NDArray[np.int8]


@dataclass(frozen=True, slots=True)
class _Cue:
    """Floor positions [K, 2], d position / d pixel [K, 2, 2] and the rays' directions [K, 3]."""

    floor_ft: F64
    jac_px: F64
    rays: F64


def _finite(array: F64, dims: int) -> Mask:
    """Whether each entry over the first ``dims`` axes of ``array`` is all finite numbers."""
    rest = tuple(range(dims, array.ndim))  # not a reshape: it cannot infer -1 with no rows
    return np.asarray(np.isfinite(array).all(axis=rest), np.bool_)


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


def _head_cue(
    camera: Camera, tops: F64, size: BodySize, cfg: RangingConfig
) -> tuple[F64, F64, F64]:
    """Floor positions, covariances and jitter of box tops ranged against the head heights."""
    cue = _on_planes(camera, _ray_fans(camera, tops), size.height_ft, cfg.body_radius_ft, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_ft = cue.rays[:, :2] / cue.rays[:, 2:]  # d position / d plane height
    cov = _covariance(cue, cfg, per_ft, size.height_sd_ft)
    return cue.floor_ft, cov, _covariance(cue, cfg, per_ft, size.height_wobble_ft)


def _width_cue(
    camera: Camera, centres: F64, width_px: F64, size: BodySize, cfg: RangingConfig
) -> tuple[F64, F64, F64]:
    """Floor positions, covariances and jitter of boxes ranged by their width."""
    cue = _by_width(camera, _ray_fans(camera, centres), width_px, size.width_ft)
    offset = cue.floor_ft - camera.centre[:2]
    # Relative depth error: the assumed width's spread (its wobble) and both edges' pixel noise.
    edges = np.sqrt(2) * cfg.pixel_noise_px / width_px
    share = np.hypot(size.width_sd_ft / size.width_ft, edges)
    wobble = np.hypot(size.width_wobble_ft / size.width_ft, edges)
    return cue.floor_ft, _covariance(cue, cfg, offset, share), _covariance(cue, cfg, offset, wobble)


def _combined(floors: F64, covs: F64, jitters: F64) -> tuple[F64, F64, F64]:
    """Inverse-covariance average [K, 2], its covariance and its jitter over cues [C, K, ...]
    (each cue's jitter carried through its weight); NaN cues are left out, and rows without
    any cue stay NaN."""
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
    gain = np.einsum("kij,ckjl->ckil", np.nan_to_num(cov), info)
    jitter = np.einsum(
        "ckij,ckjl,ckml->kim", gain, np.where(valid[..., None, None], jitters, 0.0), gain
    )
    jitter[~any_cue] = np.nan
    return floor, cov, jitter


def _axis_ends(camera: Camera, boxes: F64) -> tuple[F64, F64, F64]:
    """Pixels [M, 2] of each box centre and where the person's vertical axis meets the box's
    bottom and top rows.

    Away from the image centre of a tilted camera, people lean: vertical lines converge on
    the image of the straight-down direction. The axis is the line from that point through
    the box centre, so the feet are not simply at the bottom centre of the box.
    """
    down = camera.matrix @ camera.rotation @ np.array([0.0, 0.0, -1.0])  # homogeneous pixel
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2
    # The axes: (cx, cy, 1) x down, written out (np.cross's own arithmetic, without its
    # per-call overhead).
    ax0 = cy * down[2] - down[1]
    ax1 = down[0] - cx * down[2]
    ax2 = cx * down[1] - cy * down[0]

    def on_row(rows: F64) -> F64:
        # Where each axis meets the image row: axis x (0, 1, -row), dehomogenised.
        x = (ax1 * -rows - ax2) / (ax0 - ax1 * 0.0)
        return np.column_stack([x, rows])

    return np.column_stack([cx, cy]), on_row(boxes[:, 3]), on_row(boxes[:, 1])


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
    jitter = cov.copy()  # the box bottom assumes no size
    reference = np.full(len(boxes), FROM_BOTTOM, np.int8)

    rows = np.flatnonzero(truncated)
    if rows.size:
        cut = size[rows]
        head, head_cov, head_jitter = _head_cue(camera, tops[rows], cut, cfg)
        wide, wide_cov, wide_jitter = _width_cue(camera, centres[rows], width_px[rows], cut, cfg)
        head[~top_in[rows]] = np.nan
        wide[~sides_in[rows]] = np.nan
        estimate, estimate_cov, estimate_jitter = _combined(
            np.stack([head, wide]),
            np.stack([head_cov, wide_cov]),
            np.stack([head_jitter, wide_jitter]),
        )
        bound = np.linalg.norm(floor[rows] - camera.centre[:2], axis=1)
        ranged = np.linalg.norm(estimate - camera.centre[:2], axis=1)
        better = np.isfinite(ranged) & ~(bound <= ranged)
        floor[rows[better]] = estimate[better]
        cov[rows[better]] = estimate_cov[better]
        jitter[rows[better]] = estimate_jitter[better]
        cues = np.where(_finite(head, 1), HEAD_CUE, 0) | np.where(_finite(wide, 1), WIDTH_CUE, 0)
        reference[rows[better]] = cues[better]

    whole = ~truncated & top_in & sides_in & _finite(floor, 1)
    heights = np.full(len(boxes), np.nan)
    widths = np.full(len(boxes), np.nan)
    if whole.any():
        heights[whole], widths[whole] = _measured_size(
            camera, floor[whole], centres[whole], width_px[whole], tops[whole], cfg
        )
    return FloorFix(floor, cov, truncated, heights, widths, jitter, reference)
