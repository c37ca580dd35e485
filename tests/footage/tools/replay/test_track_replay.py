"""`greetcue track` on real PETS footage with its real calibration: format and distance accuracy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edge.cli import app
from edge.config import load_config
from edge.perception.geometry.tsai import TsaiCamera
from edge.tools.evaluation.groundtruth import load_pets_xml
from edge.tools.evaluation.ranging import distance_errors
from edge.tools.footage.location import PETS_PART_FRAMES
from edge.tools.replay.jobs import read_rows
from tests.conftest import ReplayPets
from tests.support.paths import REPO

EXAMPLE = REPO / "deploy" / "examples" / "pets-view001.yaml"


@pytest.fixture(scope="module")
def replays(replay_pets: ReplayPets) -> dict[int, Path]:
    """Track replays of PETS parts 0 and 1 (part 0 also annotated and plotted), by the CLI."""
    outputs = {"--annotate": "part0.mp4", "--plot": "part0.png"}
    return replay_pets("track", ["--config", str(EXAMPLE)], outputs)


def test_track_lines_are_exactly_the_documented_shape(replays: dict[int, Path]) -> None:
    lines = replays[0].read_text().splitlines()
    assert len(lines) == PETS_PART_FRAMES
    keys = ["id", "box", "floor_ft", "distance_ft", "speed_ftps", "tta_s", "truncated"]
    seen_ids: set[int] = set()
    for i, line in enumerate(lines):
        row = json.loads(line)
        assert list(row) == ["frame", "t", "tracks"] and row["frame"] == i
        ids = [track["id"] for track in row["tracks"]]
        assert len(ids) == len(set(ids)), "an id appears twice in one frame"
        for track in row["tracks"]:
            assert list(track) == keys
            assert isinstance(track["truncated"], bool)
            assert track["tta_s"] is None or track["tta_s"] >= 0
            assert len(track["box"]) == 4 and len(track["floor_ft"]) == 2
        seen_ids.update(ids)
    assert len(seen_ids) >= 5, "PETS part 0 shows many people"


def test_annotated_video_and_plot_are_written(replays: dict[int, Path]) -> None:
    assert replays[0].with_suffix(".mp4").stat().st_size > 100_000
    assert replays[0].with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_tracked_distances_match_ground_truth_foot_points(
    replays: dict[int, Path], footage_dir: Path
) -> None:
    """Median relative error of distance_ft against the annotated foot point, through Tsai."""
    pets = footage_dir / "pets2009_s2l1"
    tsai = TsaiCamera.from_xml(pets / "View_001.xml")
    truth = load_pets_xml(pets / "PETS2009-S2L1.xml")
    counter = load_config(EXAMPLE).counter.position_ft
    errors = np.concatenate(
        [
            distance_errors(
                read_rows(path),
                truth,
                tsai.ground_points_ft,
                counter,
                frame_offset=PETS_PART_FRAMES * part,
            )
            for part, path in replays.items()
        ]
    )
    assert len(errors) >= 2000, "most annotated people should be tracked and matched"
    median = float(np.median(np.abs(errors)))
    assert median <= 0.02, f"median relative distance error {median:.2%}"


def test_track_without_calibration_is_a_clear_error(tmp_path: Path, footage_dir: Path) -> None:
    config = tmp_path / "bare.yaml"
    config.write_text("site: s\n")
    clip = footage_dir / "pets2009_s2l1" / "vtest_part0.avi"
    out = tmp_path / "t.jsonl"
    result = CliRunner().invoke(
        app, ["track", str(clip), "--config", str(config), "--out", str(out)]
    )
    assert result.exit_code != 0
    assert "calibration" in str(result.exception)
