"""The Tsai camera model of the PETS 2009 calibration files (millimetres, ground plane z = 0).

greetcue runs on OpenCV's pinhole model
(edge.perception.geometry.camera); this reader exists so the PETS example
configuration can be derived from, and checked against, the dataset's own calibration.
Model (see the footage's SOURCE.md): Xc = R Xw + T with R = Rz(rz) Ry(ry) Rx(rx); undistorted
sensor coordinates Xu = f xc/zc; radial distortion Xu = Xd (1 + kappa1 (Xd^2 + Yd^2)); pixels
u = sx Xd / dpx + Cx, v = Yd / dpy + Cy.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

MM_PER_FT = 304.8


class TsaiError(ValueError):
    """The Tsai calibration file is missing or malformed."""


def _rotation(rx: float, ry: float, rz: float) -> F64:
    cx, sx, cy, sy, cz, sz = np.cos(rx), np.sin(rx), np.cos(ry), np.sin(ry), np.cos(rz), np.sin(rz)
    rot_x = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    rot_y = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rot_z = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return np.asarray(rot_z @ rot_y @ rot_x, np.float64)


@dataclass(frozen=True, eq=False)
class PinholeLens:
    """A Tsai lens expressed in OpenCV terms: focal length and principal point in pixels,
    distortion k1 k2 p1 p2 fitted to Tsai's radial model over the image."""

    focal_px: tuple[float, float]
    principal_px: tuple[float, float]
    distortion: tuple[float, float, float, float]


