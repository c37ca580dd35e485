"""Detection scoring: one-to-one matching at an IoU threshold, replay file reading."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edge.perception.detections import Detections
from edge.tools.evaluation.detection import (
    ReplayFileError,
    count_matches,
    read_detections_jsonl,
    score_frames,
)
from edge.tools.evaluation.groundtruth import FrameTruth, GroundTruthError, load_pets_xml

BOX = [10.0, 10.0, 30.0, 60.0]


@pytest.mark.parametrize(
    ("truth", "dets", "expected"),
    [
        ([BOX], [BOX], 1),
        ([BOX], [[12, 12, 32, 62]], 1),  # shifted by 2 px: IoU well above 0.5
        ([BOX], [[30, 10, 50, 60]], 0),  # touching only
        ([BOX], [BOX, BOX], 1),  # a duplicate is a false positive, not a second match
        ([BOX, [40, 10, 60, 60]], [[41, 10, 61, 60], BOX], 2),  # order does not matter
        ([], [BOX], 0),
        ([BOX], [], 0),
    ],
)
def test_count_matches(truth: list[list[float]], dets: list[list[float]], expected: int) -> None:
    assert count_matches(np.array(truth).reshape(-1, 4), np.array(dets).reshape(-1, 4)) == expected


def test_score_counts_missed_frames_and_threshold() -> None:
    truth = {
        0: FrameTruth(np.array([1]), np.array([BOX], np.float32)),
        1: FrameTruth(np.array([1]), np.array([BOX], np.float32)),
    }
    dets = {
        0: Detections(
            np.array([BOX, [100, 100, 120, 150]], np.float32), np.array([0.9, 0.3], np.float32)
        )
    }
    everything = score_frames(dets, truth, [0, 1])
    assert (everything.truths, everything.detections, everything.matched) == (2, 2, 1)
    assert everything.recall == pytest.approx(0.5) and everything.precision == pytest.approx(0.5)
    confident = score_frames(dets, truth, [0, 1], min_score=0.5)
    assert confident.precision == pytest.approx(1.0)


def test_replay_file_round_trip_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "dets.jsonl"
    rows = [
        {"frame": 0, "t": 0.0, "detections": [{"box": BOX, "score": 0.8}]},
        {"frame": 1, "t": 0.1, "detections": []},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    frames = read_detections_jsonl(path)
    assert len(frames[0]) == 1 and len(frames[1]) == 0
    path.write_text('{"frame": 0}\n')
    with pytest.raises(ReplayFileError, match=r"dets.jsonl:1"):
        read_detections_jsonl(path)
    with pytest.raises(ReplayFileError, match="greetcue detect"):
        read_detections_jsonl(tmp_path / "missing.jsonl")


def test_pets_truth_reads_every_frame(footage_dir: Path) -> None:
    truth = load_pets_xml(footage_dir / "pets2009_s2l1" / "PETS2009-S2L1.xml")
    assert sorted(truth) == list(range(795))
    boxes = np.concatenate([t.xyxy for t in truth.values()])
    assert np.all(boxes[:, 2] > boxes[:, 0]) and np.all(boxes[:, 3] > boxes[:, 1])


@pytest.mark.parametrize(
    "xml",
    [
        '<dataset><frame number="0"><objectlist><object id="1"><box xc="1" yc="2" w="3"/>'
        "</object></objectlist></frame></dataset>",
        '<dataset><frame number="0"><objectlist><object id="1"><box xc="a" yc="2" w="3" h="4"/>'
        "</object></objectlist></frame></dataset>",
        "<dataset><frame><objectlist/></frame></dataset>",
        '<dataset><frame number="0"><objectlist><object id="1"/></objectlist></frame></dataset>',
    ],
)
def test_malformed_truth_names_the_file_and_what_is_missing(tmp_path: Path, xml: str) -> None:
    path = tmp_path / "gt.xml"
    path.write_text(xml)
    with pytest.raises(GroundTruthError, match=r"gt.xml: frame .*numeric xc, yc, w and h"):
        load_pets_xml(path)
