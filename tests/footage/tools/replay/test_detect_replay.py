"""`greetcue detect` and `greetcue eval detect` on the real PETS footage with the real weights."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest
from typer.testing import CliRunner

from edge.cli import app
from edge.perception.sources import open_source
from edge.tools.evaluation.detection import read_detections_jsonl, score_frames
from edge.tools.evaluation.groundtruth import load_pets_xml
from edge.tools.footage.location import PETS_PART_FRAMES
from tests.conftest import ReplayPets


@pytest.fixture(scope="module")
def replays(replay_pets: ReplayPets) -> dict[int, Path]:
    """Detection replays of PETS parts 0 and 1 (part 0 also annotated), made by the CLI."""
    return replay_pets("detect", ["--score", "0.4"], {"--annotate": "part0.mp4"})


def test_replay_lines_are_exactly_the_documented_shape(replays: dict[int, Path]) -> None:
    lines = replays[0].read_text().splitlines()
    assert len(lines) == PETS_PART_FRAMES
    for i, line in enumerate(lines):
        row = json.loads(line)
        assert list(row) == ["frame", "t", "detections"]
        assert row["frame"] == i
        assert row["t"] == pytest.approx(i / 10.0, abs=1e-3)  # the PETS clips are 10 fps
        for det in row["detections"]:
            assert list(det) == ["box", "score"]
            x1, y1, x2, y2 = det["box"]
            assert 0 <= x1 < x2 <= 768 and 0 <= y1 < y2 <= 576
            assert 0.4 <= det["score"] <= 1.0


def test_annotated_video_has_every_frame(replays: dict[int, Path]) -> None:
    video = cv2.VideoCapture(str(replays[0].with_suffix(".mp4")))
    try:
        count = 0
        while video.read()[0]:
            count += 1
    finally:
        video.release()
    assert count == PETS_PART_FRAMES


def test_default_detector_meets_accuracy_targets_on_pets(
    replays: dict[int, Path], footage_dir: Path
) -> None:
    truth = load_pets_xml(footage_dir / "pets2009_s2l1" / "PETS2009-S2L1.xml")
    total = None
    for part, path in replays.items():
        shifted = {f + PETS_PART_FRAMES * part: d for f, d in read_detections_jsonl(path).items()}
        assert len(shifted) == PETS_PART_FRAMES
        score = score_frames(shifted, truth, sorted(shifted))
        total = score if total is None else total + score
    assert total is not None
    assert total.recall >= 0.85, f"recall {total.recall:.3f}"
    assert total.precision >= 0.75, f"precision {total.precision:.3f}"


def test_eval_detect_command_prints_the_table(replays: dict[int, Path], footage_dir: Path) -> None:
    truth = footage_dir / "pets2009_s2l1" / "PETS2009-S2L1.xml"
    args = ["eval", "detect", str(replays[0]), str(replays[1]), "--truth", str(truth)]
    result = CliRunner().invoke(app, [*args, "--offset", "0", "--offset", "250"])
    assert result.exit_code == 0, result.output
    assert "recall" in result.output and "all" in result.output
    missing = CliRunner().invoke(
        app, ["eval", "detect", str(replays[0]), str(replays[1]), "--truth", str(truth)]
    )
    assert missing.exit_code != 0 and "--offset" in missing.output


def test_existing_results_are_never_replaced_without_overwrite(
    tmp_path: Path, footage_dir: Path, model_cache: Path
) -> None:
    out = tmp_path / "kept.jsonl"
    out.write_text("an earlier run\n")
    clip = str(footage_dir / "intel" / "people-detection.gif")
    refused = CliRunner().invoke(app, ["detect", clip, "--out", str(out)])
    assert refused.exit_code != 0 and "--overwrite" in str(refused.exception)
    assert out.read_text() == "an earlier run\n"
    replaced = CliRunner().invoke(app, ["detect", clip, "--out", str(out), "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
    with open_source(clip) as frames:
        assert len(out.read_text().splitlines()) == frames.frame_count
