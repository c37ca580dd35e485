"""The mounting simulation: the real camera model, calibration and ranging under simulated
walk-ins, with box noise measured on the real PETS footage."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from edge.perception.detections import Detections
from edge.tools.evaluation import mounting_sim
from edge.tools.evaluation.groundtruth import FrameTruth, load_pets_xml
from edge.tools.evaluation.mounting_sim import (
    RINGS_FT,
    BoxNoise,
    Errors,
    Mounting,
    MountingResult,
    consecutive_parts,
    measure_box_noise,
    simulate,
)
from tests.conftest import ReplayPets

WALKS = 12
COUNTER_CAMERA = Mounting(9.0, 46.0)


def worst_p90(result: MountingResult) -> float:
    return max(result.abs_percentile(ring, 90) for ring in RINGS_FT)


def test_perfect_boxes_and_calibration_range_to_within_inches() -> None:
    result = simulate(COUNTER_CAMERA, Errors.none(), WALKS)
    assert all(result.error_in[ring].size == WALKS for ring in RINGS_FT)
    assert worst_p90(result) < 3.5
    assert np.median(result.residual_in) < 0.01


@pytest.mark.parametrize("mounting", [Mounting(8.0, 38.0), Mounting(10.0, 54.0)])
def test_error_grows_with_box_noise(mounting: Mounting) -> None:
    errors = Errors()
    p90 = [
        worst_p90(simulate(mounting, replace(errors, box=errors.box.scaled(f)), WALKS))
        for f in (0.0, 1.0, 3.0)
    ]
    assert p90[0] < p90[1] < p90[2]


def test_careless_calibration_shows_in_residuals_and_distances() -> None:
    careful = simulate(COUNTER_CAMERA, replace(Errors.none(), click_px=1.0, tape_in=0.5), WALKS)
    careless = simulate(COUNTER_CAMERA, replace(Errors.none(), click_px=6.0, tape_in=4.0), WALKS)
    assert np.median(careless.residual_in) > 2 * np.median(careful.residual_in)
    assert worst_p90(careless) > worst_p90(careful)


def test_steeper_camera_keeps_the_feet_in_view_at_3_ft() -> None:
    shallow = simulate(Mounting(9.0, 30.0), Errors(), WALKS).cut_off[3.0]
    steep = simulate(Mounting(9.0, 54.0), Errors(), WALKS).cut_off[3.0]
    assert shallow.mean() > 0.9 > 0.1 > steep.mean()


def test_noise_is_recovered_from_boxes_of_known_error() -> None:
    rng = np.random.default_rng(3)
    truth, found = {}, {}
    share = np.array([0.04, 0.03, 0.04, 0.02])
    for frame in range(400):
        box = np.array([100.0, 80.0, 160.0, 280.0]) + frame % 50
        truth[frame] = FrameTruth(np.array([1]), box[None].astype(np.float32))
        noisy = box + rng.normal(0.0, 1.0, 4) * share * 200.0
        found[frame] = Detections(noisy[None].astype(np.float32), np.array([0.9], np.float32))
    measured = measure_box_noise(found, truth, (768, 576))
    np.testing.assert_allclose(measured.share, share, rtol=0.2)
    assert abs(measured.lag1) < 0.2  # independent from frame to frame


def test_noise_needs_matching_frames() -> None:
    truth = {0: FrameTruth(np.array([1]), np.array([[10, 10, 50, 150]], np.float32))}
    far_away = {0: Detections(np.array([[400, 300, 440, 440]], np.float32), np.ones(1, np.float32))}
    with pytest.raises(ValueError, match="frame numbers aligned"):
        measure_box_noise(far_away, truth, (768, 576))


@pytest.mark.footage
@pytest.mark.model
def test_default_box_noise_is_what_pets_measures(
    replay_pets: ReplayPets, footage_dir: Path
) -> None:
    replays = replay_pets("detect", ["--score", "0.4"], {})
    detections = consecutive_parts([replays[0], replays[1]])
    truth = load_pets_xml(footage_dir / "pets2009_s2l1" / "PETS2009-S2L1.xml")
    measured = measure_box_noise(detections, truth, (768, 576))
    np.testing.assert_allclose(measured.share, BoxNoise().share, atol=0.003)
    assert measured.lag1 == pytest.approx(BoxNoise().lag1, abs=0.03)


def test_command_writes_the_table_and_a_small_plot(tmp_path: Path) -> None:
    args = ["--out", str(tmp_path), "--walks", "5", "--height", "9", "--tilt", "40"]
    args += ["--tilt", "50"]
    app = typer.Typer()
    app.command()(mounting_sim.main)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    table = (tmp_path / "mounting-sim.md").read_text()
    assert "| 9 ft | 40 deg |" in table and "| 9 ft | 50 deg |" in table
    picture = cv2.imread(str(tmp_path / "mounting-sim.png"))
    assert picture is not None and picture.shape[1] > 400
    assert (tmp_path / "mounting-sim.png").stat().st_size < 150_000
