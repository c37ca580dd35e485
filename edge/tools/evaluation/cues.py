"""Scoring cues against cue truth: what staff would have got, person by person.

A run is a ``greetcue track --events`` replay: per frame the tracks (boxes) and the service
events the turn emitted. Each first cue (``cue`` events of reason ``zone``; escalations re-send
the same cue to another device and are not counted again) is owned by the labelled person its
track overlaps most over ``WINDOW_S`` around it: through the per-frame ground-truth boxes when
the truth file names them (PETS), else through the labelled sightings, interpolated. Then:

- recall: walk-ins (an approaching person's, see :meth:`Person.walk_in_at`) that got a cue,
  over walk-ins;
- false cues: cues owned by someone not approaching or by nobody (a phantom track), per
  ``PER`` people not approaching;
- repeat cues: every cue a person got after their first (per walk-in for an approacher);
- lead before a ring: the ring's labelled crossing time minus the walk-in's first cue. Beside
  the headline lead over every walk-in, the lead of the walk-ins seen crossing the outer ring
  (``OUTER_RING_FT``): someone first seen already inside it (a clip that starts with them
  near, someone stepping out from an aisle) leaves no time to cue, whatever the system does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from edge.perception.detections import iou_matrix
from edge.tools.evaluation.cue_labels import CueTruth, Person
from edge.tools.evaluation.groundtruth import FrameTruth, load_pets_xml
from edge.tools.footage.location import footage_path

WINDOW_S = 1.0  # a cue's owner: the track's overlap with each person within this of the cue
MIN_IOU = 0.2  # boxes this alike are the same person (hints are rough; occluded boxes partial)
PER = 20  # false cues are counted per this many people not approaching
LEAD_RING_FT = 5.0  # the ring whose median lead is the headline figure
OUTER_RING_FT = 10.0  # walk-ins seen crossing it could be cued in good time

Row = Mapping[str, Any]
F32 = npt.NDArray[np.float32]


class Whereabouts(Protocol):
    """Where the labelled people are in one frame of the run: person id -> box [4]."""

    def __call__(self, frame: int, t: float) -> dict[int, F32]: ...


def whereabouts(truth: CueTruth) -> Whereabouts:
    """The per-frame ground-truth boxes the truth file names (beside its clip, in the footage
    folder), else its sightings."""
    if truth.ground_truth is None:
        return from_sightings(truth.people)
    xml = footage_path(f"{PurePosixPath(truth.clip).parent}/{truth.ground_truth.file}")
    return from_ground_truth(load_pets_xml(xml), truth.ground_truth.frame_offset)


def from_ground_truth(truth: Mapping[int, FrameTruth], frame_offset: int) -> Whereabouts:
    """The annotated boxes of the run's frame (ground-truth frame ``frame + frame_offset``)."""

    def where(frame: int, t: float) -> dict[int, F32]:
        gt = truth.get(frame + frame_offset)
        if gt is None:
            return {}
        return {int(pid): box for pid, box in zip(gt.ids, gt.xyxy, strict=True)}

    return where


def from_sightings(people: Sequence[Person]) -> Whereabouts:
    """Each person's labelled boxes, interpolated in time and held from the last one until
    ``last_seen_s``."""

    def where(frame: int, t: float) -> dict[int, F32]:
        found = {}
        for person in people:
            if person.first_seen_s <= t <= person.last_seen_s:
                times = [s.t for s in person.seen]
                boxes = np.asarray([s.box for s in person.seen], np.float32)
                found[person.id] = np.asarray(
                    [np.interp(t, times, boxes[:, k]) for k in range(4)], np.float32
                )
        return found

    return where


@dataclass(frozen=True, slots=True)
class Cue:
    """One first cue in a run: the track cued, the frame and its time (s)."""

    track_id: int
    frame: int
    t: float


def first_cues(rows: Iterable[Row]) -> list[Cue]:
    """Every zone cue the run's service events hold, escalations left out."""
    found = []
    for row in rows:
        if "events" not in row:
            raise ValueError(
                f"replay frame {row.get('frame')} has no service events: score a run made with "
                "`greetcue track --events` (or `greetcue bench cues`)"
            )
        for event in row["events"]:
            if event["type"] == "cue" and event["reason"] == "zone" and event["escalation"] == 0:
                found.append(Cue(int(event["track_id"]), int(row["frame"]), float(row["t"])))
    return found


def owner(cue: Cue, rows: Sequence[Row], where: Whereabouts) -> int | None:
    """The person the cued track overlaps most (summed IoU over ``WINDOW_S`` around the cue;
    only frames at ``MIN_IOU`` or more count); None: a track of nobody labelled."""
    overlap: dict[int, float] = defaultdict(float)
    for row in rows:
        if abs(float(row["t"]) - cue.t) > WINDOW_S:
            continue
        box = next((t["box"] for t in row["tracks"] if t["id"] == cue.track_id), None)
        people = where(int(row["frame"]), float(row["t"]))
        if box is None or not people:
            continue
        ids = list(people)
        ious = iou_matrix(np.asarray(list(people.values())), np.asarray([box], np.float32))[:, 0]
        for pid, iou in zip(ids, ious.tolist(), strict=True):
            if iou >= MIN_IOU:
                overlap[pid] += iou
    return max(overlap, key=overlap.__getitem__) if overlap else None


