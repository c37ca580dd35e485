"""Tracker behaviour on synthetic people: ids through crossings and occlusions, birth and death
rules, the low-score stage, and elapsed-time (not frame-count) motion."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pytest

from edge.config import ConfigError, TrackerConfig, parse_config
from edge.perception.detections import Detections, match
from edge.perception.tracking.appearance import FEATURES
from edge.perception.tracking.tracker import Tracker, TrackerTimeError, Tracks

W, H = 20.0, 60.0  # a person's box, pixels
HIGH, LOW = 0.9, 0.3  # detection scores on either side of the default high_score 0.5

# One frame of synthetic input: (centre x, centre y, score) per visible person.
People = list[tuple[float, float, float]]


def detections(people: People, w: float = W, h: float = H) -> Detections:
    xyxy = [[x - w / 2, y - h / 2, x + w / 2, y + h / 2] for x, y, _ in people]
    return Detections(
        np.asarray(xyxy, np.float32).reshape(-1, 4),
        np.asarray([s for _, _, s in people], np.float32),
    )


def run(frames: Sequence[People], times: Iterable[float], tracker: Tracker) -> list[Tracks]:
    return [tracker.update(detections(p), float(t)) for p, t in zip(frames, times, strict=True)]


def id_near(tracks: Tracks, x: float, tol: float = W / 2) -> int | None:
    """The id of the reported track centred within ``tol`` pixels of ``x``, if any."""
    centres = (tracks.xyxy[:, 0] + tracks.xyxy[:, 2]) / 2
    near = np.flatnonzero(np.abs(centres - x) < tol)
    return int(tracks.ids[near[0]]) if len(near) == 1 else None


def walk(x0: float, speed: float, t: float) -> float:
    return x0 + speed * t


@pytest.mark.parametrize(
    ("fps", "speed", "overlap"),
    [
        (10, 40.0, "hidden"),  # the far person vanishes while the boxes overlap
        (10, 40.0, "weak"),  # ... or is only seen at a low score
        (10, 60.0, "both"),  # both seen, the far one a little higher in the image
        (30, 40.0, "hidden"),
        (5, 40.0, "weak"),
    ],
)
def test_ids_survive_two_people_crossing(fps: int, speed: float, overlap: str) -> None:
    times = np.arange(0, 8.0, 1 / fps)
    frames: list[People] = []
    for t in times:
        a, b = walk(60, speed, t), walk(380, -speed, t)
        overlapping = abs(a - b) < W * 1.2
        people: People = [(a, 200.0, HIGH)]
        if not overlapping:
            people.append((b, 200.0, HIGH))
        elif overlap == "weak":
            people.append((b, 200.0, LOW))
        elif overlap == "both":
            people.append((b, 190.0, HIGH))
        frames.append(people)
    out = run(frames, times, Tracker())
    seen_a = {id_near(tr, walk(60, speed, t)) for tr, t in zip(out, times, strict=True)}
    apart = [
        (tr, t)
        for tr, t in zip(out, times, strict=True)
        if abs(walk(60, speed, t) - walk(380, -speed, t)) > 2 * W
    ]
    ids_a = {id_near(tr, walk(60, speed, t)) for tr, t in apart}
    ids_b = {id_near(tr, walk(380, -speed, t)) for tr, t in apart}
    assert len(ids_a) == len(ids_b) == 1, (ids_a, ids_b)
    assert ids_a != ids_b and None not in ids_a | ids_b
    assert seen_a - {None} == ids_a  # never another id on A, even mid-crossing


@pytest.mark.parametrize(
    ("fps", "gap_s", "max_lost_s", "survives"),
    [
        (10, 0.5, 1.0, True),
        (10, 0.9, 1.0, True),
        (10, 1.5, 1.0, False),
        (30, 0.5, 1.0, True),
        (30, 1.5, 1.0, False),
        (10, 2.5, 3.0, True),
        (10, 2.5, 2.0, False),
    ],
)
def test_id_survives_occlusion_shorter_than_max_lost(
    fps: int, gap_s: float, max_lost_s: float, survives: bool
) -> None:
    speed = 30.0
    times = np.round(np.arange(0, 2.0 + gap_s + 2.0, 1 / fps), 6)
    hidden = (times >= 2.0) & (times < 2.0 + gap_s - 1e-6)
    frames: list[People] = [
        [] if h else [(walk(50, speed, t), 200.0, HIGH)] for t, h in zip(times, hidden, strict=True)
    ]
    out = run(frames, times, Tracker(TrackerConfig(max_lost_s=max_lost_s)))
    before = {int(i) for tr in out[: np.argmax(hidden)] for i in tr.ids}
    after = {int(i) for tr in out[-5:] for i in tr.ids}
    ended = [int(i) for tr in out for i in tr.ended]
    assert len(before) == 1 and len(after) == 1
    assert (before == after) is survives
    assert ended == ([] if survives else sorted(before))  # reported once, at its end
    assert all(len(tr) == 0 for tr, h in zip(out, hidden, strict=True) if h)  # coast_s is 0


@pytest.mark.parametrize("min_hits", [2, 3, 5])
@pytest.mark.parametrize("pattern", ["once", "every other frame"])
def test_spurious_detections_never_get_an_id(min_hits: int, pattern: str) -> None:
    times = np.arange(0, 3.0, 0.1)
    frames: list[People] = []
    for k, t in enumerate(times):
        people: People = [(walk(50, 30, t), 200.0, HIGH)]
        if (pattern == "once" and k == 10) or (pattern == "every other frame" and k % 2):
            people.append((400.0, 300.0, 0.99))
        frames.append(people)
    out = run(frames, times, Tracker(TrackerConfig(min_hits=min_hits)))
    assert {int(i) for tr in out for i in tr.ids} == {1}
    assert all(id_near(tr, 400.0) is None for tr in out)


@pytest.mark.parametrize("min_hits", [1, 2, 4])
def test_birth_after_min_hits_except_in_the_first_frame(min_hits: int) -> None:
    times = np.arange(0, 1.0, 0.1)
    frames: list[People] = [
        [(100.0, 200.0, HIGH)] + ([(300.0, 200.0, HIGH)] if k >= 3 else [])
        for k in range(len(times))
    ]
    out = run(frames, times, Tracker(TrackerConfig(min_hits=min_hits)))
    assert out[0].ids.tolist() == [1]  # in view at start: confirmed at once
    first_seen = next(k for k, tr in enumerate(out) if id_near(tr, 300.0) is not None)
    assert first_seen == 3 + min_hits - 1
    assert id_near(out[-1], 300.0) == 2  # ids are small integers from 1


@pytest.mark.parametrize("score", [LOW, 0.11, 0.49])
def test_low_score_detections_extend_tracks_but_never_start_them(score: float) -> None:
    times = np.arange(0, 3.0, 0.1)
    # A confirmed person whose detections weaken after 1 s; a second person only ever weak.
    frames: list[People] = [
        [(walk(50, 30, t), 200.0, HIGH if t < 1.0 else score), (400.0, 300.0, score)] for t in times
    ]
    out = run(frames, times, Tracker())
    assert all(tr.ids.tolist() == [1] for tr in out)
    assert all(id_near(tr, walk(50, 30, t)) == 1 for tr, t in zip(out, times, strict=True))


def test_low_score_detection_does_not_revive_a_lost_track() -> None:
    times = np.arange(0, 2.0, 0.1)
    x = [walk(50, 30, t) for t in times]
    frames: list[People] = [[(x[k], 200.0, HIGH)] for k in range(10)]
    frames += [[], [], [(x[12], 200.0, LOW)], [(x[13], 200.0, LOW)]]  # lost, then only weak
    frames += [[(x[k], 200.0, HIGH)] for k in range(14, 20)]
    out = run(frames, times, Tracker())
    assert [len(tr) for tr in out[10:14]] == [0, 0, 0, 0]
    assert all(tr.ids.tolist() == [1] for tr in out[14:])  # a strong box finds it again


@pytest.mark.parametrize(
    "drops",
    [
        [12, 13, 14],  # three frames lost in a row
        [11, 13, 15, 17],  # every other frame
        [12, 13, 14, 20, 21, 22, 23],
    ],
)
def test_dropped_frames_use_elapsed_time(drops: list[int]) -> None:
    """A fast walker is followed across dropped frames, which a filter that counted frames
    instead of seconds would lose: after three drops it would predict 30 px (1.5 widths) short."""
    speed = 100.0  # pixels per second: half a box width per frame at 10 fps
    times = [k / 10 for k in range(40) if k not in drops]
    frames: list[People] = [[(walk(50, speed, t), 200.0, HIGH)] for t in times]
    out = run(frames, times, Tracker())
    assert all(tr.ids.tolist() == [1] for tr in out)
    last = out[-1].xyxy[0]
    assert (last[0] + last[2]) / 2 == pytest.approx(walk(50, speed, times[-1]), abs=3.0)


def test_coasting_tracks_are_reported_at_their_predicted_box() -> None:
    times = np.arange(0, 2.0, 0.1)
    frames: list[People] = [
        [] if 10 <= k < 14 else [(walk(50, 30, t), 200.0, HIGH)] for k, t in enumerate(times)
    ]
    out = run(frames, times, Tracker(TrackerConfig(coast_s=0.25)))
    assert [len(tr) for tr in out[10:14]] == [1, 1, 0, 0]
    assert out[10].coasting.tolist() == [True] and out[9].coasting.tolist() == [False]
    assert id_near(out[11], walk(50, 30, times[11]), tol=3.0) == 1
    assert out[-1].ids.tolist() == [1]


def test_time_must_not_go_back_and_reset_starts_afresh() -> None:
    tracker = Tracker()
    one = detections([(100.0, 200.0, HIGH)])
    tracker.update(one, 5.0)
    tracker.update(one, 5.1)
    with pytest.raises(TrackerTimeError, match="call reset"):
        tracker.update(one, 5.0)
    with pytest.raises(TrackerTimeError, match="finite"):
        tracker.update(one, float("nan"))
    tracker.update(detections([(100.0, 200.0, HIGH), (300.0, 200.0, HIGH)]), 5.2)
    tracker.reset()
    assert tracker.update(one, 0.0).ids.tolist() == [1]


def test_empty_frames_are_fine() -> None:
    tracker = Tracker()
    assert len(tracker.update(Detections.empty(), 0.0)) == 0
    assert len(tracker.update(detections([(100.0, 200.0, HIGH)]), 0.1)) == 0  # not first frame
    assert len(tracker.update(Detections.empty(), 0.2)) == 0


@pytest.mark.parametrize(
    ("iou", "min_iou", "pairs"),
    [
        ([[0.9, 0.1], [0.2, 0.8]], 0.5, [(0, 0), (1, 1)]),
        ([[0.6, 0.5], [0.55, 0.0]], 0.3, [(0, 1), (1, 0)]),  # more pairs beat one best pair
        ([[0.2, 0.1]], 0.3, []),
        ([[0.4], [0.6]], 0.3, [(1, 0)]),
        ([[], []], 0.3, []),
    ],
)
def test_match(iou: list[list[float]], min_iou: float, pairs: list[tuple[int, int]]) -> None:
    rows, cols = match(np.asarray(iou, np.float64), min_iou)
    assert list(zip(rows.tolist(), cols.tolist(), strict=True)) == pairs


@pytest.mark.parametrize(
    ("tracker", "message"),
    [
        ({"low_score": 0.6, "high_score": 0.5}, "low_score <= high_score"),
        ({"new_track_score": 0.4}, "high_score <= new_track_score"),
        ({"coast_s": 2.0, "max_lost_s": 1.0}, "cannot exceed max_lost_s"),
        ({"min_hits": 0}, "tracker.min_hits"),
        ({"match_iou": 1.5}, "tracker.match_iou"),
        ({"max_lost": 1.0}, "unknown key"),
    ],
)
def test_tracker_config_errors_name_the_key(tracker: dict[str, float], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({"tracker": tracker})


def test_observed_boxes_are_the_detections_and_nan_while_coasting() -> None:
    tracker = Tracker(TrackerConfig(coast_s=1.0))
    box = np.array([[100, 100, 140, 200]], np.float32)
    for k in range(3):
        moved = box + np.float32(4 * k)
        tracks = tracker.update(Detections(moved, np.array([0.9], np.float32)), k * 0.1)
    np.testing.assert_array_equal(tracks.observed, moved)
    coasting = tracker.update(Detections.empty(), 0.3)
    assert coasting.coasting.all() and np.isnan(coasting.observed).all()


def _looks(bin_: int, n: int) -> np.ndarray:
    """``n`` descriptors of clothes all of one colour (histogram bin ``bin_``)."""
    looks = np.zeros((n, FEATURES), np.float32)
    looks[:, bin_] = 1.0
    return looks


@pytest.mark.parametrize(
    ("back_in", "kept"),
    [("the same clothes", True), ("other clothes", False), ("no appearance", False)],
)
def test_a_person_who_stops_behind_someone_is_taken_back_by_their_clothes(
    back_in: str, kept: bool
) -> None:
    """Walking at 40 px/s, hidden for 1 s, during which they stop: the prediction runs on 40 px
    (two box widths, no overlap left) but the person is back where they stopped, within a box
    height of it. Their clothes take them back; other clothes there are someone else."""
    fps, speed = 10, 40.0
    walking = [[(walk(100, speed, k / fps), 200.0, HIGH)] for k in range(20)]
    stop_x = walk(100, speed, 2.0)
    hidden: list[People] = [[] for _ in range(10)]
    back: list[People] = [[(stop_x, 200.0, HIGH)] for _ in range(10)]
    frames = walking + hidden + back
    own, other = _looks(3, 1), _looks(20, 1)
    tracker = Tracker(TrackerConfig(max_lost_s=1.5))
    out = []
    for k, people in enumerate(frames):
        looks = None if back_in == "no appearance" else own
        if k >= 30 and back_in == "other clothes":
            looks = other
        out.append(tracker.update(detections(people), k / fps, looks if people else None))
    before = {int(i) for tr in out[:20] for i in tr.ids}
    after = {int(i) for tr in out[-3:] for i in tr.ids}
    assert len(before) == 1 and len(after) == 1
    assert (before == after) is kept


def test_relink_is_off_at_zero_similarity() -> None:
    tracker = Tracker(TrackerConfig(relink_similarity=0.0))
    looks = _looks(3, 1)
    first = [
        tracker.update(detections([(100.0 + 4 * k, 200.0, HIGH)]), k / 10, looks) for k in range(20)
    ]
    for k in range(20, 30):
        tracker.update(detections([]), k / 10, None)
    back = [
        tracker.update(detections([(180.0, 200.0, HIGH)]), k / 10, looks) for k in range(30, 35)
    ]
    assert set(first[-1].ids.tolist()).isdisjoint(back[-1].ids.tolist())
