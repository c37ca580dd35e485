"""Cue scoring on synthetic runs: each cue owned by the labelled person its track overlaps, and
recall, false cues, repeat cues and leads counted as staff would feel them."""

from __future__ import annotations

from typing import Any

import pytest

from edge.tools.evaluation.cue_labels import CueTruth
from edge.tools.evaluation.cues import (
    FALSE_CUES,
    LEAD,
    RECALL,
    REPEATS,
    CueScore,
    first_cues,
    from_sightings,
    judged,
    score_cues,
)

FPS = 10
LEFT = [100.0, 100.0, 150.0, 250.0]  # where the walker-in stays, roughly
RIGHT = [400.0, 100.0, 450.0, 250.0]  # where the passer-by stays


def _truth(*people: dict[str, Any]) -> CueTruth:
    return CueTruth.model_validate(
        {
            "clip": "c.gif",
            "config": "c.yaml",
            "labelled": "by hand",
            "method": "test",
            "people": people,
        }
    )


WALKER = {
    "id": 1,
    "class": "approaching",
    "seen": [{"t": 0.0, "box": LEFT}],
    "last_seen_s": 9.9,
    "rings": [{10.0: 3.0, 5.0: 4.0, 3.0: 4.5}],
}
PASSER = {"id": 2, "class": "passing", "seen": [{"t": 0.0, "box": RIGHT}], "last_seen_s": 9.9}


def _cue(track: int, escalation: int = 0, reason: str = "zone") -> dict[str, Any]:
    return {"type": "cue", "track_id": track, "reason": reason, "escalation": escalation}


def _run(cues: dict[int, list[dict[str, Any]]], tracks: dict[int, list[float]]) -> list[Any]:
    """Ten seconds of frames with ``tracks`` (id -> box) in each, ``cues`` at given frames."""
    return [
        {
            "frame": k,
            "t": k / FPS,
            "tracks": [{"id": i, "box": box} for i, box in tracks.items()],
            "events": cues.get(k, []),
        }
        for k in range(10 * FPS)
    ]


def test_a_cued_walker_in_counts_with_its_lead_before_every_ring() -> None:
    truth = _truth(WALKER, PASSER)
    rows = _run({15: [_cue(7)]}, {7: LEFT, 8: RIGHT})
    score = score_cues(rows, truth, from_sightings(truth.people)).score
    assert (score.approaching, score.cued, score.recall) == (1, 1, 1.0)
    assert (score.false_cues, score.repeat_cues, score.not_approaching) == (0, 0, 1)
    assert score.leads == {10.0: [1.5], 5.0: [2.5], 3.0: [3.0]}
    assert score.median_lead(5.0) == 2.5
    assert score.from_outside == [2.5]


def test_only_walk_ins_seen_crossing_the_outer_ring_count_as_from_outside() -> None:
    """Someone first seen inside the outer ring had no time to be cued: their lead counts in
    the headline median, and is left out of the from-outside one."""
    inside = {**WALKER, "rings": [{5.0: 2.0, 3.0: 2.5}]}
    outside = {**WALKER, "id": 2, "seen": [{"t": 0.0, "box": RIGHT}]}
    truth = _truth(inside, outside)
    rows = _run({15: [_cue(7), _cue(8)]}, {7: LEFT, 8: RIGHT})
    score = score_cues(rows, truth, from_sightings(truth.people)).score
    assert sorted(score.leads[5.0]) == [0.5, 2.5]
    assert (score.median_lead(5.0), score.median_lead_from_outside) == (1.5, 2.5)
    assert (score + score).from_outside == [2.5, 2.5]


def test_cues_to_a_passer_by_and_to_a_phantom_are_false_and_escalations_are_not_cues() -> None:
    truth = _truth(WALKER, PASSER)
    phantom = [600.0, 300.0, 650.0, 400.0]
    cues = {20: [_cue(8)], 30: [_cue(9)], 40: [_cue(8, escalation=1), _cue(7, reason="waiting")]}
    rows = _run(cues, {7: LEFT, 8: RIGHT, 9: phantom})
    scored = score_cues(rows, truth, from_sightings(truth.people))
    assert [(cue.track_id, person) for cue, person in scored.owners] == [(8, 2), (9, None)]
    score = scored.score
    assert (score.cued, score.recall, score.false_cues) == (0, 0.0, 2)
    assert score.false_per_20 == 40.0
    assert score.leads == {}


def test_a_second_cue_in_one_walk_in_repeats_but_one_per_walk_in_does_not() -> None:
    twice = {**WALKER, "rings": [{10.0: 3.0}, {10.0: 8.0}]}
    truth = _truth(twice)
    where = from_sightings(truth.people)
    once_each = score_cues(_run({20: [_cue(7)], 70: [_cue(7)]}, {7: LEFT}), truth, where).score
    assert (once_each.approaching, once_each.cued, once_each.repeat_cues) == (2, 2, 0)
    assert once_each.leads == {10.0: [1.0, 1.0]}
    repeated = score_cues(_run({20: [_cue(7)], 25: [_cue(3)]}, {7: LEFT, 3: LEFT}), truth, where)
    assert (repeated.score.cued, repeated.score.repeat_cues) == (1, 1)


def test_a_track_away_from_every_labelled_person_owns_nothing() -> None:
    truth = _truth(WALKER)
    rows = _run({15: [_cue(7)]}, {7: RIGHT})
    assert score_cues(rows, truth, from_sightings(truth.people)).owners[0][1] is None


def test_sightings_are_interpolated_and_only_while_the_person_is_in_view() -> None:
    moving = {**PASSER, "seen": [{"t": 1.0, "box": LEFT}, {"t": 3.0, "box": RIGHT}]}
    moving["last_seen_s"] = 5.0
    where = from_sightings(_truth(moving).people)
    assert where(0, 0.5) == {}
    assert where(0, 2.0)[2].tolist() == [250.0, 100.0, 300.0, 250.0]
    assert where(0, 4.0)[2].tolist() == RIGHT
    assert where(0, 5.5) == {}


def test_a_run_without_service_events_is_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match="track --events"):
        first_cues([{"frame": 0, "t": 0.0, "tracks": []}])


def test_figures_are_judged_against_their_targets_and_sum_over_runs() -> None:
    good = CueScore(20, 20, not_approaching=20, false_cues=1, repeat_cues=0, leads={5.0: [1.5, 2]})
    bad = CueScore(10, 8, not_approaching=0, false_cues=1, repeat_cues=2, leads={5.0: [0.1]})
    assert [target.met(value) for target, value in judged(good)] == [True] * 4
    assert [target.met(value) for target, value in judged(bad)] == [False] * 4
    both = good + bad
    assert (both.approaching, both.cued, both.false_cues, both.repeat_cues) == (30, 28, 2, 2)
    assert both.false_per_20 == 2.0 and both.median_lead(5.0) == 1.5
    assert [t for t, _ in judged(both)] == [RECALL, FALSE_CUES, REPEATS, LEAD]
    nobody = CueScore(0, 0, 0, 0, 0)
    assert [target.met(value) for target, value in judged(nobody)] == [None, None, True, None]
