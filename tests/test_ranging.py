"""Ranging: boxes of simulated people through a known counter camera -> distance, speed, TTA."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from edge.camera import Camera
from edge.config import Config, RangingConfig
from edge.ranging import Ranger, RangeResult, locate

F64 = npt.NDArray[np.float64]
FT_PER_M = 1 / 0.3048
PERSON_FT = 1.75 * FT_PER_M
BODY_RADIUS_FT = 0.15 * FT_PER_M
RADII = (10.0, 5.0, 3.0)
SIZE = (640, 480)


def counter_camera(tilt_deg: float) -> Camera:
    """8 ft up, 1 ft behind the counter at the origin, facing the store (+y), 66 deg hfov."""
    return Camera.from_pose([0.0, -1.0, 8.0], 90.0, tilt_deg, 66.0, SIZE)


# Steep enough to see the feet of a customer at 3 ft; shallow enough to see heads at 10 ft.
STEEP, SHALLOW = counter_camera(45.0), counter_camera(30.0)


def person_box(
    camera: Camera, floor_ft: F64, height_ft: float = PERSON_FT, cut_share: float = 0.0
) -> tuple[Camera, F64]:
    """The box [4] of an upright cylinder person as the camera sees it, clipped to the frame.

    ``cut_share`` > 0 moves the frame's bottom edge up until that share of the person's image
    height is below it, as a camera framing the person lower would: a cut-off box.
    """
    angles = np.linspace(0, 2 * np.pi, 360, endpoint=False)
    rims = [
        np.column_stack(
            [
                floor_ft[0] + BODY_RADIUS_FT * np.cos(angles),
                floor_ft[1] + BODY_RADIUS_FT * np.sin(angles),
                np.full(len(angles), z),
            ]
        )
        for z in (0.0, height_ft)
    ]
    pixels = camera.project(np.vstack(rims))
    assert np.isfinite(pixels).all(), "the simulated person must be in front of the camera"
    box = np.concatenate([pixels.min(axis=0), pixels.max(axis=0)])
    if cut_share > 0:
        bottom = int(box[3] - cut_share * (box[3] - box[1]))
        camera = Camera(
            camera.matrix,
            camera.rotation,
            camera.translation,
            camera.distortion,
            (camera.image_size[0], bottom),
        )
    width, height = camera.image_size
    return camera, np.clip(box, 0, [width, height, width, height])


def at(distance_ft: float, bearing_deg: float) -> F64:
    """Floor point at a distance from the counter, bearing measured from straight ahead."""
    bearing = np.radians(bearing_deg)
    return distance_ft * np.array([np.sin(bearing), np.cos(bearing)])


def ranged_error_in(
    camera: Camera, where: F64, cfg: RangingConfig, height_ft: float = PERSON_FT, cut: float = 0.0
) -> tuple[float, bool]:
    seen_by, box = person_box(camera, where, height_ft, cut)
    fix = locate(seen_by, box[None], cfg)
    error_ft = float(np.linalg.norm(fix.floor_ft[0]) - np.linalg.norm(where))
    return error_ft * 12, bool(fix.truncated[0])


# Cut off: the frame's bottom edge crosses the thighs (30 % of the person below it). The
# default head plane (5 ft 7 in) is 1.9 in lower than this 1.75 m person's head, and that
# alone puts them too far by about range x 1.9 in / (camera height - head height): 3.7 in at
# 3 ft, 9.6 in at 10 ft. The 10 ft allowance says so; see also the exact-height test below.
@pytest.mark.parametrize(
    ("camera", "distance_ft", "cut", "tolerance_in"),
    [
        (STEEP, 3.0, 0.0, 3.0),
        (STEEP, 5.0, 0.0, 3.0),
        (STEEP, 10.0, 0.0, 3.0),
        (SHALLOW, 3.0, 0.3, 8.0),
        (SHALLOW, 5.0, 0.3, 8.0),
        (SHALLOW, 10.0, 0.3, 11.0),
    ],
)
@pytest.mark.parametrize("bearing_deg", [0.0, 20.0])
def test_distance_of_a_person_within_tolerance(
    camera: Camera, distance_ft: float, cut: float, tolerance_in: float, bearing_deg: float
) -> None:
    error_in, truncated = ranged_error_in(
        camera, at(distance_ft, bearing_deg), RangingConfig(), cut=cut
    )
    assert truncated == (cut > 0)
    assert abs(error_in) <= tolerance_in


@pytest.mark.parametrize("distance_ft", [3.0, 5.0, 10.0])
def test_cut_off_person_of_head_plane_height_is_ranged_exactly(distance_ft: float) -> None:
    """With the person's height known, head ranging is as good as foot ranging."""
    cfg = RangingConfig(head_height_ft=PERSON_FT)
    error_in, truncated = ranged_error_in(SHALLOW, at(distance_ft, 15.0), cfg, cut=0.3)
    assert truncated
    assert abs(error_in) <= 3.0


