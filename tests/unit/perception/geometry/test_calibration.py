"""Calibration: solving the camera from floor points or an ArUco marker, its checks, its file,
the CLI, and the PETS example derived from the dataset's own Tsai calibration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest
import yaml
from typer.testing import CliRunner

from edge.cli import app
from edge.config import CameraConfig, ConfigError, load_config, parse_config
from edge.perception.geometry.calibration import (
    CalibrationError,
    calibrate,
    camera_for,
    check,
    lens,
    load_camera,
    read_snapshot,
    save_camera,
    solve_pose,
)
from edge.perception.geometry.camera import Camera
from edge.perception.geometry.tsai import MM_PER_FT, TsaiCamera, example_floor_points
from edge.tools.evaluation.groundtruth import load_pets_xml
from tests.support.paths import REPO

F64 = npt.NDArray[np.float64]
SIZE = (640, 480)
TRUE_CAMERA = Camera.from_pose([0.5, -1.0, 8.0], 85.0, 35.0, 66.0, SIZE)
GRID = np.array([(x, y) for y in (3.0, 7.0, 12.0) for x in (-3.0, 0.0, 3.0)])
EXAMPLES = REPO / "deploy" / "examples"


def config_with(floor: F64, pixels: F64, **camera: Any) -> dict[str, Any]:
    points = [
        {"pixel": p.tolist(), "floor_ft": f.tolist()} for p, f in zip(pixels, floor, strict=True)
    ]
    return {"camera": {"hfov_deg": 66.0, **camera}, "calibration": {"floor_points": points}}


def blank(size: tuple[int, int] = SIZE) -> npt.NDArray[np.uint8]:
    return np.full((size[1], size[0], 3), 128, np.uint8)


@pytest.mark.parametrize(
    ("camera", "expected"),
    [
        ({"hfov_deg": 90.0}, ([320.0, 320.0], [320.0, 240.0])),
        ({"focal_px": [500.0, 510.0]}, ([500.0, 510.0], [320.0, 240.0])),
        (
            {"focal_px": [500.0, 500.0], "principal_px": [300.0, 250.0]},
            ([500.0, 500.0], [300.0, 250.0]),
        ),
    ],
)
def test_lens_from_field_of_view_or_focal_length(
    camera: dict[str, Any], expected: tuple[list[float], list[float]]
) -> None:
    matrix, distortion = lens(CameraConfig.model_validate(camera), SIZE)
    np.testing.assert_allclose([matrix[0, 0], matrix[1, 1]], expected[0])
    np.testing.assert_allclose(matrix[:2, 2], expected[1])
    assert distortion.size == 0


CAMERAS = {
    "counter": TRUE_CAMERA,
    "high, steep": Camera.from_pose([-2.0, -3.0, 14.0], 100.0, 60.0, 80.0, SIZE),
    "low, level": Camera.from_pose([0.0, -2.0, 6.0], 90.0, 12.0, 50.0, SIZE),
}


@pytest.mark.parametrize("camera", CAMERAS.values(), ids=CAMERAS.keys())
def test_pose_is_recovered_from_floor_points(camera: Camera) -> None:
    floor = GRID + np.array([0.0, 6.0]) if camera.tilt_deg < 20 else GRID
    pixels = camera.project(floor)
    assert np.isfinite(pixels).all()
    rng = np.random.default_rng(0)
    noisy = pixels + rng.normal(0, 0.3, pixels.shape)
    solved = solve_pose(noisy, floor, camera.matrix, camera.distortion, SIZE)
    np.testing.assert_allclose(solved.camera.centre, camera.centre, atol=0.1)
    assert solved.camera.tilt_deg == pytest.approx(camera.tilt_deg, abs=0.5)
    assert solved.residual_px.max() < 1.5


def test_mirrored_floor_axes_are_reported() -> None:
    floor = GRID.copy()
    pixels = TRUE_CAMERA.project(floor)
    floor[:, 0] *= -1
    with pytest.raises(CalibrationError, match="mirrored"):
        solve_pose(pixels, floor, TRUE_CAMERA.matrix, TRUE_CAMERA.distortion, SIZE)


def _warnings_for(floor: F64, camera: Camera = TRUE_CAMERA, move: F64 | None = None) -> list[str]:
    pixels = camera.project(floor)
    measured = floor if move is None else floor + move
    config = parse_config(config_with(measured, pixels))
    return check(calibrate(config, blank()), config)


@pytest.mark.parametrize(
    ("name", "floor", "camera", "move", "expected"),
    [
        ("well spread", GRID, TRUE_CAMERA, None, []),
        (
            "one point off by a foot",
            GRID,
            TRUE_CAMERA,
            np.where(np.arange(9)[:, None] == 4, [1.0, 0.0], [0.0, 0.0]),
            ["floor point 5 is off"],
        ),
        (
            "clustered",
            np.array([[0, 6], [1, 6], [0, 7], [1, 7], [0.5, 6.5]], np.float64),
            TRUE_CAMERA,
            None,
            ["cover"],
        ),
        (
            "almost on a line",
            np.array([[-0.2, 3], [0.2, 6], [-0.2, 9], [0.2, 12], [0.0, 14]], np.float64),
            TRUE_CAMERA,
            None,
            ["cover", "on a line"],
        ),
        (
            "camera at head height",
            GRID * [1.5, 1.0] + [0.0, 3.0],
            Camera.from_pose([0.0, -1.0, 5.5], 90.0, 15.0, 66.0, SIZE),
            None,
            ["head height"],
        ),
    ],
)
def test_checks_warn_about_what_to_fix(
    name: str, floor: F64, camera: Camera, move: F64 | None, expected: list[str]
) -> None:
    warnings = _warnings_for(floor, camera, move)
    assert len(warnings) == len(expected), (name, warnings)
    for text, warning in zip(expected, warnings, strict=True):
        assert text in warning


def test_floor_in_inches_gives_an_implausible_height() -> None:
    pixels = TRUE_CAMERA.project(GRID)
    config = parse_config(config_with(GRID * 12, pixels))
    warnings = check(calibrate(config, blank()), config)
    assert any("ft high, outside" in w for w in warnings)


def render_marker(
    camera: Camera, dictionary: int, marker_id: int, size_ft: float, centre: F64, yaw_deg: float
) -> npt.NDArray[np.uint8]:
    """A snapshot of a printed ArUco marker lying on a light floor, seen by ``camera``."""
    side = 400
    marker = cv2.aruco.generateImageMarker(
        cv2.aruco.getPredefinedDictionary(dictionary), marker_id, side
    )
    yaw = np.radians(yaw_deg)
    turn = np.array([[np.cos(yaw), -np.sin(yaw)], [np.sin(yaw), np.cos(yaw)]])
    # Marker image pixel (i, j) -> marker frame (x right, y towards its top) -> floor.
    to_local = np.array([[size_ft / side, 0, -size_ft / 2], [0, -size_ft / side, size_ft / 2]])
    to_floor = np.vstack([turn @ to_local, [0.0, 0.0, 1.0]])
    to_floor[:2, 2] += centre
    floor_to_image = camera.matrix @ np.column_stack(
        [camera.rotation[:, 0], camera.rotation[:, 1], camera.translation]
    )
    homography = floor_to_image @ to_floor
    image = cv2.warpPerspective(
        marker, homography / homography[2, 2], camera.image_size, borderValue=225
    )
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), np.uint8)


def aruco_config(**marker: Any) -> dict[str, Any]:
    return {"camera": {"hfov_deg": 66.0}, "calibration": {"aruco": marker}}


@pytest.mark.parametrize("yaw_deg", [0.0, 35.0, -120.0])
def test_aruco_marker_on_the_floor_gives_the_pose(yaw_deg: float) -> None:
    centre = np.array([0.5, 5.0])
    image = render_marker(TRUE_CAMERA, cv2.aruco.DICT_4X4_50, 7, 1.5, centre, yaw_deg)
    marker = {"dictionary": "DICT_4X4_50", "id": 7, "size_ft": 1.5, "floor_ft": centre.tolist()}
    config = parse_config(aruco_config(**marker, yaw_deg=yaw_deg))
    solved = calibrate(config, image)
    assert solved.camera.height_ft == pytest.approx(8.0, abs=0.15)
    assert solved.camera.tilt_deg == pytest.approx(35.0, abs=1.0)
    np.testing.assert_allclose(solved.camera.centre[:2], TRUE_CAMERA.centre[:2], atol=0.2)
    # Where would a person standing 10 ft out be ranged?
    far = np.array([[2.0, 10.0]])
    np.testing.assert_allclose(solved.camera.backproject(TRUE_CAMERA.project(far)), far, atol=0.25)


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ({"id": 3, "size_ft": 1.5}, r"marker 3 .* not in the snapshot \(markers seen: \[7\]\)"),
        ({"id": 7, "size_ft": 1.5, "dictionary": "DICT_NOPE"}, "not an OpenCV ArUco dictionary"),
    ],
)
def test_aruco_problems_are_explained(marker: dict[str, Any], message: str) -> None:
    image = render_marker(TRUE_CAMERA, cv2.aruco.DICT_4X4_50, 7, 1.5, np.array([0.5, 5.0]), 0.0)
    with pytest.raises(CalibrationError, match=message):
        calibrate(parse_config(aruco_config(**marker)), image)


def test_solved_camera_file_round_trips(tmp_path: Path) -> None:
    floor = GRID
    config = parse_config(config_with(floor, TRUE_CAMERA.project(floor)))
    solved = calibrate(config, blank())
    path = tmp_path / "camera.yaml"
    save_camera(path, solved)
    data = yaml.safe_load(path.read_text())
    assert data["height_ft"] == pytest.approx(8.0, abs=1e-3)
    assert len(data["residuals_in"]) == len(floor)
    loaded = load_camera(path)
    np.testing.assert_allclose(loaded.project(floor), solved.camera.project(floor), atol=1e-6)


def test_edge_process_prefers_the_camera_file_and_scales_it(tmp_path: Path) -> None:
    path = tmp_path / "camera.yaml"
    save_camera(
        path, calibrate(parse_config(config_with(GRID, TRUE_CAMERA.project(GRID))), blank())
    )
    config = parse_config({"calibration": {"aruco": {"size_ft": 1.0}, "camera_file": str(path)}})
    camera = camera_for(config, (320, 240))
    np.testing.assert_allclose(camera.project(GRID), TRUE_CAMERA.project(GRID) / 2, atol=1e-3)


def test_edge_process_solves_floor_points_itself() -> None:
    config = parse_config(config_with(GRID, TRUE_CAMERA.project(GRID)))
    np.testing.assert_allclose(camera_for(config, SIZE).centre, TRUE_CAMERA.centre, atol=1e-6)


@pytest.mark.parametrize(
    ("calibration", "message"),
    [
        (None, "need a calibration section"),
        ({"aruco": {"size_ft": 1.0}}, "camera_file"),
        ({"camera_file": "missing.yaml"}, "does not exist"),
    ],
)
def test_edge_process_explains_a_missing_camera(
    calibration: dict[str, Any] | None, message: str
) -> None:
    with pytest.raises(CalibrationError, match=message):
        camera_for(parse_config({"calibration": calibration}), SIZE)


@pytest.mark.parametrize(
    ("calibration", "message"),
    [
        ({}, "or a camera_file"),
        (
            {
                "floor_points": [{"pixel": [0, 0], "floor_ft": [0, 0]}] * 4,
                "aruco": {"size_ft": 1.0},
            },
            "not both",
        ),
        ({"floor_points": [{"pixel": [0, 0], "floor_ft": [0, 0]}] * 3}, "at least 4"),
    ],
)
def test_calibration_config_is_validated(calibration: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({"calibration": calibration})


def test_unreadable_snapshots_are_explained(tmp_path: Path) -> None:
    with pytest.raises(CalibrationError, match="does not exist"):
        read_snapshot(tmp_path / "nope.png")
    junk = tmp_path / "junk.png"
    junk.write_text("not an image")
    with pytest.raises(CalibrationError, match="neither an image nor a video"):
        read_snapshot(junk)


def _write_setup(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "greetcue.yaml"
    config.write_text(yaml.safe_dump(config_with(GRID, TRUE_CAMERA.project(GRID))))
    image = tmp_path / "snapshot.png"
    cv2.imwrite(str(image), blank())
    return config, image


def test_cli_calibrate_reports_writes_camera_and_draws_rings(tmp_path: Path) -> None:
    config, image = _write_setup(tmp_path)
    out, rings = tmp_path / "camera.yaml", tmp_path / "rings.png"
    args = ["calibrate", "--config", str(config), "--image", str(image)]
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--rings", str(rings)])
    assert result.exit_code == 0, result.output
    assert "camera height 8.00 ft, tilt 35.0 deg" in result.output
    # The 3 ft ring lies below this camera's view; there is nothing else to warn about.
    assert result.output.count("warning") == 1
    assert "warning: ring 3ft is not in view" in result.output
    assert load_camera(out).height_ft == pytest.approx(8.0, abs=1e-3)
    picture = cv2.imread(str(rings))
    assert picture is not None and picture.shape == (480, 640, 3)
    assert (picture != blank()).any(axis=2).sum() > 1000  # rings, points and labels drawn


def test_cli_calibrate_says_which_rings_are_out_of_view(tmp_path: Path) -> None:
    config, image = _write_setup(tmp_path)
    rings = tmp_path / "rings.png"
    args = ["calibrate", "--config", str(config), "--image", str(image), "--rings", str(rings)]
    result = CliRunner().invoke(app, [*args, "--ring-ft", "5", "--ring-ft", "400"])
    assert result.exit_code == 0, result.output
    assert "ring 400 ft is not in view" in result.output
    assert "ring 5 ft" not in result.output


def test_cli_calibrate_with_a_missing_snapshot_fails_clearly(tmp_path: Path) -> None:
    config, _ = _write_setup(tmp_path)
    missing = tmp_path / "missing.png"
    result = CliRunner().invoke(app, ["calibrate", "-c", str(config), "--image", str(missing)])
    assert isinstance(result.exception, CalibrationError)
    assert "missing.png does not exist" in str(result.exception)


# --- PETS 2009 View_001: the example configuration against the dataset's Tsai calibration.


@pytest.fixture(scope="module")
def tsai(footage_dir: Path) -> TsaiCamera:
    return TsaiCamera.from_xml(footage_dir / "pets2009_s2l1" / "View_001.xml")


@pytest.fixture(scope="module")
def pets_camera() -> Camera:
    return camera_for(load_config(EXAMPLES / "pets-view001.yaml"), (768, 576))


@pytest.mark.footage
@pytest.mark.parametrize("example", ["pets-view001.yaml", "pets-kiosk.yaml"])
def test_pets_example_is_what_the_tsai_calibration_gives(tsai: TsaiCamera, example: str) -> None:
    config = load_config(EXAMPLES / example)
    assert config.calibration is not None and config.calibration.floor_points is not None
    committed = [(p.pixel, p.floor_ft) for p in config.calibration.floor_points]
    regenerated = example_floor_points(tsai)
    assert len(committed) == len(regenerated) >= 6
    for (pixel, floor), (pixel_again, floor_again) in zip(committed, regenerated, strict=True):
        np.testing.assert_allclose(pixel, pixel_again, atol=1e-6)
        np.testing.assert_allclose(floor, floor_again, atol=1e-6)
    lens_again = tsai.pinhole_lens()
    assert config.camera.focal_px is not None and config.camera.principal_px is not None
    np.testing.assert_allclose(config.camera.focal_px, lens_again.focal_px, atol=0.05)
    np.testing.assert_allclose(config.camera.principal_px, lens_again.principal_px, atol=0.005)
    np.testing.assert_allclose(config.camera.distortion or [], lens_again.distortion, atol=1e-4)


def _ground_grid(tsai: TsaiCamera) -> tuple[F64, F64]:
    """Pixels over the ground part of the image and their ground points (ft), via Tsai."""
    u, v = np.meshgrid(np.linspace(5, 763, 25), np.linspace(150, 571, 20))
    pixels = np.column_stack([u.ravel(), v.ravel()])
    return pixels, tsai.ground_points_ft(pixels)


@pytest.mark.footage
def test_pets_pinhole_reproduces_tsai_on_the_ground(tsai: TsaiCamera, pets_camera: Camera) -> None:
    pixels, ground_ft = _ground_grid(tsai)
    error_px = np.linalg.norm(pets_camera.project(ground_ft) - pixels, axis=1)
    assert error_px.max() < 1.0
    np.testing.assert_allclose(
        pets_camera.centre * MM_PER_FT,
        tsai.centre_mm,
        atol=0.01 * float(np.linalg.norm(tsai.centre_mm)),
    )


@pytest.mark.footage
def test_pets_ground_truth_is_ranged_as_tsai_ranges_it(
    footage_dir: Path, tsai: TsaiCamera, pets_camera: Camera
) -> None:
    truth = load_pets_xml(footage_dir / "pets2009_s2l1" / "PETS2009-S2L1.xml")
    boxes = np.vstack([frame.xyxy for frame in truth.values()]).astype(np.float64)
    feet = np.column_stack([(boxes[:, 0] + boxes[:, 2]) / 2, boxes[:, 3]])
    in_view = ((feet >= 0) & (feet < [768, 576])).all(axis=1)
    feet = feet[in_view]
    assert len(feet) > 4000
    config = load_config(EXAMPLES / "pets-view001.yaml")
    counter = np.asarray(config.counter.position_ft)
    by_tsai = np.linalg.norm(tsai.ground_points_ft(feet) - counter, axis=1)
    by_pinhole = np.linalg.norm(pets_camera.backproject(feet) - counter, axis=1)
    relative = np.abs(by_pinhole - by_tsai) / by_tsai
    assert np.median(relative) < 0.005
    assert np.abs(by_pinhole - by_tsai).max() * 12 < 1.0  # inches
