"""Solve the camera (K, R, t) in counter coordinates from the configuration and a snapshot.

Two ways in: four or more floor points (pixel <-> floor position in feet), or an ArUco marker
of known size lying on the floor, found in the snapshot. Either way the lens comes from
``camera.hfov_deg`` or ``camera.focal_px`` (plus optional principal point and distortion) and
the pose from OpenCV's solvePnP on the floor plane z = 0. The result is checked the way an
integrator would: residuals in inches on the floor, camera height and tilt, point spread.

``greetcue calibrate --out FILE`` writes the solved camera as YAML (see :func:`save_camera`);
``calibration.camera_file`` makes the edge process load it instead of solving at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import yaml

from edge.config import ArucoMarker, CalibrationConfig, CameraConfig, Config
from edge.perception.geometry.camera import Camera, focal_from_hfov

F64 = npt.NDArray[np.float64]

INCHES_PER_FT = 12.0
PLAUSIBLE_HEIGHT_FT = (4.0, 30.0)
# Below these the pose rests on too little of the image or of the floor.
MIN_IMAGE_COVERAGE = 0.10
MIN_FLOOR_SPREAD = 0.15


class CalibrationError(ValueError):
    """The camera cannot be solved from the configuration and snapshot given."""


@dataclass(frozen=True, eq=False)
class Calibration:
    """A solved camera and the correspondences it was solved from."""

    camera: Camera
    pixels: F64  # [N, 2] observed
    floor_ft: F64  # [N, 2] measured

    @property
    def reprojected_px(self) -> F64:
        """Where the solved camera puts each floor point [N, 2]."""
        return self.camera.project(self.floor_ft)

    @property
    def residual_px(self) -> F64:
        """Image distance between observed and reprojected points [N]."""
        return np.asarray(np.linalg.norm(self.reprojected_px - self.pixels, axis=1), np.float64)

    @property
    def residual_in(self) -> F64:
        """Floor distance (inches) between each measured point and its pixel's ray on the
        floor [N]: how far off a person standing there would be ranged."""
        on_floor = self.camera.backproject(self.pixels)
        return np.asarray(
            np.linalg.norm(on_floor - self.floor_ft, axis=1) * INCHES_PER_FT, np.float64
        )


def read_snapshot(path: Path | str) -> npt.NDArray[np.uint8]:
    """A BGR snapshot from an image file (or the first frame of a video)."""
    path = Path(path)
    if not path.is_file():
        raise CalibrationError(f"snapshot {path} does not exist; pass a frame from this camera")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        capture = cv2.VideoCapture(str(path))
        ok, image = capture.read()
        capture.release()
        if not ok:
            raise CalibrationError(
                f"snapshot {path} is neither an image nor a video OpenCV can read; "
                "save a frame as PNG or JPEG"
            )
    return np.asarray(image, np.uint8)


def lens(cfg: CameraConfig, image_size: tuple[int, int]) -> tuple[F64, F64]:
    """Camera matrix K and distortion coefficients for frames of ``image_size``."""
    width, height = image_size
    if cfg.focal_px is not None:
        fx, fy = cfg.focal_px
    else:
        assert cfg.hfov_deg is not None  # the config validator guarantees one of the two
        fx = fy = focal_from_hfov(width, cfg.hfov_deg)
    cx, cy = cfg.principal_px if cfg.principal_px is not None else (width / 2, height / 2)
    matrix = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
    return matrix, np.asarray(cfg.distortion or [], np.float64)


def solve_pose(
    pixels: npt.ArrayLike,
    floor_ft: npt.ArrayLike,
    matrix: F64,
    distortion: F64,
    image_size: tuple[int, int],
) -> Calibration:
    """The camera pose that images floor points (z = 0) at the given pixels.

    IPPE gives both poses a planar target allows; the one with the smaller reprojection
    error is refined by Levenberg-Marquardt.
    """
    px = np.asarray(pixels, np.float64).reshape(-1, 2)
    floor = np.asarray(floor_ft, np.float64).reshape(-1, 2)
    if len(px) < 4 or len(px) != len(floor):
        raise CalibrationError(f"need 4 or more pixel <-> floor pairs, got {len(px)}")
    object_points = np.column_stack([floor, np.zeros(len(floor))])
    try:
        count, rvecs, tvecs, errors = cv2.solvePnPGeneric(
            object_points, px, matrix, distortion, flags=cv2.SOLVEPNP_IPPE
        )
    except cv2.error as exc:
        raise CalibrationError(
            f"solvePnP failed ({exc.err}); are the floor points distinct and not all on a line?"
        ) from None
    if count == 0:
        raise CalibrationError("no camera pose fits the floor points; check pixel/floor pairs")
    best = int(np.argmin(np.asarray(errors).reshape(-1)))
    rvec, tvec = cv2.solvePnPRefineLM(
        object_points, px, matrix, distortion, rvecs[best], tvecs[best]
    )
    rotation, _ = cv2.Rodrigues(rvec)
    camera = Camera(
        matrix,
        np.asarray(rotation, np.float64),
        np.asarray(tvec, np.float64).reshape(3),
        distortion,
        image_size,
    )
    if camera.height_ft < 0:
        raise CalibrationError(
            "the floor points put the camera below the floor: their axes are mirrored. "
            "Seen from above, y must be 90 degrees counter-clockwise from x; "
            "negate the x (or y) of every floor_ft"
        )
    return Calibration(camera, px, floor)


def find_marker(image: npt.NDArray[np.uint8], marker: ArucoMarker) -> tuple[F64, F64]:
    """Pixel [4, 2] and floor [4, 2] positions of the marker's corners in the snapshot.

    OpenCV lists corners clockwise from the top-left of the printed marker; on the floor the
    marker's x axis points along ``yaw_deg`` and its top edge lies towards its +y side.
    """
    try:
        dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, marker.dictionary))
    except AttributeError:
        raise CalibrationError(
            f"calibration.aruco.dictionary {marker.dictionary!r} is not an OpenCV ArUco "
            "dictionary; use a name such as DICT_4X4_50 or DICT_6X6_250"
        ) from None
    parameters = cv2.aruco.DetectorParameters()
    parameters.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_SUBPIX  # the pose needs it
    detector = cv2.aruco.ArucoDetector(dictionary, parameters)
    corners, ids, _ = detector.detectMarkers(image)
    found = [
        c
        for c, i in zip(corners, [] if ids is None else ids.ravel(), strict=False)
        if i == marker.id
    ]
    if not found:
        seen = sorted(set(ids.ravel().tolist())) if ids is not None else []
        raise CalibrationError(
            f"ArUco marker {marker.id} ({marker.dictionary}) is not in the snapshot "
            f"(markers seen: {seen or 'none'}); check the id and dictionary, light and focus"
        )
    if len(found) > 1:
        raise CalibrationError(f"ArUco marker {marker.id} appears {len(found)} times; show it once")
    half = marker.size_ft / 2
    local = np.array([[-half, half], [half, half], [half, -half], [-half, -half]])
    yaw = np.radians(marker.yaw_deg)
    turn = np.array([[np.cos(yaw), -np.sin(yaw)], [np.sin(yaw), np.cos(yaw)]])
    floor = local @ turn.T + np.asarray(marker.floor_ft)
    return np.asarray(found[0], np.float64).reshape(4, 2), floor


def calibrate(config: Config, image: npt.NDArray[np.uint8]) -> Calibration:
    """Solve the camera of ``config`` for frames like ``image`` (the snapshot)."""
    if config.calibration is None or (
        config.calibration.floor_points is None and config.calibration.aruco is None
    ):
        raise CalibrationError(
            "the configuration has no calibration.floor_points or calibration.aruco to solve from"
        )
    height, width = image.shape[:2]
    cal = config.calibration
    if cal.floor_points is not None:
        pixels, floor = _floor_pairs(cal)
    else:
        assert cal.aruco is not None
        pixels, floor = find_marker(image, cal.aruco)
    return solve_pose(pixels, floor, *lens(config.camera, (width, height)), (width, height))


def _floor_pairs(cal: CalibrationConfig) -> tuple[F64, F64]:
    assert cal.floor_points is not None
    pixels = np.array([p.pixel for p in cal.floor_points], np.float64)
    floor = np.array([p.floor_ft for p in cal.floor_points], np.float64)
    return pixels, floor


def check(calibration: Calibration, config: Config) -> list[str]:
    """Warnings an integrator should act on before trusting the calibration."""
    warnings: list[str] = []
    camera = calibration.camera
    assert config.calibration is not None
    limit = config.calibration.max_residual_in
    for index, residual in enumerate(calibration.residual_in):
        if not residual <= limit:
            warnings.append(
                f"floor point {index + 1} is off by {residual:.1f} in (limit {limit:g} in): "
                "re-measure it or re-check its pixel"
            )
    width, height = camera.image_size
    hull = cv2.convexHull(calibration.pixels.astype(np.float32))
    coverage = cv2.contourArea(hull) / (width * height)
    if coverage < MIN_IMAGE_COVERAGE:
        warnings.append(
            f"the points cover {coverage:.0%} of the image; spread them over the floor "
            "where people walk, near and far, left and right"
        )
    centred = calibration.floor_ft - calibration.floor_ft.mean(axis=0)
    spread = np.linalg.svd(centred, compute_uv=False)
    if spread[1] < MIN_FLOOR_SPREAD * spread[0]:
        warnings.append("the floor points lie almost on a line; add points off that line")
    low, high = PLAUSIBLE_HEIGHT_FT
    if not low <= camera.height_ft <= high:
        warnings.append(
            f"the camera comes out {camera.height_ft:.1f} ft high, outside {low:g}-{high:g} ft; "
            "check floor_ft units (feet) and the field of view"
        )
    head = config.ranging.head_height_ft
    if camera.height_ft < head + 1.0:
        warnings.append(
            f"the camera is {camera.height_ft:.1f} ft high, close to head height ({head:.2f} ft): "
            "cut-off people are ranged by box width alone (to within about 10 %); mount it at 8 ft "
            "or more for inch-level distances"
        )
    return warnings


def report(calibration: Calibration) -> str:
    """The per-point residual table and the derived mounting, as printed by the CLI."""
    camera = calibration.camera
    lines = ["point  pixel (u, v)        floor (x, y) ft     residual px   residual in"]
    for index, (px, floor, res_px, res_in) in enumerate(
        zip(
            calibration.pixels,
            calibration.floor_ft,
            calibration.residual_px,
            calibration.residual_in,
            strict=True,
        )
    ):
        lines.append(
            f"{index + 1:>5}  ({px[0]:7.1f}, {px[1]:7.1f})  ({floor[0]:7.2f}, {floor[1]:7.2f})"
            f"  {res_px:11.2f}   {res_in:11.2f}"
        )
    x, y = camera.centre[:2]
    lines.append(
        f"camera height {camera.height_ft:.2f} ft, tilt {camera.tilt_deg:.1f} deg below the horizon"
    )
    lines.append(
        f"camera above floor point ({x:.2f}, {y:.2f}) ft; fx {camera.matrix[0, 0]:.1f} px, "
        f"image {camera.image_size[0]}x{camera.image_size[1]}"
    )
    return "\n".join(lines)


def save_camera(path: Path | str, calibration: Calibration) -> None:
    """Write the solved camera as YAML: K, R, t, distortion, image size, plus the derived
    height, tilt and residuals for people to read (ignored when loading)."""
    camera = calibration.camera
    data = {
        **camera.to_dict(),
        "height_ft": round(camera.height_ft, 3),
        "tilt_deg": round(camera.tilt_deg, 2),
        "residuals_in": [round(float(r), 2) for r in calibration.residual_in],
    }
    header = "# camera solved by `greetcue calibrate`; counter coordinates in feet, z up\n"
    Path(path).write_text(
        header + yaml.safe_dump(data, sort_keys=False, default_flow_style=None), encoding="utf-8"
    )


def load_camera(path: Path | str) -> Camera:
    """Read a camera written by :func:`save_camera`."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CalibrationError(
            f"camera file {path} does not exist; run `greetcue calibrate --out {path}`"
        ) from None
    except (OSError, yaml.YAMLError) as exc:
        raise CalibrationError(f"camera file {path} cannot be read: {exc}") from None
    if not isinstance(data, dict):
        raise CalibrationError(f"camera file {path} is not a mapping; rewrite it with calibrate")
    try:
        return Camera.from_dict(data)
    except (ValueError, TypeError) as exc:
        raise CalibrationError(f"camera file {path}: {exc}; rewrite it with calibrate") from None


def camera_for(config: Config, image_size: tuple[int, int]) -> Camera:
    """The camera the edge process ranges with, for frames of ``image_size``.

    ``calibration.camera_file`` wins (scaled if the frames differ in size from the snapshot);
    otherwise the floor points are solved here. An ArUco calibration needs the snapshot, so it
    must have been saved to a camera file first.
    """
    cal = config.calibration
    if cal is None:
        raise CalibrationError("distances need a calibration section; see `greetcue calibrate`")
    if cal.camera_file is not None:
        return load_camera(cal.camera_file).resized(image_size)
    if cal.floor_points is None:
        raise CalibrationError(
            "an aruco calibration needs its solved camera: run `greetcue calibrate --image "
            "SNAPSHOT --out camera.yaml` and set calibration.camera_file: camera.yaml"
        )
    return solve_pose(*_floor_pairs(cal), *lens(config.camera, image_size), image_size).camera