@dataclass(frozen=True, eq=False)
class TsaiCamera:
    """One Tsai-calibrated camera: intrinsics in sensor millimetres, pose in world mm."""

    image_size: tuple[int, int]
    focal_mm: float
    kappa1: float
    centre_px: tuple[float, float]
    sx: float
    dpx: float
    dpy: float
    rotation: F64
    translation: F64

    @classmethod
    def from_xml(cls, path: Path | str) -> TsaiCamera:
        """Read a PETS ``<Camera>`` file (Geometry, Intrinsic, Extrinsic elements)."""
        path = Path(path)
        if not path.is_file():
            raise TsaiError(f"Tsai calibration {path} does not exist; pass e.g. View_001.xml")
        try:
            root = ET.parse(path).getroot()
            geo, intr, extr = (root.find(tag) for tag in ("Geometry", "Intrinsic", "Extrinsic"))
            if geo is None or intr is None or extr is None:
                raise TsaiError(f"{path} lacks <Geometry>, <Intrinsic> or <Extrinsic>")
            g, i, e = geo.attrib, intr.attrib, extr.attrib
            return cls(
                image_size=(int(g["width"]), int(g["height"])),
                focal_mm=float(i["focal"]),
                kappa1=float(i["kappa1"]),
                centre_px=(float(i["cx"]), float(i["cy"])),
                sx=float(i["sx"]),
                dpx=float(g["dpx"]),
                dpy=float(g["dpy"]),
                rotation=_rotation(float(e["rx"]), float(e["ry"]), float(e["rz"])),
                translation=np.array([float(e["tx"]), float(e["ty"]), float(e["tz"])]),
            )
        except ET.ParseError as exc:
            raise TsaiError(f"{path} is not valid XML: {exc}") from None
        except (KeyError, ValueError) as exc:
            raise TsaiError(f"{path}: missing or non-numeric calibration value {exc}") from None

    @property
    def centre_mm(self) -> F64:
        """Camera centre in world millimetres."""
        return -self.rotation.T @ self.translation

    def project(self, world_mm: npt.ArrayLike) -> F64:
        """Pixels [N, 2] of world points [N, 3] in mm; NaN for points behind the camera."""
        world = np.asarray(world_mm, np.float64).reshape(-1, 3)
        cam = world @ self.rotation.T + self.translation
        with np.errstate(divide="ignore", invalid="ignore"):
            undistorted = self.focal_mm * cam[:, :2] / cam[:, 2:3]
        undistorted[cam[:, 2] <= 0] = np.nan
        radius_u = np.hypot(undistorted[:, 0], undistorted[:, 1])
        radius_d = self._distorted_radius(radius_u)
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(radius_u > 0, radius_d / radius_u, 1.0)
        distorted = undistorted * factor[:, None]
        u = self.sx * distorted[:, 0] / self.dpx + self.centre_px[0]
        v = distorted[:, 1] / self.dpy + self.centre_px[1]
        return np.column_stack([u, v])

    def ground_points(self, pixels: npt.ArrayLike, z_mm: float = 0.0) -> F64:
        """World (x, y) in mm [N, 2] where rays through pixels [N, 2] meet the plane z = z_mm."""
        px = np.asarray(pixels, np.float64).reshape(-1, 2)
        xd = (px[:, 0] - self.centre_px[0]) * self.dpx / self.sx
        yd = (px[:, 1] - self.centre_px[1]) * self.dpy
        factor = 1 + self.kappa1 * (xd**2 + yd**2)
        rays_cam = np.column_stack([xd * factor, yd * factor, np.full(len(px), self.focal_mm)])
        rays = rays_cam @ self.rotation  # R^T applied to each row
        centre = self.centre_mm
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = (z_mm - centre[2]) / rays[:, 2]
        scale[scale <= 0] = np.nan
        return np.asarray(centre[:2] + scale[:, None] * rays[:, :2], np.float64)

    def ground_points_ft(self, pixels: npt.ArrayLike) -> F64:
        """World (x, y) in feet [N, 2] of the floor (z = 0) under pixels [N, 2]: the dataset's
        origin and axes, in the units greetcue's configuration uses."""
        return self.ground_points(pixels) / MM_PER_FT

    def _distorted_radius(self, radius_u: F64) -> F64:
        """Invert r_u = r_d (1 + kappa1 r_d^2) by Newton's method (a few steps suffice)."""
        radius_d = radius_u.copy()
        for _ in range(30):
            step = (radius_d * (1 + self.kappa1 * radius_d**2) - radius_u) / (
                1 + 3 * self.kappa1 * radius_d**2
            )
            radius_d -= step
        return radius_d

    def pinhole_lens(self) -> PinholeLens:
        """OpenCV intrinsics equivalent to this lens; k1, k2 are a least-squares fit of Tsai's
        radial model out to the image corners (Tsai distorts the other way round to OpenCV)."""
        fx = self.focal_mm * self.sx / self.dpx
        fy = self.focal_mm / self.dpy
        width, height = self.image_size
        corners = np.array([[0, 0], [width, 0], [0, height], [width, height]], np.float64)
        corner_offsets = (corners - self.centre_px) / (fx, fy)
        max_radius_d = float(np.hypot(corner_offsets[:, 0], corner_offsets[:, 1]).max())
        radius_d = np.linspace(max_radius_d / 200, max_radius_d, 200)  # normalised, distorted
        radius_u = radius_d * (1 + self.kappa1 * self.focal_mm**2 * radius_d**2)
        design = np.column_stack([radius_u**2, radius_u**4])
        (k1, k2), *_ = np.linalg.lstsq(design, radius_d / radius_u - 1, rcond=None)
        return PinholeLens((float(fx), float(fy)), self.centre_px, (float(k1), float(k2), 0.0, 0.0))


def example_floor_points(tsai: TsaiCamera) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Nine well-spread (pixel, floor_ft) pairs, as an integrator with a tape measure would take.

    A 3 x 3 grid of image positions over the visible ground is back-projected to the floor,
    rounded to whole feet, and projected back through Tsai (pixels rounded to 0.1 px). World
    millimetres become feet with the same origin and axes.
    """
    width, height = tsai.image_size
    targets = np.array(
        [(fu * width, fv * height) for fv in (0.3, 0.6, 0.9) for fu in (0.1, 0.5, 0.9)]
    )
    floor_ft = np.round(tsai.ground_points_ft(targets))
    floor_mm = np.column_stack([floor_ft * MM_PER_FT, np.zeros(len(floor_ft))])
    pixels = np.round(tsai.project(floor_mm), 1)
    return [
        ((float(u), float(v)), (float(x), float(y)))
        for (u, v), (x, y) in zip(pixels, floor_ft, strict=True)
    ]