@pytest.mark.parametrize("height_m", [1.5, 1.6, 1.75, 1.95])
@pytest.mark.parametrize("cut", [0.05, 0.3, 0.6])
def test_cut_off_box_never_seems_farther_than_its_feet_allow(height_m: float, cut: float) -> None:
    """The box bottom of a cut-off person bounds how far they can be; head ranging of a short
    person must not push them beyond it."""
    where = at(6.0, 0.0)
    seen_by, box = person_box(SHALLOW, where, height_m * FT_PER_M, cut)
    cfg = RangingConfig()
    fix = locate(seen_by, box[None], cfg)
    foot_bound = locate(seen_by, box[None], cfg.model_copy(update={"bottom_margin_px": -1.0}))
    camera_xy = seen_by.centre[:2]
    assert fix.truncated[0] and not foot_bound.truncated[0]
    ranged = np.linalg.norm(fix.floor_ft[0] - camera_xy)
    assert ranged <= np.linalg.norm(foot_bound.floor_ft[0] - camera_xy) + 1e-9


def test_far_and_head_ranged_positions_are_trusted_less() -> None:
    cfg = RangingConfig()
    spread = {}
    for name, distance, cut in [("near", 4.0, 0.0), ("far", 12.0, 0.0), ("cut", 4.0, 0.3)]:
        seen_by, box = person_box(STEEP, at(distance, 0.0), cut_share=cut)
        spread[name] = np.trace(locate(seen_by, box[None], cfg).covariance[0])
    assert spread["far"] > spread["near"]
    assert spread["cut"] > spread["near"]


def test_box_above_the_horizon_gives_no_position() -> None:
    level = Camera.from_pose([0.0, -1.0, 5.0], 90.0, 0.0, 66.0, SIZE)
    fix = locate(level, np.array([[300.0, 50.0, 340.0, 150.0]]), RangingConfig())
    assert np.isnan(fix.floor_ft).all()


def walk(
    ranger: Ranger, path: list[F64], times: list[float], camera: Camera = SHALLOW
) -> list[RangeResult]:
    """Feed one person's boxes along ``path`` (track 7); the result of every frame."""
    results = []
    for where, t in zip(path, times, strict=True):
        seen_by, box = person_box(camera, where)
        assert seen_by is camera
        results.append(ranger.update(np.array([7]), box[None], t, SIZE))
    return results


def straight_walk(
    start: F64, velocity: F64, seconds: float, fps: float = 10.0
) -> tuple[list[F64], list[float]]:
    times = list(np.arange(0.0, seconds, 1 / fps))
    return [start + velocity * t for t in times], times


def test_approaching_customer_gets_speed_and_time_to_next_ring() -> None:
    ranger = Ranger(STEEP, (0.0, 0.0), RADII)
    path, times = straight_walk(np.array([0.0, 14.0]), np.array([0.0, -3.5]), 3.0)
    results = walk(ranger, path, times, camera=STEEP)
    for result, where in list(zip(results, path, strict=True))[10:]:
        true_distance = np.linalg.norm(where)
        assert result.speed_ftps[0] == pytest.approx(-3.5, abs=0.35)
        ring = max(r for r in RADII if r < true_distance)
        assert RADII[result.next_zone[0]] == ring
        assert result.tta_s[0] == pytest.approx((true_distance - ring) / 3.5, abs=0.25)
        assert result.distance_ft[0] == pytest.approx(true_distance, abs=0.3)


def test_irregular_frame_times_are_respected() -> None:
    ranger = Ranger(STEEP, (0.0, 0.0), RADII)
    rng = np.random.default_rng(1)
    times = list(np.cumsum(rng.uniform(0.03, 0.25, 30)))
    path = [np.array([0.0, 14.0]) + np.array([0.0, -3.0]) * t for t in times]
    last = walk(ranger, path, times, camera=STEEP)[-1]
    assert last.speed_ftps[0] == pytest.approx(-3.0, abs=0.3)


