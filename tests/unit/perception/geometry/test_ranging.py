"""Ranging: boxes of simulated people through a known counter camera -> distance, speed, TTA."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from pydantic import ValidationError

from edge.config import Config, RangingConfig
from edge.perception.geometry.camera import Camera
from edge.perception.geometry.floor_position import FROM_BOTTOM, WIDTH_CUE, locate
from edge.perception.geometry.ranging import Ranger, RangeResult

F64 = npt.NDArray[np.float64]
FT_PER_M = 1 / 0.3048
PERSON_FT = 1.75 * FT_PER_M
# A person's detector box spans the shoulders and the arms at the sides, about 0.5 m across
# for an adult (boxes are ~0.3 of a person's height wide); the body is ~0.3 m deep.
WIDTH_FT = 0.5 * FT_PER_M
DEPTH_FT = 0.3 * FT_PER_M
RADII = (10.0, 5.0, 3.0)
SIZE = (640, 480)


def counter_camera(tilt_deg: float) -> Camera:
    """A Raspberry Pi Camera Module 3 (66 deg hfov) 9 ft up on the wall or ceiling, 1 ft
    behind the counter at the origin, facing the store (+y): out of reach, over people's heads."""
    return Camera.from_pose([0.0, -1.0, 9.0], 90.0, tilt_deg, 66.0, SIZE)


# Steep enough to see the feet of a customer at 3 ft; shallow enough to see heads at 10 ft.
STEEP, SHALLOW = counter_camera(45.0), counter_camera(30.0)
# The corridor clip's camera: at 5.25 ft, about head height, almost level (55 deg hfov).
HEAD_HIGH = Camera.from_pose([0.0, -1.0, 5.25], 90.0, 2.0, 55.0, (480, 270))


def person_box(
    camera: Camera,
    floor_ft: F64,
    height_ft: float = PERSON_FT,
    cut_share: float = 0.0,
    width_ft: float = WIDTH_FT,
) -> tuple[Camera, F64]:
    """The box [4] of a person as the camera sees it, clipped to the frame: an upright
    elliptic cylinder ``width_ft`` by ``DEPTH_FT`` facing the counter.

    ``cut_share`` > 0 moves the frame's bottom edge up until that share of the person's image
    height is below it, as a camera framing the person lower would: a cut-off box.
    """
    facing = -floor_ft / np.linalg.norm(floor_ft) if np.any(floor_ft) else np.array([0.0, -1.0])
    across = np.array([-facing[1], facing[0]])
    angles = np.linspace(0, 2 * np.pi, 360, endpoint=False)
    rim = (
        floor_ft
        + np.outer(width_ft / 2 * np.cos(angles), across)
        + np.outer(DEPTH_FT / 2 * np.sin(angles), facing)
    )
    pixels = camera.project(
        np.vstack([np.column_stack([rim, np.full(len(rim), z)]) for z in (0.0, height_ft)])
    )
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
    """Single frame, nothing learnt: ranged minus true distance to the counter (inches)."""
    seen_by, box = person_box(camera, where, height_ft, cut)
    fix = locate(seen_by, box[None], cfg)
    error_ft = float(np.linalg.norm(fix.floor_ft[0]) - np.linalg.norm(where))
    return error_ft * 12, bool(fix.truncated[0])


# Single frames with the default configuration: whole boxes from the steep camera within 3 in,
# cut-off boxes from the shallow one within 8 in. Cut off: the frame's bottom edge crosses the
# shins, the thighs or the hips. The default head plane (5 ft 7 in) is 1.9 in lower than this
# person's head; ranged from the head alone that puts them too far by range x 1.9 in /
# (camera height - head height): 7-8 in at 10 ft from 9 ft up (10-11 in from 8 ft up).
# The width cue, right on average for a person as wide as body_width_ft, takes some of that off.
@pytest.mark.parametrize(
    ("camera", "cut", "tolerance_in"),
    [(STEEP, 0.0, 3.0), (SHALLOW, 0.15, 8.0), (SHALLOW, 0.3, 8.0), (SHALLOW, 0.5, 8.0)],
)
@pytest.mark.parametrize("distance_ft", [3.0, 5.0, 10.0])
@pytest.mark.parametrize("bearing_deg", [0.0, 20.0])
def test_distance_of_a_person_within_tolerance(
    camera: Camera, cut: float, tolerance_in: float, distance_ft: float, bearing_deg: float
) -> None:
    error_in, truncated = ranged_error_in(
        camera, at(distance_ft, bearing_deg), RangingConfig(), cut=cut
    )
    assert truncated == (cut > 0)
    assert abs(error_in) <= tolerance_in


