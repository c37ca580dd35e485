"""The calibrated pinhole camera in counter coordinates: floor points <-> pixels.

Counter coordinates are feet: x and y on the floor, z up, right-handed (seen from above, y is
90 degrees counter-clockwise from x). The camera is OpenCV's model: a world point X goes to
camera coordinates R X + t, is divided by depth, distorted with OpenCV's coefficients and
mapped to pixels by K. Everything downstream (ranging, the calibration check) asks this one
class, so the distortion and the "behind the camera" cases are handled in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

# Points closer than this to the camera plane (feet of depth) are treated as not imaged.
_MIN_DEPTH_FT = 1e-3
_UNDISTORT_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 50, 1e-10)


def focal_from_hfov(width: float, hfov_deg: float) -> float:
    """Focal length in pixels of a distortion-free lens seeing ``hfov_deg`` across ``width`` px."""
    return float((width / 2) / np.tan(np.radians(hfov_deg) / 2))


def _monotonic_radius(distortion: F64) -> float:
    """Largest undistorted radius up to which the radial distortion is still increasing.

    Beyond it OpenCV's polynomial folds back, and a point far outside the view would be drawn
    inside the image; such points are reported as not imaged instead.
    """
    if not np.any(distortion):
        return float("inf")
    k = np.zeros(8)
    k[: distortion.size] = distortion
    r = np.linspace(0.0, 4.0, 4001)
    r2 = r * r
    num = 1 + k[0] * r2 + k[1] * r2**2 + k[4] * r2**3
    den = 1 + k[5] * r2 + k[6] * r2**2 + k[7] * r2**3
    distorted = r * num / den
    falling = np.flatnonzero((np.diff(distorted) <= 0) | (den[1:] <= 0))
    return float(r[falling[0]]) if falling.size else float("inf")


@dataclass(frozen=True, eq=False)
class Camera:
    """A pinhole camera with lens distortion, posed in counter coordinates (feet).

    ``matrix`` is K (3x3), ``rotation`` R (3x3, world to camera), ``translation`` t (3,),
    ``distortion`` OpenCV's k1 k2 p1 p2 [k3 [k4 k5 k6]] and ``image_size`` (width, height).
    """

    matrix: F64
    rotation: F64
    translation: F64
    distortion: F64
    image_size: tuple[int, int]
    _radial_limit: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_radial_limit", _monotonic_radius(self.distortion))

    @classmethod
    def from_pose(
        cls,
        position_ft: npt.ArrayLike,
        yaw_deg: float,
        tilt_deg: float,
        hfov_deg: float,
        image_size: tuple[int, int],
    ) -> Camera:
        """A level (no roll), distortion-free camera at ``position_ft`` (x, y, height).

        It faces ``yaw_deg`` counter-clockwise from the floor's x axis, ``tilt_deg`` below
        the horizon; the principal point is the image centre. For simulations and for a
        first guess when only the mounting is known.
        """
        yaw, tilt = np.radians(yaw_deg), np.radians(tilt_deg)
        forward = np.array([np.cos(yaw) * np.cos(tilt), np.sin(yaw) * np.cos(tilt), -np.sin(tilt)])
        right = np.array([np.sin(yaw), -np.cos(yaw), 0.0])
        down = np.cross(forward, right)
        rotation = np.vstack([right, down, forward])
        width, height = image_size
        focal = focal_from_hfov(width, hfov_deg)
        matrix = np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]])
        translation = -rotation @ np.asarray(position_ft, np.float64).reshape(3)
        return cls(matrix, rotation, translation, np.zeros(0), (int(width), int(height)))

    @property
    def centre(self) -> F64:
        """Camera centre in counter coordinates (feet)."""
        return -self.rotation.T @ self.translation

    @property
    def height_ft(self) -> float:
        """Height of the lens above the floor."""
        return float(self.centre[2])

    @property
    def tilt_deg(self) -> float:
        """How far the optical axis points below the horizon (degrees; negative = upwards)."""
        axis = self.rotation[2]  # the camera's z axis, in world coordinates
        return float(np.degrees(np.arcsin(np.clip(-axis[2], -1.0, 1.0))))

    def project(self, points: npt.ArrayLike) -> F64:
        """Pixels [N, 2] of world points [N, 3] (or floor points [N, 2], z = 0).

        Points behind the camera or outside the range where the lens model is valid give NaN.
        """
        world = _as_points3(points)
        cam = world @ self.rotation.T + self.translation
        pixels = np.full((len(world), 2), np.nan)
        depth = cam[:, 2]
        ok = depth > _MIN_DEPTH_FT
        with np.errstate(divide="ignore", invalid="ignore"):
            radius = np.hypot(cam[:, 0], cam[:, 1]) / depth
        ok &= radius < self._radial_limit
        if ok.any():
            projected, _ = cv2.projectPoints(
                cam[ok].reshape(-1, 1, 3), np.zeros(3), np.zeros(3), self.matrix, self.distortion
            )
            pixels[ok] = projected.reshape(-1, 2)
        return pixels

    def rays(self, pixels: npt.ArrayLike) -> F64:
        """Unit viewing directions [N, 3] in world coordinates through pixels [N, 2]."""
        px = np.asarray(pixels, np.float64).reshape(-1, 2)
        if len(px) == 0:
            return np.zeros((0, 3))
        normalised = cv2.undistortPoints(
            px.reshape(-1, 1, 2),
            self.matrix,
            self.distortion,
            criteria=_UNDISTORT_CRITERIA,
        ).reshape(-1, 2)
        cam = np.column_stack([normalised, np.ones(len(normalised))])
        world = cam @ self.rotation  # R^T applied to each row
        return np.asarray(world / np.linalg.norm(world, axis=1, keepdims=True), np.float64)

    def backproject(self, pixels: npt.ArrayLike, plane_z: float = 0.0) -> F64:
        """Floor positions [N, 2] where the rays through pixels [N, 2] meet the plane z = plane_z.

        NaN where the ray runs parallel to the plane or meets it behind the camera (for the
        floor: a pixel at or above the horizon).
        """
        rays = self.rays(pixels)
        centre = self.centre
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = (plane_z - centre[2]) / rays[:, 2]
        scale[~np.isfinite(scale) | (scale <= 0)] = np.nan
        return np.asarray(centre[:2] + scale[:, None] * rays[:, :2], np.float64)

    def resized(self, image_size: tuple[int, int]) -> Camera:
        """The same camera delivering frames of another size (same field of view)."""
        if tuple(image_size) == self.image_size:
            return self
        sx = image_size[0] / self.image_size[0]
        sy = image_size[1] / self.image_size[1]
        scale = np.diag([sx, sy, 1.0])
        return Camera(
            scale @ self.matrix,
            self.rotation,
            self.translation,
            self.distortion,
            (int(image_size[0]), int(image_size[1])),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and numbers, for YAML/JSON; the inverse of :meth:`from_dict`."""
        return {
            "image_size": list(self.image_size),
            "camera_matrix": self.matrix.tolist(),
            "rotation": self.rotation.tolist(),
            "translation_ft": self.translation.tolist(),
            "distortion": self.distortion.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Camera:
        """Build from :meth:`to_dict` output; raises ValueError naming a malformed entry."""
        shapes = {"camera_matrix": (3, 3), "rotation": (3, 3), "translation_ft": (3,)}
        arrays: dict[str, F64] = {}
        for key, shape in shapes.items():
            value = np.asarray(data.get(key), np.float64)
            if value.shape != shape or not np.isfinite(value).all():
                raise ValueError(f"camera {key} must be {len(shape)}-D numbers of shape {shape}")
            arrays[key] = value
        distortion = np.asarray(data.get("distortion") or [], np.float64).reshape(-1)
        if distortion.size not in (0, 4, 5, 8):
            raise ValueError("camera distortion must have 0, 4, 5 or 8 coefficients")
        size = data.get("image_size")
        if not (
            isinstance(size, list | tuple) and len(size) == 2 and all(int(s) > 0 for s in size)
        ):
            raise ValueError("camera image_size must be [width, height] in pixels")
        rotation = arrays["rotation"]
        if not np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-6):
            raise ValueError("camera rotation is not a rotation matrix")
        return cls(
            arrays["camera_matrix"],
            rotation,
            arrays["translation_ft"],
            distortion,
            (int(size[0]), int(size[1])),
        )


def _as_points3(points: npt.ArrayLike) -> F64:
    array = np.asarray(points, np.float64)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim == 2 and array.shape[1] == 2:
        array = np.column_stack([array, np.zeros(len(array))])
    if array.ndim != 2 or array.shape[1] != 3:
        raise ValueError(f"expected points of shape [N, 2] or [N, 3], got {array.shape}")
    return array