@pytest.mark.parametrize(
    ("name", "start", "velocity"),
    [
        ("standing", (1.0, 8.0), (0.0, 0.0)),
        ("walking away", (0.0, 6.0), (0.0, 3.5)),
        ("passing by at 6 ft", (-8.0, 6.0), (3.5, 0.0)),
        ("inside every ring", (0.0, 2.0), (0.0, -0.5)),
    ],
)
def test_no_time_to_arrival_without_an_approach(
    name: str, start: tuple[float, float], velocity: tuple[float, float]
) -> None:
    ranger = Ranger(STEEP, (0.0, 0.0), RADII)
    path, times = straight_walk(np.array(start), np.array(velocity), 2.0)
    last = walk(ranger, path, times, camera=STEEP)[-1]
    assert np.isnan(last.tta_s[0]) and last.next_zone[0] == -1, name


def test_passer_by_is_only_expected_at_the_rings_they_cross() -> None:
    """Walking past the counter 4 ft to its side: the 10 and 5 ft rings will be crossed, the
    3 ft ring never."""
    ranger = Ranger(SHALLOW, (0.0, 0.0), RADII)
    path, times = straight_walk(np.array([4.0, 14.0]), np.array([0.0, -3.5]), 1.2)
    result = walk(ranger, path, times)[-1]
    assert np.isfinite(result.zone_tta_s[0, :2]).all()
    assert np.isnan(result.zone_tta_s[0, 2])


def test_ended_track_starts_afresh() -> None:
    ranger = Ranger(STEEP, (0.0, 0.0), RADII)
    path, times = straight_walk(np.array([0.0, 14.0]), np.array([0.0, -3.5]), 1.0)
    walk(ranger, path, times, camera=STEEP)
    ranger.end([7])
    (again,) = walk(ranger, [path[-1]], [times[-1] + 0.1], camera=STEEP)
    assert again.speed_ftps[0] == pytest.approx(0.0, abs=1e-9)


def test_several_tracks_are_ranged_independently() -> None:
    ranger = Ranger(SHALLOW, (0.0, 0.0), RADII)
    ids = np.array([3, 9])
    for t in np.arange(0.0, 2.0, 0.1):
        near = person_box(SHALLOW, np.array([-2.0, 12.0 - 3.0 * t]))[1]
        still = person_box(SHALLOW, np.array([4.0, 9.0]))[1]
        result = ranger.update(ids, np.vstack([near, still]), float(t), SIZE)
    assert result.track_ids.tolist() == [3, 9]
    assert result.speed_ftps[0] < -2.5
    assert abs(result.speed_ftps[1]) < 0.3
    assert result.distance_ft[1] == pytest.approx(np.hypot(4.0, 9.0), abs=0.2)


def test_frames_of_another_size_are_scaled_to_the_calibration() -> None:
    where = np.array([1.0, 7.0])
    _, box = person_box(SHALLOW, where)
    ranger = Ranger(SHALLOW, (0.0, 0.0), RADII)
    result = ranger.update(np.array([1]), box[None] / 2, 0.0, (SIZE[0] // 2, SIZE[1] // 2))
    assert result.distance_ft[0] == pytest.approx(np.linalg.norm(where), abs=0.1)


def test_unrangeable_new_track_reports_nothing() -> None:
    level = Camera.from_pose([0.0, -1.0, 5.0], 90.0, 0.0, 66.0, SIZE)
    ranger = Ranger(level, (0.0, 0.0), RADII)
    result = ranger.update(np.array([1]), np.array([[300.0, 50.0, 340.0, 150.0]]), 0.0, SIZE)
    assert np.isnan(result.distance_ft).all() and np.isnan(result.tta_s).all()


def test_mismatched_ids_and_boxes_are_an_error() -> None:
    ranger = Ranger(SHALLOW, (0.0, 0.0), RADII)
    with pytest.raises(ValueError, match="track ids"):
        ranger.update(np.array([1, 2]), np.zeros((1, 4)), 0.0, SIZE)


def test_from_config_uses_counter_and_zones() -> None:
    config = Config.model_validate(
        {"counter": {"position_ft": [1.0, 2.0]}, "zones": [{"name": "near", "radius_ft": 4.0}]}
    )
    ranger = Ranger.from_config(config, SHALLOW)
    where = np.array([1.0, 9.0])
    result = ranger.update(np.array([1]), person_box(SHALLOW, where)[1][None], 0.0, SIZE)
    assert result.distance_ft[0] == pytest.approx(7.0, abs=0.1)
    assert result.zone_tta_s.shape == (1, 1)
