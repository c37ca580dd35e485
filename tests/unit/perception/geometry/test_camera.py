"""The pinhole camera: floor <-> pixel geometry, the edge cases, and its file form."""

from __future__ import annotations

import numpy as np
import pytest

from edge.perception.geometry.camera import Camera

# A counter camera: 8 ft up, 1 ft behind the counter, facing +y, tilted 35 deg down.
COUNTER_CAM = Camera.from_pose([0.0, -1.0, 8.0], 90.0, 35.0, 66.0, (640, 480))


def _with_distortion(camera: Camera, distortion: list[float]) -> Camera:
    return Camera(
        camera.matrix, camera.rotation, camera.translation, np.array(distortion), camera.image_size
    )


CAMERAS = {
    "counter": COUNTER_CAM,
    "ceiling, turned": Camera.from_pose([3.0, 2.0, 11.0], 200.0, 55.0, 90.0, (1280, 720)),
    "barrel lens": _with_distortion(COUNTER_CAM, [-0.3, 0.1, 0.001, -0.002, -0.02]),
}


@pytest.mark.parametrize("camera", CAMERAS.values(), ids=CAMERAS.keys())
@pytest.mark.parametrize("plane_z", [0.0, 5.583])
def test_backproject_inverts_project_on_any_horizontal_plane(
    camera: Camera, plane_z: float
) -> None:
    width, height = camera.image_size
    u, v = np.meshgrid(np.linspace(5, width - 5, 9), np.linspace(height * 0.6, height - 5, 5))
    pixels = np.column_stack([u.ravel(), v.ravel()])
    floor = camera.backproject(pixels, plane_z)
    assert np.isfinite(floor).all()
    points = np.column_stack([floor, np.full(len(floor), plane_z)])
    np.testing.assert_allclose(camera.project(points), pixels, atol=1e-3)


def test_mounting_is_reported_as_posed() -> None:
    assert COUNTER_CAM.height_ft == pytest.approx(8.0)
    assert COUNTER_CAM.tilt_deg == pytest.approx(35.0)
    np.testing.assert_allclose(COUNTER_CAM.centre, [0.0, -1.0, 8.0], atol=1e-12)
    assert np.linalg.det(COUNTER_CAM.rotation) == pytest.approx(1.0)


def test_image_centre_looks_along_the_optical_axis() -> None:
    ray = COUNTER_CAM.rays([[320.0, 240.0]])[0]
    tilt = np.radians(35.0)
    np.testing.assert_allclose(ray, [0.0, np.cos(tilt), -np.sin(tilt)], atol=1e-9)


def test_hfov_sets_the_focal_length() -> None:
    half_width_angle = np.degrees(np.arctan(320.0 / COUNTER_CAM.matrix[0, 0]))
    assert 2 * half_width_angle == pytest.approx(66.0)


def test_points_behind_the_camera_have_no_pixel() -> None:
    pixels = COUNTER_CAM.project([[0.0, -10.0, 0.0], [0.0, 10.0, 0.0]])
    assert np.isnan(pixels[0]).all()
    assert np.isfinite(pixels[1]).all()


def test_pixels_above_the_horizon_do_not_reach_the_floor() -> None:
    level = Camera.from_pose([0.0, 0.0, 5.0], 90.0, 0.0, 60.0, (640, 480))
    floor = level.backproject([[320.0, 100.0], [320.0, 240.0], [320.0, 400.0]])
    assert np.isnan(floor[0]).all() and np.isnan(floor[1]).all()
    assert floor[2, 1] > 0
    # ... while the same upward ray does meet a plane above the camera.
    assert np.isfinite(level.backproject([[320.0, 100.0]], plane_z=6.0)).all()


def test_strong_barrel_distortion_does_not_fold_far_points_into_the_image() -> None:
    camera = _with_distortion(COUNTER_CAM, [-0.5, 0.0, 0.0, 0.0])
    # Far to the side of the view: beyond where the lens polynomial turns back.
    pixel = camera.project([[200.0, 5.0, 0.0]])[0]
    assert np.isnan(pixel).all()


def test_resized_camera_sees_the_same_floor_at_scaled_pixels() -> None:
    small = COUNTER_CAM.resized((320, 240))
    assert small.image_size == (320, 240)
    floor = np.array([[1.0, 6.0], [-2.0, 9.0]])
    np.testing.assert_allclose(small.project(floor), COUNTER_CAM.project(floor) / 2, atol=1e-9)
    assert COUNTER_CAM.resized((640, 480)) is COUNTER_CAM


def test_dict_round_trip_keeps_the_geometry() -> None:
    camera = CAMERAS["barrel lens"]
    again = Camera.from_dict(camera.to_dict())
    floor = np.array([[0.5, 4.0], [3.0, 12.0]])
    np.testing.assert_allclose(again.project(floor), camera.project(floor))
    assert again.image_size == camera.image_size


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("camera_matrix", [[1.0, 0.0], [0.0, 1.0]], "camera_matrix"),
        ("rotation", np.diag([1.0, 1.0, 2.0]).tolist(), "not a rotation"),
        ("translation_ft", None, "translation_ft"),
        ("distortion", [0.1, 0.2, 0.3], "distortion"),
        ("image_size", [640], "image_size"),
    ],
)
def test_from_dict_names_the_bad_entry(key: str, value: object, message: str) -> None:
    data = COUNTER_CAM.to_dict()
    data[key] = value
    with pytest.raises(ValueError, match=message):
        Camera.from_dict(data)


def test_projecting_malformed_points_is_an_error() -> None:
    with pytest.raises(ValueError, match="shape"):
        COUNTER_CAM.project(np.zeros((3, 4)))
