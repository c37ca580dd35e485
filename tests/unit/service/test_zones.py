"""Zone state machine: rings, debounce and hysteresis, approach, cues once per visit, waiting.

People are simulated walking straight between waypoints on the floor at 10 fps, the counter at
the origin; distance, radial speed and ring-entry times are computed the way ranging does.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pytest

from edge.config import Config, PresenceConfig, RangingConfig, ZoneConfig
from edge.perception.geometry.ranging import RangeResult, _ring_entry_times
from edge.service.presence.decisions import (
    CueDue,
    Decision,
    TrackEnded,
    TrackStarted,
    VisitEnded,
    WaitingDue,
    ZoneEntered,
    ZoneExited,
)
from edge.service.presence.visits import Approach, ApproachHold, classify
from edge.service.presence.zones import Zones

FPS = 10
RADII = (10.0, 5.0, 3.0)
ALL = ("10ft", "5ft", "3ft")
Point = tuple[float, float, float]  # t (s), x (ft), y (ft)
Vec = npt.NDArray[np.float64]
D = TypeVar("D", bound=Decision)
Zoned = ZoneEntered | ZoneExited | CueDue | WaitingDue


@dataclass(frozen=True)
class Walk:
    """A person seen from the first waypoint's time to the last's, walking straight at constant
    speed between waypoints (the same point twice: standing); radial noise on the position."""

    points: Sequence[Point]
    track_id: int = 1
    ended_at: float | None = None
    noise_ft: float = 0.0
    seed: int = 0
    rng: np.random.Generator = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rng", np.random.default_rng(self.seed))

    def at(self, t: float) -> tuple[Vec, Vec] | None:
        """Floor position and velocity at ``t``; None when not in view."""
        pts = np.asarray(self.points, np.float64)
        if not pts[0, 0] - 1e-9 <= t <= pts[-1, 0] + 1e-9:
            return None
        k = int(np.clip(np.searchsorted(pts[:, 0], t, side="right") - 1, 0, len(pts) - 2))
        (t0, *p0), (t1, *p1) = pts[k], pts[k + 1]
        velocity = (np.asarray(p1) - p0) / (t1 - t0)
        floor = np.asarray(p0) + velocity * (t - t0)
        if self.noise_ft:
            distance = np.linalg.norm(floor)
            floor = floor * (1 + self.rng.uniform(-self.noise_ft, self.noise_ft) / distance)
        return floor, velocity


def straight(start_ft: float, end_ft: float, speed: float, t0: float = 0.0) -> list[Point]:
    """Along the y axis from ``start_ft`` to ``end_ft`` at ``speed`` ft/s."""
    return [(t0, 0.0, start_ft), (t0 + abs(end_ft - start_ft) / speed, 0.0, end_ft)]


def route(*stops: tuple[float, float], speed: float = 3.5, t0: float = 0.0) -> list[Point]:
    """Through floor points at ``speed``; a repeated point means standing for 1 s."""
    points, t = [(t0, *stops[0])], t0
    for a, b in itertools.pairwise(stops):
        gap = float(np.hypot(b[0] - a[0], b[1] - a[1]))
        t += gap / speed if gap else 1.0
        points.append((t, *b))
    return points


def stand(x: float, y: float, seconds: float, t0: float = 0.0) -> list[Point]:
    return [(t0, x, y), (t0 + seconds, x, y)]


def ranges(
    rows: Sequence[tuple[int, Vec, Vec]], radii: Sequence[float], restarted: Sequence[int] = ()
) -> RangeResult:
    """A RangeResult for (track id, floor, velocity) rows, as ranging computes it; the tracks
    in ``restarted`` had their box jump in this frame."""
    ids = np.array([row[0] for row in rows], np.int64)
    floor = np.array([row[1] for row in rows], np.float64).reshape(-1, 2)
    velocity = np.array([row[2] for row in rows], np.float64).reshape(-1, 2)
    distance = np.linalg.norm(floor, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        speed = np.einsum("ij,ij->i", floor, velocity) / distance
    tta = _ring_entry_times(
        floor, velocity, np.asarray(radii, np.float64), RangingConfig().min_approach_ftps
    )
    closing = speed < -RangingConfig().min_approach_ftps  # synthetic walks carry no noise
    cut, jumped = np.zeros(len(ids), bool), np.isin(ids, list(restarted))
    return RangeResult(ids, floor, velocity, distance, speed, tta, cut, closing, jumped)


def run(zones: Zones, walks: Sequence[Walk], radii: Sequence[float] = RADII) -> list[Decision]:
    """Every decision over the walks, frame by frame; ended ids reported once."""
    end = max(max(p[0] for p in w.points) for w in walks) + 2.0
    decisions: list[Decision] = []
    pending = {w.track_id: w.ended_at for w in walks if w.ended_at is not None}
    for frame in range(int(end * FPS) + 1):
        t = frame / FPS
        seen = [(w.track_id, w.at(t)) for w in walks]
        rows = [(i, *state) for i, state in seen if state is not None]
        ended = [i for i, at in pending.items() if at <= t + 1e-9]
        for i in ended:
            del pending[i]
        decisions += zones.update(t, ranges(rows, radii), ended)
    return decisions


def make(
    radii: Sequence[float] = RADII,
    cue: Sequence[str] | None = ALL,
    lead_s: float = 0.5,
    **presence: object,
) -> Zones:
    zones = [ZoneConfig(name=f"{r:g}ft", radius_ft=r, lead_s=lead_s) for r in radii]
    return Zones(zones, (0.0, 0.0), PresenceConfig.model_validate(presence), cue)


def of(kind: type[D], decisions: Sequence[Decision]) -> list[D]:
    return [d for d in decisions if isinstance(d, kind)]


def zones_of(kind: type[Zoned], decisions: Sequence[Decision]) -> list[str]:
    return [d.zone for d in of(kind, decisions)]


@pytest.mark.parametrize(
    ("radii", "expected"),
    [
        (RADII, ["10ft", "5ft", "3ft"]),
        ((3.0, 10.0, 5.0), ["10ft", "5ft", "3ft"]),
        ((12.0, 6.0), ["12ft", "6ft"]),
        ((4.0,), ["4ft"]),
        ((15.0, 10.0, 6.0, 3.0), ["15ft", "10ft", "6ft", "3ft"]),
    ],
)
def test_straight_approach_enters_and_cues_outermost_first(
    radii: Sequence[float], expected: list[str]
) -> None:
    zones = make(radii, cue=expected)
    decisions = run(zones, [Walk(straight(20, 1, 3.5))], radii)
    assert zones_of(ZoneEntered, decisions) == expected
    assert zones_of(CueDue, decisions) == expected


@pytest.mark.parametrize("speed", [2.8, 3.5, 4.3])
def test_straight_approach_goes_10_5_3_and_each_cue_comes_before_its_crossing(
    speed: float,
) -> None:
    decisions = run(make(), [Walk(straight(20, 1, speed))])
    entered, cues = of(ZoneEntered, decisions), of(CueDue, decisions)
    assert [e.zone for e in entered] == [c.zone for c in cues] == list(ALL)
    for cue, entry in zip(cues, entered, strict=True):
        assert cue.trigger == "predicted"
        assert cue.t < entry.crossed_t


@pytest.mark.parametrize("margin", [0.5, 1.0, 2.0])
def test_walking_out_exits_each_zone_once_beyond_its_margin(margin: float) -> None:
    walk = Walk(route((0, 20), (0, 1), (0, 20)))
    decisions = run(make(exit_margin_ft=margin), [walk])
    exits = of(ZoneExited, decisions)
    assert [e.zone for e in exits] == ["3ft", "5ft", "10ft"]
    for exit_, radius in zip(exits, (3.0, 5.0, 10.0), strict=True):
        assert exit_.distance_ft > radius + margin


STILL_AT_13 = ((0.0, 13.0), (0.0, 0.0))
NEARING_AT_18 = ((0.0, 18.5), (0.0, -1.0))  # approaching slowly: the 10 ft ring 8.5 s away


@pytest.mark.parametrize(
    ("enter_s", "steady", "glitch", "entered", "cued"),
    [
        (0.25, STILL_AT_13, ((0, 2), (0, -20)), False, False),  # one frame at 2 ft, rushing in
        (0.1, STILL_AT_13, ((0, 2), (0, -20)), False, False),  # any hold > 0 needs two frames
        (0.25, STILL_AT_13, ((0, 9.5), (0, -20)), False, False),
        (0.25, NEARING_AT_18, ((0, 18.5), (0, -40)), False, False),  # the ring seems 0.2 s away
        (0.0, STILL_AT_13, ((0, 2), (0, -20)), True, False),  # controls: without the debounce
        (0.0, NEARING_AT_18, ((0, 18.5), (0, -40)), False, True),  # the frame would count
    ],
)
def test_one_noisy_frame_never_enters_or_cues(
    enter_s: float,
    steady: tuple[tuple[float, float], tuple[float, float]],
    glitch: tuple[tuple[float, float], tuple[float, float]],
    entered: bool,
    cued: bool,
) -> None:
    zones, decisions = make(enter_s=enter_s), []
    for frame in range(40):
        floor, velocity = glitch if frame == 20 else steady
        row = (1, np.array(floor, float), np.array(velocity, float))
        decisions += zones.update(frame / FPS, ranges([row], RADII), [])
    assert bool(of(ZoneEntered, decisions)) is entered
    assert bool(of(CueDue, decisions)) is cued


@pytest.mark.parametrize(("radius", "seed"), [(10.0, 1), (10.0, 2), (5.0, 3), (3.0, 4)])
def test_standing_on_a_ring_with_half_a_foot_of_noise_never_flickers(
    radius: float, seed: int
) -> None:
    walk = Walk(
        [*straight(20, radius, 3.5)[:1], *stand(0, radius, 20, (20 - radius) / 3.5)],
        noise_ft=0.5,
        seed=seed,
    )
    decisions = run(make(), [walk])
    name = f"{radius:g}ft"
    assert zones_of(ZoneEntered, decisions).count(name) == 1
    assert of(ZoneExited, decisions) == []


@pytest.mark.parametrize(
    "stops",
    [
        ((-20, 8), (20, 8)),  # past the counter, 8 ft away at the closest
        ((-20, 9), (20, 9)),
        ((-20, 12), (20, 12)),  # never in a zone
        ((-15, 4), (15, 14)),  # across at a slant, 8.5 ft away at the closest
    ],
)
def test_passing_gets_no_cue(stops: tuple[tuple[float, float], ...]) -> None:
    decisions = run(make(), [Walk(route(*stops))])
    assert of(CueDue, decisions) == []


@pytest.mark.parametrize(
    ("aim", "cued"),
    [
        ((6.0, 0.0), False),  # 14 degrees off, inside the cone: the line passes 5.8 ft away
        ((2.0, 0.0), True),  # 5 degrees off: the line passes 2 ft away
    ],
)
def test_a_walk_aimed_wide_of_the_counter_brushes_the_outer_zone_uncued(
    aim: tuple[float, float], cued: bool
) -> None:
    """On PETS two people walked straight in from 20 ft, passed within 6.3 ft and walked on:
    inside the approach cone all the way, so both were cued. The line they walk on must pass
    within ``approach_miss_ft`` of the counter."""
    line = np.subtract(aim, (0.0, 24.0))
    far_end = tuple(np.add((0.0, 24.0), 1.6 * line))
    decisions = run(make(approach_miss_ft=4.0), [Walk(route((0.0, 24.0), far_end, speed=5.0))])
    assert "10ft" in zones_of(ZoneEntered, decisions)
    assert bool(of(CueDue, decisions)) is cued


def test_classify_needs_the_line_walked_to_pass_within_the_miss_distance() -> None:
    floor = np.array([[0.0, 12.0], [0.0, 12.0]])
    velocity = np.array([[6.0, -12.0], [2.0, -12.0]]) / 4  # aimed at (6, 0) and at (2, 0)
    closing = np.array([True, True])
    got = classify(floor, velocity, closing, (0, 0), 0.6, 40, miss_ft=4.0)
    assert got == ["passing", "approaching"]


@pytest.mark.parametrize(
    "stops",
    [((0, 2), (0, 20)), ((3, 3), (15, 15)), ((0, 8), (0, 25)), ((-2, 4), (-12, 14))],
)
def test_someone_first_seen_inside_walking_away_is_no_arrival(
    stops: tuple[tuple[float, float], ...],
) -> None:
    zones = make()
    decisions = run(zones, [Walk(route(*stops))])
    assert of(CueDue, decisions) == []
    assert of(ZoneEntered, decisions) == [] and of(ZoneExited, decisions) == []


def test_someone_walking_away_counts_as_inside_while_there() -> None:
    zones = make()
    decisions = run(zones, [Walk(route((0, 2), (0, 2.5), speed=1.0))])
    assert of(ZoneEntered, decisions) == []
    assert [zone.count for zone in zones.occupancy()] == [1, 1, 1]


def test_an_arrival_who_turns_and_leaves_exits_and_ends_the_visit() -> None:
    decisions = run(make(), [Walk(route((0, 16), (0, 2), (0, 2), (0, 18)))])
    assert zones_of(ZoneEntered, decisions) == list(ALL)
    assert zones_of(ZoneExited, decisions) == ["3ft", "5ft", "10ft"]
    exit_10 = next(d for d in of(ZoneExited, decisions) if d.zone == "10ft")
    (ended,) = of(VisitEnded, decisions)
    assert ended.visit == exit_10.visit and ended.t == exit_10.t


@pytest.mark.parametrize(
    ("start", "drift"),
    [
        ((0, 2), (0, 0)),
        ((3, 3), (0, 0)),
        ((0, 7), (0, 0)),
        ((0, 7), (0, -0.3)),
        ((4, 0), (-0.4, 0)),
    ],
)
def test_standing_inside_gets_no_zone_cue(
    start: tuple[float, float], drift: tuple[float, float]
) -> None:
    seconds = 4.0  # less than waiting_s
    end = (start[0] + drift[0] * seconds, start[1] + drift[1] * seconds)
    decisions = run(make(), [Walk([(0.0, *start), (seconds, *end)])])
    assert of(ZoneEntered, decisions)
    assert of(CueDue, decisions) == []


@pytest.mark.parametrize(("speed", "lead_s"), [(3.5, 0.5), (2.8, 1.0), (4.3, 1.5), (3.5, 2.0)])
def test_predicted_cue_fires_before_the_crossing_with_its_lead(speed: float, lead_s: float) -> None:
    decisions = run(make(cue=["10ft"], lead_s=lead_s), [Walk(straight(25, 1, speed))])
    (cue,) = of(CueDue, decisions)
    entered = next(d for d in of(ZoneEntered, decisions) if d.zone == "10ft")
    assert isinstance(cue, CueDue) and isinstance(entered, ZoneEntered)
    assert cue.trigger == "predicted" and cue.distance_ft > 10.0
    assert cue.t < entered.crossed_t
    assert entered.lead_s is not None
    assert entered.lead_s == pytest.approx(entered.crossed_t - cue.t)
    # Predicted within lead_s + enter_s and held for enter_s (0.25 s: three frames), so the
    # debounce does not eat the lead; frames (0.1 s apart) blur both ends.
    assert lead_s - 0.15 < entered.lead_s < lead_s + 0.2


@pytest.mark.parametrize("first_seen_ft", [8.0, 6.0])
def test_cue_for_someone_first_seen_inside_is_late_with_negative_lead(first_seen_ft: float) -> None:
    decisions = run(make(cue=["10ft"]), [Walk(straight(first_seen_ft, 1, 3.5))])
    (cue,) = of(CueDue, decisions)
    entered = next(d for d in of(ZoneEntered, decisions) if d.zone == "10ft")
    assert isinstance(cue, CueDue) and isinstance(entered, ZoneEntered)
    assert cue.trigger == "inside"
    assert entered.lead_s == pytest.approx(-0.3)
    assert cue.lead_s == pytest.approx(-0.3)


def test_a_prediction_made_just_before_the_ring_is_not_debounced_again_at_the_crossing() -> None:
    # Predicted at 10.3 ft, across the ring a frame later: the cue's debounce runs on over the
    # crossing (enter_s, three frames, after the prediction began), not afresh from it.
    decisions = run(make(cue=["10ft"]), [Walk(straight(10.3, 1, 3.5))])
    (cue,) = of(CueDue, decisions)
    entered = next(d for d in of(ZoneEntered, decisions) if d.zone == "10ft")
    assert cue.t == pytest.approx(0.3)
    assert cue.trigger == "inside"
    assert cue.t < entered.t
    assert entered.lead_s == pytest.approx(entered.crossed_t - cue.t)


@pytest.mark.parametrize(
    ("stops", "cues"),
    [
        (((0, 20), (0, 7), (0, 10.8), (0, 6), (0, 10.9), (0, 2)), 1),
        (((0, 20), (0, 9.5), (0, 10.8), (0, 9.5), (0, 10.8), (0, 9.5), (0, 4)), 1),
        (((0, 20), (0, 7), (3, 7), (-3, 7), (0, 7), (0, 7), (0, 4)), 1),
        (((0, 20), (0, 7), (0, 14), (0, 14), (0, 4)), 2),  # left beyond the margin: a new visit
    ],
)
def test_one_cue_per_visit_however_the_person_steps_about(
    stops: tuple[tuple[float, float], ...], cues: int
) -> None:
    decisions = run(make(cue=["10ft"]), [Walk(route(*stops))])
    assert len(of(CueDue, decisions)) == cues


@pytest.mark.parametrize(
    ("second", "ended_at", "rejoined", "cues"),
    [
        # lost at 7 ft, found 0.2 s later a little closer, while the old id still coasts
        (straight(6.3, 1, 3.5, t0=3.9), 5.2, 1, 1),
        # stopped behind someone for 2 s; the old id ended before the new one appears
        (straight(7.0, 1, 3.5, t0=5.7), 5.2, 1, 1),
        # someone else, across the room
        (route((12, 12), (1, 1), t0=3.9), 5.2, None, 2),
        # the same spot, but after rejoin_s: a new visit
        (straight(7.0, 1, 3.5, t0=8.0), 5.2, None, 2),
    ],
)
def test_a_fragmented_track_does_not_get_a_second_cue(
    second: list[Point], ended_at: float, rejoined: int | None, cues: int
) -> None:
    first = Walk(straight(20, 7, 3.5), ended_at=ended_at)  # last seen at 3.71 s
    decisions = run(make(cue=["10ft"]), [first, Walk(second, track_id=2)])
    started = [d for d in of(TrackStarted, decisions) if d.track_id == 2]
    assert [s.rejoined_from for s in started] == [rejoined]
    assert len(of(CueDue, decisions)) == cues


@pytest.mark.parametrize(
    ("polygon", "stops", "seen"),
    [
        ([(-6, -1), (6, -1), (6, -5), (-6, -5)], ((-4, -2), (4, -2), (-4, -3)), False),
        ([(0, 0), (8, -6), (-8, -6)], ((0, -2), (0, -4), (2, -4)), False),
        ([(-6, -1), (6, -1), (6, -5), (-6, -5)], ((0, 20), (0, 2)), True),  # a customer in front
    ],
)
def test_people_in_the_exclusion_polygon_are_ignored(
    polygon: list[tuple[float, float]], stops: tuple[tuple[float, float], ...], seen: bool
) -> None:
    decisions = run(make(exclusion_ft=polygon), [Walk(route(*stops, speed=1.5))])
    assert bool(decisions) is seen


def test_walking_into_the_exclusion_polygon_ends_the_person_there() -> None:
    zones = make(exclusion_ft=[(-4, -1), (4, -1), (4, 1), (-4, 1)])
    decisions = run(zones, [Walk(route((0, 12), (0, 2), (0, 0), (0, 0)))])
    assert zones_of(ZoneEntered, decisions) == list(ALL)
    assert zones_of(ZoneExited, decisions) == ["3ft", "5ft", "10ft"]
    assert [type(d) for d in decisions].count(TrackEnded) == 1
    assert all(zone.count == 0 for zone in zones.occupancy())


def test_rows_without_a_floor_position_are_ignored() -> None:
    zones = make()
    row = (1, np.array([np.nan, np.nan]), np.array([np.nan, np.nan]))
    decisions = [d for f in range(20) for d in zones.update(f / FPS, ranges([row], RADII), [])]
    assert decisions == []
    assert zones.people() == []


@pytest.mark.parametrize(
    ("points", "waiting"),
    [
        (stand(0, 2, 4.0), 0),
        (stand(0, 2, 6.0), 1),
        (stand(0, 2, 30.0), 1),
        # waits, steps back out of the 3 ft zone, comes back and waits again
        ([(0, 0, 2), (6, 0, 2), (7, 0, 4.5), (9, 0, 4.5), (10, 0, 2), (17, 0, 2)], 1),
        (stand(0, 4, 30.0), 0),  # in front, but not in the innermost zone
    ],
)
def test_waiting_cue_once_per_visit_after_waiting_s(points: list[Point], waiting: int) -> None:
    decisions = run(make(), [Walk(points)])
    waits = of(WaitingDue, decisions)
    assert len(waits) == waiting
    assert all(w.waited_s >= 5.0 and w.zone == "3ft" for w in waits)


@pytest.mark.parametrize(
    ("cue", "cued"),
    [(None, ["10ft"]), (["5ft"], ["5ft"]), (["3ft", "10ft"], ["10ft", "3ft"]), ([], [])],
)
def test_non_cue_zones_emit_enter_and_exit_without_a_cue(
    cue: list[str] | None, cued: list[str]
) -> None:
    decisions = run(make(cue=cue), [Walk(route((0, 20), (0, 1), (0, 20)))])
    assert zones_of(CueDue, decisions) == cued
    assert zones_of(ZoneEntered, decisions) == list(ALL)
    assert zones_of(ZoneExited, decisions) == list(reversed(ALL))


@pytest.mark.parametrize(
    ("last_ft", "exits"),
    [(1.5, ["3ft", "5ft", "10ft"]), (7.0, ["10ft"]), (15.0, [])],
)
def test_track_starts_on_its_first_usable_row_and_ends_when_the_tracker_ends_it(
    last_ft: float, exits: list[str]
) -> None:
    zones, decisions = make(), []
    path = Walk(straight(20, last_ft, 3.5, t0=0.3))
    end = max(p[0] for p in path.points)
    for frame in range(int(end * FPS) + 1):
        t = frame / FPS
        state = path.at(t)
        floor, velocity = state if state is not None else (np.full(2, np.nan), np.full(2, np.nan))
        decisions += zones.update(t, ranges([(1, floor, velocity)], RADII), [])
    decisions += zones.update(end + 1.5, ranges([], RADII), [1])
    assert isinstance(decisions[0], TrackStarted) and decisions[0].t == pytest.approx(0.3)
    assert isinstance(decisions[-1], TrackEnded)
    ended_exits = [d for d in of(ZoneExited, decisions) if d.track_ended]
    assert [e.zone for e in ended_exits] == exits
    assert zones.people() == []


@pytest.mark.parametrize(
    ("distances", "counts", "nearest"),
    [
        ((4.0, 8.0), (2, 1, 0), (4.0, 4.0, None)),
        ((2.0, 2.5, 12.0), (2, 2, 2), (2.0, 2.0, 2.0)),
        ((11.0,), (0, 0, 0), (None, None, None)),
    ],
)
def test_occupancy_counts_people_inside_and_the_nearest(
    distances: tuple[float, ...], counts: tuple[int, ...], nearest: tuple[float | None, ...]
) -> None:
    zones = make()
    walks = [Walk(stand(0.0, d, 1.0), track_id=i + 1) for i, d in enumerate(distances)]
    run(zones, walks)
    occupancy = zones.occupancy()
    assert [o.zone for o in occupancy] == list(ALL)
    assert tuple(o.count for o in occupancy) == counts
    assert tuple(o.nearest_ft for o in occupancy) == pytest.approx(nearest)
    assert [p.distance_ft for p in zones.people()] == pytest.approx(sorted(distances))


@pytest.mark.parametrize(
    ("last_ft", "reached"),
    [(12.0, set()), (8.0, {"10ft"}), (3.5, {"10ft", "5ft"}), (1.5, set(ALL))],
)
def test_reached_names_the_zones_the_visit_entered_even_after_the_track_ended(
    last_ft: float, reached: set[str]
) -> None:
    zones = make()
    run(zones, [Walk(straight(20, last_ft, 3.5))])
    assert zones.reached(1) == reached
    zones.update(10.0, ranges([], RADII), [1])
    assert zones.reached(1) == reached


@pytest.mark.parametrize(
    ("floor", "velocity", "expected"),
    [
        ((0, 10), (0, -3.5), "approaching"),
        ((0, 10), (2.0, -3.0), "approaching"),  # 34 degrees off
        ((0, 10), (3.0, -2.0), "passing"),  # 56 degrees off
        ((0, 10), (3.5, 0), "passing"),
        ((0, 10), (0, 3.5), "leaving"),
        ((0, 10), (0.3, -0.4), "standing"),
        ((0, 0), (1.0, 0), "passing"),  # at the counter: no direction to it
        ((0, 10), (np.nan, np.nan), "standing"),
    ],
)
def test_classify_by_heading_and_speed(
    floor: tuple[float, float], velocity: tuple[float, float], expected: str
) -> None:
    closing = np.array([True])  # the positions bear the heading out
    got = classify(np.array([floor], float), np.array([velocity], float), closing, (0, 0), 0.6, 40)
    assert got == [expected]


def test_a_heading_at_the_counter_without_the_positions_closing_in_is_standing() -> None:
    """Box jitter gives a still person a velocity; their positions do not bear it out."""
    got = classify(np.array([[0, 10.0]]), np.array([[0, -1.0]]), np.array([False]), (0, 0), 0.6, 40)
    assert got == ["standing"]


@pytest.mark.parametrize(
    ("raw", "held"),
    [
        ("SAAAAA", "SSSSAA"),  # a new class replaces the old after 0.3 s
        ("SASASA", "SSSSSS"),  # flicker never changes it
        ("AAPAAP", "AAAAAA"),
    ],
)
def test_approach_class_holds_before_it_changes(raw: str, held: str) -> None:
    names: dict[str, Approach] = {"S": "standing", "A": "approaching", "P": "passing"}
    hold = ApproachHold(0.3)
    got = [hold.update(k / FPS, names[c]) for k, c in enumerate(raw)]
    assert got == [names[c] for c in held]


def test_ranges_with_other_zones_are_refused() -> None:
    with pytest.raises(ValueError, match="zone columns"):
        make().update(0.0, ranges([], (10.0, 5.0)), [])


def test_reached_by_a_time_compares_crossing_times_not_when_they_became_known() -> None:
    zones = make()
    decisions = run(zones, [Walk(straight(14, 1, 3.5))])
    crossed = {d.zone: d.crossed_t for d in of(ZoneEntered, decisions)}
    assert zones.reached(1) == set(ALL)
    assert zones.reached(1, crossed["3ft"] - 0.05) == {"10ft", "5ft"}
    assert zones.reached(1, crossed["10ft"] - 0.05) == set()


def test_a_track_re_linked_into_a_visit_enters_its_zones_from_the_outside_in() -> None:
    """The tracker loses a customer at 6 ft; the new track takes up the visit while they step
    back (walking away: no arrival), then they walk in to the counter. Its first entry must
    not be an inner zone: the rings around it are announced first, outermost first."""
    lost = Walk(straight(20, 6, 3.5), ended_at=4.0)  # last seen at 6 ft at 4.0 s
    back_and_in = [(4.1, 0.0, 5.7), (4.7, 0.0, 6.4), (6.2, 0.0, 1.5)]
    decisions = run(make(), [lost, Walk(back_and_in, track_id=2)])
    [started] = [d for d in of(TrackStarted, decisions) if d.track_id == 2]
    assert started.rejoined_from == 1
    entries = [d for d in of(ZoneEntered, decisions) if d.track_id == 2]
    assert [d.zone for d in entries] == list(ALL)
    assert [d.crossed_t for d in entries] == sorted(d.crossed_t for d in entries)
    assert {d.visit for d in of(ZoneEntered, decisions)} == {started.visit}


def test_a_box_jump_nobody_takes_up_keeps_the_visit() -> None:
    """A person's box jumps 12 ft (an occlusion) and stays there; no new track turns up where
    they were: it was their own box, and their visit goes on (ending only once they leave)."""
    zones, decisions = Zones.from_config(Config()), list[Decision]()
    for frame in range(60):
        t = frame / FPS
        y = 8.0 if t < 2.0 else 20.0 + 3.0 * (t - 2.0)
        velocity = np.zeros(2) if t < 2.0 else np.array([0.0, 3.0])
        jumped = [1] if frame == 20 else []
        decisions += zones.update(t, ranges([(1, np.array([0.0, y]), velocity)], RADII, jumped), [])
    [started] = [d for d in decisions if isinstance(d, TrackStarted)]
    [ended] = [d for d in decisions if isinstance(d, VisitEnded)]
    assert ended.visit == started.visit and ended.t == pytest.approx(2.0 + 3.0, abs=0.15)
    assert not [d for d in decisions if isinstance(d, TrackEnded)]


def test_a_track_passing_to_someone_else_leaves_the_customer_their_visit() -> None:
    """The tracker's id 1 jumps from a customer standing at the counter, already cued, to a man
    18 ft away (his box: a jump), and the customer is found again as track 2 a few frames
    later: she keeps her visit and her cue (no second cue, no end of her visit while she
    stands there), and the man under id 1 is a new visit of his own."""
    zones, decisions = Zones.from_config(Config()), list[Decision]()
    still, away = np.zeros(2), np.array([2.5, 2.0])
    for frame in range(90):
        t = frame / FPS
        rows: list[tuple[int, Vec, Vec]] = []
        if t < 3.0:  # she walks in from 14 ft, then stands at 2.5 ft
            y = max(14.0 - 4.0 * t, 2.5)
            rows.append((1, np.array([0.0, y]), np.array([0.0, -4.0]) if y > 2.5 else still))
        else:  # id 1 is the man walking away; she is track 2 from 3.3 s
            rows.append((1, np.array([6.0, 18.0 + 2.0 * (t - 3.0)]), away))
            if t >= 3.3:
                rows.append((2, np.array([0.0, 2.5]), still))
        restarted = [1] if frame == 30 else []
        decisions += zones.update(t, ranges(rows, RADII, restarted), ended=[])
    cues = [d for d in decisions if isinstance(d, CueDue)]
    assert len(cues) == 1
    hers = cues[0].visit
    assert not [d for d in decisions if isinstance(d, VisitEnded) and d.visit == hers]
    [second] = [d for d in decisions if isinstance(d, TrackStarted) and d.track_id == 2]
    assert second.visit == hers and second.rejoined_from == 1
    first, again = [d for d in decisions if isinstance(d, TrackStarted) and d.track_id == 1]
    assert first.visit == hers != again.visit  # id 1 hands her visit over, starts his own
    assert [d.visit for d in decisions if isinstance(d, TrackEnded)] == [hers]
