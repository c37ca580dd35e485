"""Tracking evaluation: MOT scores worked out by hand, the side-by-side runner, and our tracker
on real PETS footage with real detections (the peer comparison's speed is in the bench)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.config import TrackerConfig
from edge.perception.detections import Detections
from edge.perception.detectors import create_detector
from edge.perception.tracking.tracker import Tracks
from edge.tools.evaluation.groundtruth import FrameTruth
from edge.tools.evaluation.tracking import (
    EvalFrame,
    MotScore,
    compare_trackers,
    evaluate_mot,
    frame_rate,
    ours,
    peers_like,
    pets_frames,
    strong_looks,
)

A = [10.0, 10.0, 30.0, 70.0]
B = [100.0, 10.0, 120.0, 70.0]
FAR = [300.0, 300.0, 320.0, 360.0]


def truth(*people: tuple[int, list[float]]) -> FrameTruth:
    return FrameTruth(
        np.asarray([i for i, _ in people], np.int64),
        np.asarray([b for _, b in people], np.float32).reshape(-1, 4),
    )


def tracks(*found: tuple[int, list[float]]) -> Tracks:
    n = len(found)
    return Tracks(
        ids=np.asarray([i for i, _ in found], np.int64),
        xyxy=np.asarray([b for _, b in found], np.float32).reshape(-1, 4),
        observed=np.asarray([b for _, b in found], np.float32).reshape(-1, 4),
        scores=np.ones(n, np.float32),
        coasting=np.zeros(n, bool),
        ended=np.zeros(0, np.int64),
    )


TWO = truth((1, A), (2, B))


@pytest.mark.parametrize(
    ("hypotheses", "mota", "idf1", "switches"),
    [
        # ten frames of two people: every person found under one id
        ([tracks((7, A), (8, B))] * 10, 1.0, 1.0, 0),
        # ids swap after frame 5: two switches; each id right half the time
        ([tracks((7, A), (8, B))] * 5 + [tracks((8, A), (7, B))] * 5, 1 - 2 / 20, 0.5, 2),
        # B missed in 4 frames: 4 misses; B's id covers 6 of its 10 boxes
        ([tracks((7, A), (8, B))] * 6 + [tracks((7, A))] * 4, 1 - 4 / 20, 16 / 18, 0),
        # one box off target every frame: a miss and a false positive each time
        ([tracks((7, A), (8, FAR))] * 10, 1 - 20 / 20, 10 / 20, 0),
    ],
)
def test_evaluate_mot_by_hand(
    hypotheses: list[Tracks], mota: float, idf1: float, switches: int
) -> None:
    score = evaluate_mot([[(TWO, h) for h in hypotheses]])
    assert score.mota == pytest.approx(mota)
    assert score.idf1 == pytest.approx(idf1)
    assert (score.id_switches, score.frames, score.truths) == (switches, 10, 20)


def test_ids_are_compared_within_a_sequence_only() -> None:
    """The same hypothesis id in two sequences is two identities: no switch between them."""
    first = [(truth((1, A)), tracks((5, A)))] * 3
    second = [(truth((2, B)), tracks((5, B)))] * 3
    score = evaluate_mot([first, second])
    assert (score.mota, score.idf1, score.id_switches, score.frames) == (1.0, 1.0, 0, 6)


def test_evaluate_mot_needs_a_sequence() -> None:
    with pytest.raises(ValueError, match="no sequences"):
        evaluate_mot([])


def _walk(n: int, fps: float) -> list[EvalFrame]:
    """One person walking right, detected every frame and annotated as id 1."""
    frames = []
    for k in range(n):
        box = [50.0 + 3 * k, 100.0, 70.0 + 3 * k, 160.0]
        dets = Detections(np.asarray([box], np.float32), np.asarray([0.9], np.float32))
        frames.append(EvalFrame(k / fps, dets, truth((1, box))))
    return frames


def test_compare_trackers_scores_each_contender_on_the_same_frames() -> None:
    sequences = [_walk(30, 10.0), _walk(20, 10.0)]
    twin = ours(name="twin")
    results = compare_trackers(sequences, [ours(), twin], rounds=2)
    assert [r.name for r in results] == ["greetcue", "twin"]
    assert results[0].score == results[1].score
    assert results[0].score.frames == 50 and results[0].score.mota == pytest.approx(1.0)
    assert results[0].cost_ratio == pytest.approx(1.0)
    assert all(r.ms_mean > 0 and r.ms_p99 > 0 for r in results)


@pytest.mark.parametrize("fps", [5.0, 10.0, 30.0])
def test_frame_rate_of_recorded_sequences(fps: float) -> None:
    assert frame_rate([_walk(12, fps), _walk(3, fps)]) == pytest.approx(fps)


@pytest.fixture(scope="module")
def pets(footage_dir: Path, model_cache: Path) -> list[list[EvalFrame]]:
    """PETS S2L1 parts 0-1 with YOLOX-Nano detections down to score 0.1 and the appearance of
    the strong ones, detected once."""
    detector = create_detector("yolox-nano", cache=model_cache, score=0.1)
    return pets_frames(footage_dir, detector.detect, strong_looks(TrackerConfig().high_score))


@pytest.fixture(scope="module")
def pets_scores(pets: list[list[EvalFrame]]) -> dict[str, MotScore]:
    contenders = [ours(), *peers_like(TrackerConfig(), frame_rate(pets))]
    return {r.name: r.score for r in compare_trackers(pets, contenders, rounds=1)}


@pytest.mark.footage
@pytest.mark.model
def test_appearance_relink_on_pets_keeps_identities_with_fewer_false_tracks(
    pets: list[list[EvalFrame]],
) -> None:
    """With the re-link by appearance the tracker's identities are no worse, and people coming
    out from behind someone are taken back instead of starting a second, tentative track."""
    blind = ours(TrackerConfig(relink_similarity=0.0), name="blind")
    with_looks, without = compare_trackers(pets, [ours(), blind], rounds=1)
    assert with_looks.score.idf1 >= without.score.idf1
    assert with_looks.score.id_switches <= without.score.id_switches
    assert with_looks.score.false_positives < without.score.false_positives
    assert with_looks.score.mota > without.score.mota


@pytest.mark.footage
@pytest.mark.model
def test_tracker_on_pets_keeps_identities(pets_scores: dict[str, MotScore]) -> None:
    score = pets_scores["greetcue"]
    assert score.frames == 500
    assert score.idf1 >= 0.75
    assert score.mota >= 0.6


@pytest.mark.footage
@pytest.mark.model
def test_tracker_identities_at_least_as_good_as_the_peer(
    pets_scores: dict[str, MotScore],
) -> None:
    ours_idf1 = pets_scores.pop("greetcue").idf1
    assert pets_scores, "no peer was run"
    for name, peer in pets_scores.items():
        assert ours_idf1 >= peer.idf1, name