@pytest.mark.parametrize("height_m", [1.5, 1.6, 1.75, 1.95])
@pytest.mark.parametrize("cut", [0.05, 0.3, 0.6])
def test_cut_off_box_never_seems_farther_than_its_feet_allow(height_m: float, cut: float) -> None:
    """The box bottom of a cut-off person bounds how far they can be; the head and width cues
    of a person unlike the defaults must not push them beyond it."""
    where = at(6.0, 0.0)
    seen_by, box = person_box(SHALLOW, where, height_m * FT_PER_M, cut)
    cfg = RangingConfig()
    fix = locate(seen_by, box[None], cfg)
    # The same box in a frame one row taller, with no margin, is not cut off: it is ranged
    # from its bottom edge, the bound.
    width, height = seen_by.image_size
    taller = Camera(
        seen_by.matrix,
        seen_by.rotation,
        seen_by.translation,
        seen_by.distortion,
        (width, height + 1),
    )
    foot_bound = locate(taller, box[None], RangingConfig(bottom_margin_px=0))
    camera_xy = seen_by.centre[:2]
    assert fix.truncated[0] and not foot_bound.truncated[0]
    ranged = np.linalg.norm(fix.floor_ft[0] - camera_xy)
    assert ranged <= np.linalg.norm(foot_bound.floor_ft[0] - camera_xy) + 1e-9


@pytest.mark.parametrize("height_m", [1.5, 1.75, 1.95])
@pytest.mark.parametrize(
    ("camera", "distance_ft"), [(STEEP, 3.0), (STEEP, 5.0), (SHALLOW, 8.0), (SHALLOW, 14.0)]
)
def test_whole_box_measures_the_persons_height(
    camera: Camera, distance_ft: float, height_m: float
) -> None:
    seen_by, box = person_box(camera, at(distance_ft, 10.0), height_m * FT_PER_M)
    fix = locate(seen_by, box[None], RangingConfig())
    assert fix.height_ft[0] == pytest.approx(height_m * FT_PER_M, abs=1 / 12)
    assert fix.width_ft[0] == pytest.approx(WIDTH_FT, rel=0.25)


@pytest.mark.parametrize("cut", [0.05, 0.3])
def test_cut_off_box_measures_no_size(cut: float) -> None:
    seen_by, box = person_box(SHALLOW, at(5.0, 0.0), cut_share=cut)
    fix = locate(seen_by, box[None], RangingConfig())
    assert fix.truncated[0] and np.isnan(fix.height_ft[0]) and np.isnan(fix.width_ft[0])


def walk(
    ranger: Ranger,
    path: list[F64],
    times: list[float],
    camera: Camera = SHALLOW,
    height_ft: float = PERSON_FT,
    width_ft: float = WIDTH_FT,
    jitter_px: float = 0.0,
) -> list[RangeResult]:
    """Feed one person's boxes along ``path`` (track 7), each edge jittered by ``jitter_px``
    (standard deviation, seeded); the result of every frame."""
    rng = np.random.default_rng(7)
    results = []
    for where, t in zip(path, times, strict=True):
        seen_by, box = person_box(camera, where, height_ft, width_ft=width_ft)
        assert seen_by is camera
        box = box + rng.normal(0.0, jitter_px, 4) if jitter_px else box
        results.append(ranger.update(np.array([7]), box[None], t, camera.image_size))
    return results


def walk_in(
    camera: Camera,
    height_m: float,
    start: tuple[float, float],
    end: tuple[float, float],
    width_m: float = 0.5,
    jitter_px: float = 0.0,
) -> tuple[F64, F64, npt.NDArray[np.bool_]]:
    """A customer walking in at 3.5 ft/s (10 fps) from afar, feet in view, until cut off near
    the counter: true and ranged distances and the cut-off flag of every frame."""
    ranger = Ranger(camera, (0.0, 0.0), RADII)
    a, b = np.array(start), np.array(end)
    steps = int(np.linalg.norm(b - a) / 0.35)
    path = [a + (b - a) * i / steps for i in range(steps + 1)]
    times = [i / 10 for i in range(steps + 1)]
    results = walk(ranger, path, times, camera, height_m * FT_PER_M, width_m * FT_PER_M, jitter_px)
    return (
        np.linalg.norm(path, axis=1),
        np.array([r.distance_ft[0] for r in results]),
        np.array([r.truncated[0] for r in results]),
    )


PATHS = {"straight in": ((0.0, 16.0), (0.0, 2.0)), "slanting in": ((5.0, 16.0), (0.5, 2.0))}