@dataclass(frozen=True, slots=True)
class CueScore:
    """One run's figures (or several runs' summed with ``+``)."""

    approaching: int  # walk-ins of approaching people
    cued: int
    not_approaching: int
    false_cues: int
    repeat_cues: int
    leads: dict[float, list[float]] = field(default_factory=dict)  # ring radius -> leads (s)
    from_outside: list[float] = field(default_factory=list)  # LEAD_RING_FT leads, see module

    @property
    def recall(self) -> float | None:
        """Walk-ins cued, over walk-ins (None: nobody approached)."""
        return self.cued / self.approaching if self.approaching else None

    @property
    def false_per_20(self) -> float | None:
        """False cues per ``PER`` people not approaching (None: there were none to cue wrongly
        and no phantom was cued)."""
        if self.not_approaching:
            return self.false_cues * PER / self.not_approaching
        return float("inf") if self.false_cues else None

    def median_lead(self, ring_ft: float = LEAD_RING_FT) -> float | None:
        """Median lead (s) of the first cue before ``ring_ft`` (None: no cued crossing)."""
        leads = self.leads.get(ring_ft, [])
        return float(np.median(leads)) if leads else None

    @property
    def median_lead_from_outside(self) -> float | None:
        """Median lead (s) before ``LEAD_RING_FT`` of the walk-ins seen crossing the outer
        ring (None: none was cued)."""
        return float(np.median(self.from_outside)) if self.from_outside else None

    def __add__(self, other: CueScore) -> CueScore:
        leads = {
            r: self.leads.get(r, []) + other.leads.get(r, []) for r in {*self.leads, *other.leads}
        }
        return CueScore(
            self.approaching + other.approaching,
            self.cued + other.cued,
            self.not_approaching + other.not_approaching,
            self.false_cues + other.false_cues,
            self.repeat_cues + other.repeat_cues,
            leads,
            self.from_outside + other.from_outside,
        )


@dataclass(frozen=True, slots=True)
class Scored:
    """A run scored: the figures and each cue's owner (None: nobody labelled), so a person can
    check who was cued."""

    score: CueScore
    owners: list[tuple[Cue, int | None]]


def score_cues(rows: Sequence[Row], truth: CueTruth, where: Whereabouts) -> Scored:
    """Score a run's cues against ``truth`` (the module docstring says how)."""
    owners = [(cue, owner(cue, rows, where)) for cue in first_cues(rows)]
    cues: dict[int | None, list[Cue]] = defaultdict(list)
    for cue, pid in owners:
        cues[pid].append(cue)
    leads: dict[float, list[float]] = defaultdict(list)
    from_outside: list[float] = []
    approaches = cued = repeats = 0
    for walker in truth.approaching:
        walks: dict[int, list[Cue]] = defaultdict(list)
        for cue in cues.pop(walker.id, []):
            walks[walker.walk_in_at(cue.t)].append(cue)
        approaches += len(walker.rings)
        cued += len(walks)
        repeats += sum(len(c) - 1 for c in walks.values())
        for k, walk in walks.items():
            rings = walker.rings[k]
            for ring, crossed in rings.items():
                leads[ring].append(round(crossed - walk[0].t, 3))
            if OUTER_RING_FT in rings and LEAD_RING_FT in rings:
                from_outside.append(round(rings[LEAD_RING_FT] - walk[0].t, 3))
    score = CueScore(
        approaching=approaches,
        cued=cued,
        not_approaching=len(truth.people) - len(truth.approaching),
        false_cues=sum(len(c) for c in cues.values()),
        repeat_cues=repeats + sum(len(c) - 1 for p, c in cues.items() if p is not None),
        leads=dict(leads),
        from_outside=from_outside,
    )
    return Scored(score, owners)


@dataclass(frozen=True, slots=True)
class Target:
    """A figure's goal: ``limit``, which the figure must not exceed (``at_most``) or reach."""

    name: str
    limit: float
    at_most: bool

    def met(self, value: float | None) -> bool | None:
        """Whether ``value`` meets it (None: nothing to judge)."""
        if value is None:
            return None
        return value <= self.limit if self.at_most else value >= self.limit


RECALL = Target("recall", 0.95, at_most=False)
FALSE_CUES = Target(f"false cues per {PER} not approaching", 1.0, at_most=True)
REPEATS = Target("repeat cues", 0.0, at_most=True)
LEAD = Target(f"median lead before {LEAD_RING_FT:g} ft (s)", 1.5, at_most=False)


def judged(score: CueScore) -> list[tuple[Target, float | None]]:
    """Each target with the score's figure for it."""
    return [
        (RECALL, score.recall),
        (FALSE_CUES, score.false_per_20),
        (REPEATS, float(score.repeat_cues)),
        (LEAD, score.median_lead()),
    ]