@pytest.mark.parametrize("path", PATHS.values(), ids=PATHS.keys())
@pytest.mark.parametrize("height_m", [1.6, 1.9])
def test_walked_in_track_keeps_its_distance_when_cut_off(
    height_m: float, path: tuple[tuple[float, float], tuple[float, float]]
) -> None:
    """The height learnt while the feet were in view ranges the cut-off box as well as the
    feet did, though the person is far from the default head height."""
    truth, ranged, cut_off = walk_in(SHALLOW, height_m, *path)
    assert cut_off[-1] and not cut_off[0]
    np.testing.assert_allclose(ranged[cut_off], truth[cut_off], atol=2 / 12)


@pytest.mark.parametrize("width_m", [0.4, 0.5, 0.6])
@pytest.mark.parametrize("height_m", [1.5, 1.6, 1.75, 1.95])
@pytest.mark.parametrize("camera", [STEEP, SHALLOW, HEAD_HIGH], ids=["steep", "shallow", "low"])
def test_cut_off_track_never_reads_farther_than_it_is(
    camera: Camera, height_m: float, width_m: float
) -> None:
    start, end = ((0.0, 24.0), (0.0, 3.0)) if camera is HEAD_HIGH else ((2.0, 16.0), (0.0, 1.5))
    truth, ranged, cut_off = walk_in(camera, height_m, start, end, width_m)
    assert cut_off.any()
    assert (ranged[cut_off] <= truth[cut_off] + 2 / 12).all()


@pytest.mark.parametrize("width_m", [0.4, 0.6])
@pytest.mark.parametrize("height_m", [1.6, 1.9])
def test_width_ranges_people_cut_off_by_a_camera_at_head_height(
    height_m: float, width_m: float
) -> None:
    """Near head height the head plane is ill-conditioned: a pixel of box jitter moves it by
    feet (for the 1.60 m person, whose head is at the lens, by anything). The width learnt from
    afar keeps people narrower or wider than body_width_ft within 10 %, jitter and all."""
    truth, ranged, cut_off = walk_in(HEAD_HIGH, height_m, (0.0, 24.0), (0.0, 3.0), width_m, 1.0)
    near = cut_off & (truth >= 4.0) & (truth <= 8.0)
    assert near.any()
    np.testing.assert_allclose(ranged[near], truth[near], rtol=0.1)


def test_ended_track_forgets_its_size() -> None:
    """A new track reusing an ended id is ranged with the default size, not the old one's."""
    seen_by, cut_box = person_box(SHALLOW, at(4.0, 0.0), 1.5 * FT_PER_M, cut_share=0.3)
    fresh = Ranger(SHALLOW, (0.0, 0.0), RADII).update(
        np.array([7]), cut_box[None], 0.0, seen_by.image_size
    )
    ranger = Ranger(SHALLOW, (0.0, 0.0), RADII)
    path, times = straight_walk(np.array([0.0, 14.0]), np.array([0.0, -3.5]), 2.0)
    walk(ranger, path, times, height_ft=1.95 * FT_PER_M)
    ranger.end([7])
    again = ranger.update(np.array([7]), cut_box[None], 3.0, seen_by.image_size)
    assert again.distance_ft[0] == pytest.approx(fresh.distance_ft[0], abs=1e-9)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"learn_frames": 3, "learn_min_frames": 5}, "learn_min_frames"),
        ({"learnt_height_range_ft": (7.0, 4.5)}, "learnt_height_range_ft"),
        ({"learnt_width_range_ft": (0.0, 3.0)}, "learnt_width_range_ft"),
    ],
)
def test_inconsistent_learning_settings_are_rejected(
    settings: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        RangingConfig.model_validate(settings)


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


def test_an_assumed_sizes_spread_is_the_same_on_every_frame_not_jitter() -> None:
    """People's spread around body_width_ft makes a cut-off person's position uncertain, but
    alike on every frame: their fixes' jitter does not grow with it. A box ranged from its feet
    assumes no size: its jitter is its whole covariance."""
    seen_by, box = person_box(HEAD_HIGH, at(3.0, 0.0))
    box[1] = 0.0  # the head out of the frame too: ranged by the width alone
    narrow, wide = (
        locate(seen_by, box[None], RangingConfig(body_width_sd_ft=sd)) for sd in (0.2, 0.6)
    )
    assert narrow.truncated[0] and narrow.reference[0] == wide.reference[0] == WIDTH_CUE
    assert np.trace(wide.covariance[0]) > 2 * np.trace(narrow.covariance[0])
    np.testing.assert_allclose(wide.jitter[0], narrow.jitter[0])
    seen_by, whole = person_box(STEEP, at(6.0, 0.0))
    fix = locate(seen_by, whole[None], RangingConfig())
    assert fix.reference[0] == FROM_BOTTOM
    np.testing.assert_array_equal(fix.jitter, fix.covariance)
