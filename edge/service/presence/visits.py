"""One person's approach to the counter: how they move, which rings they are in, their visit.

State only: :mod:`edge.service.presence.zones` keeps one :class:`Person` per track, feeds it each
frame's row and turns what changed into decisions.

Movement. Only people walking at the counter are cued: someone passing by or walking away is
not a customer arriving. The class comes from the heading, the angle between the floor
velocity and the direction to the counter: within ``approach_cone_deg`` of straight at it is
approaching (their radial speed is then at least cos(cone) of their walking speed), within it
of straight away is leaving, anything else passing; slower than ``standing_ftps`` is standing.
A heading at the counter must also aim close to it: the straight line walked on must pass
within ``approach_miss_ft`` of the counter, or the person is passing (a cone alone lets
someone 12 ft out aim 7 ft wide of the counter and brush past the 10-ft ring).
Approaching also needs the evidence of the person's positions: closer to the counter over the
motion window by more than their noise (``RangeResult.closing``); without it, a heading at
the counter is box jitter and the person counts as standing. Kalman velocities wobble, so a
new class must hold ``classify_s`` before it replaces the old; a cue needs the person
approaching by both the held class and this frame's.

Debounce. Every condition (inside a ring, beyond it plus the margin, predicted to cross it
soon, a new class) counts only once it has held on consecutive frames for its hold time, so
one noisy frame never counts, and the first frame of that run is when it began::

    >>> import numpy as np
    >>> floor, velocity = np.array([[0.0, 8.0], [0.0, 8.0]]), np.array([[0.0, -3.5], [0.0, -3.5]])
    >>> classify(floor, velocity, np.array([True, False]), (0.0, 0.0), 0.6, 40.0)
    ['approaching', 'standing']
    >>> inside = Debounce(0.25)
    >>> [inside.update(t, d <= 10.0) for t, d in [(0.0, 9.8), (0.1, 10.3), (0.2, 9.9),
    ...     (0.3, 9.7), (0.4, 9.5), (0.5, 9.2)]], inside.since
    ([False, False, False, False, False, True], 0.2)
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Literal
from uuid import UUID

import numpy as np
import numpy.typing as npt

from edge.config import PresenceConfig, ZoneConfig
from edge.contract import new_id

F64 = npt.NDArray[np.float64]
Trigger = Literal["predicted", "inside"]

# Frame times are floats: 0.7 - 0.5 is a hair under 0.2, and that must still count as 0.2 s.
_TIME_SLACK_S = 1e-6


# How a person moves relative to the counter (the contract's approach, less "unknown").
Approach = Literal["approaching", "passing", "leaving", "standing"]
_CLASSES: tuple[Approach, ...] = ("approaching", "passing", "leaving", "standing")


def classify(
    floor_ft: F64,
    velocity_ftps: F64,
    closing: npt.NDArray[np.bool_],
    counter_ft: Sequence[float],
    standing_ftps: float,
    cone_deg: float,
    miss_ft: float = math.inf,
) -> list[Approach]:
    """The instantaneous class of each row of floor positions [M, 2] and velocities [M, 2];
    ``closing`` [M]: the positions show the approach beyond their noise; ``miss_ft``: how
    close to the counter the line walked on must pass for an approach.

    Someone exactly at the counter has no direction to it: moving, they count as passing.
    A NaN velocity counts as standing.
    """
    to_counter = np.asarray(counter_ft, np.float64).reshape(1, 2) - floor_ft
    speed = np.linalg.norm(velocity_ftps, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        norm = speed * np.linalg.norm(to_counter, axis=1)
        cos = np.einsum("ij,ij->i", velocity_ftps, to_counter) / norm
        cross = velocity_ftps[:, 0] * to_counter[:, 1] - velocity_ftps[:, 1] * to_counter[:, 0]
        aimed = np.abs(cross) / speed <= miss_ft  # the line's closest pass to the counter
    limit = math.cos(math.radians(cone_deg))
    moving = speed >= standing_ftps
    at_counter = (cos >= limit) & aimed
    codes = np.select([~moving, at_counter, cos <= -limit], [3, np.where(closing, 0, 3), 2], 1)
    return [_CLASSES[int(code)] for code in codes]


class Debounce:
    """A condition that counts only once it has held on consecutive frames for ``hold_s``.

    With ``hold_s`` > 0 that takes at least two frames; with 0, one. ``since`` is the time of
    the first frame of the current run (None while the condition is false).
    """

    def __init__(self, hold_s: float) -> None:
        self.hold_s = hold_s
        self.since: float | None = None
        self._frames = 0

    def update(self, t: float, condition: bool) -> bool:
        """Feed one frame; True while the condition has held long enough."""
        if not condition:
            self.reset()
            return False
        if self.since is None:
            self.since = t
        self._frames += 1
        if self.hold_s <= 0:
            return True
        return self._frames >= 2 and t - self.since >= self.hold_s - _TIME_SLACK_S

    def reset(self) -> None:
        """Forget the current run."""
        self.since = None
        self._frames = 0


class ApproachHold:
    """A person's held class: the first one seen at once, a new one once held ``hold_s``."""

    def __init__(self, hold_s: float) -> None:
        self.current: Approach | None = None
        self._candidate: Approach | None = None
        self._run = Debounce(hold_s)

    def update(self, t: float, raw: Approach) -> Approach:
        """Feed this frame's instantaneous class; returns the held class."""
        if self.current is None or raw == self.current:
            self.current, self._candidate = raw, None
            self._run.reset()
            return raw
        if raw != self._candidate:
            self._candidate = raw
            self._run.reset()
        if self._run.update(t, True):
            self.current, self._candidate = raw, None
            self._run.reset()
        return self.current


@dataclass(frozen=True, slots=True)
class Ring:
    """A configured zone: ``cues`` when its entry cues staff."""

    name: str
    radius_ft: float
    lead_s: float
    cues: bool


@dataclass(frozen=True, slots=True)
class RingSet:
    """The zones in the Ranger's order (the columns of ``zone_tta_s``), plus which is which."""

    rings: tuple[Ring, ...]
    by_size: tuple[int, ...]  # indices, outermost first
    outer: int
    inner: int

    @classmethod
    def of(cls, zones: Sequence[ZoneConfig], cue_zones: Collection[str] | None) -> RingSet:
        """Rings for ``zones``; ``cue_zones`` None: only the outermost cues."""
        if not zones:
            raise ValueError("zones: need at least one zone")
        by_size = tuple(sorted(range(len(zones)), key=lambda i: -zones[i].radius_ft))
        cue = set(cue_zones) if cue_zones is not None else {zones[by_size[0]].name}
        rings = tuple(Ring(z.name, z.radius_ft, z.lead_s, z.name in cue) for z in zones)
        return cls(rings, by_size, by_size[0], by_size[-1])


@dataclass(frozen=True, slots=True)
class Row:
    """One usable ranged row: a person seen in this frame (``restarted``: their track's box
    jumped, and their position restarted from it)."""

    track_id: int
    floor: F64
    velocity: F64
    distance_ft: float
    speed_ftps: float | None
    next_ring_s: float | None
    zone_tta_s: F64
    approach: Approach
    restarted: bool


@dataclass(slots=True)
class Visit:
    """One customer's visit, shared by every fragment of their track: its id (UUIDv7), when
    each ring was first crossed and each cue fired, the cue ids no entry has named yet, and
    their waiting clock."""

    id: UUID = field(default_factory=new_id)
    crossed: dict[str, float] = field(default_factory=dict)
    cued: dict[str, float] = field(default_factory=dict)
    cue_ids: dict[str, UUID] = field(default_factory=dict)
    waiting_since: float | None = None
    waiting_cued: bool = False


class RingState:
    """One person's debounced state for one ring: in at the radius, out beyond the margin."""

    def __init__(self, hold_s: float) -> None:
        self.inside = False
        self.announced = False  # the entry was an arrival, reported as ZoneEntered
        self.enter = Debounce(hold_s)
        self.exit = Debounce(hold_s)
        self.predicted = Debounce(hold_s)

    def step(self, t: float, distance: float, radius: float, margin: float) -> bool:
        """Feed one distance; True when the debounced inside state changed."""
        if self.inside:
            if self.exit.update(t, distance > radius + margin):
                self.inside = False
                self.enter.reset()
                return True
        elif self.enter.update(t, distance <= radius):
            self.inside = True
            self.exit.reset()
            return True
        return False


@dataclass(frozen=True, slots=True)
class PersonView:
    """One live track for a console: where it is, how it moves, what it has triggered."""

    track_id: int
    visit: UUID
    last_seen_t: float
    floor_ft: tuple[float, float]
    distance_ft: float
    speed_ftps: float | None
    next_ring_s: float | None
    approach: Approach
    inside: tuple[str, ...]
    cued: tuple[str, ...]
    waiting_cued: bool


class Person:
    """One track's state: latest row, held class, rings and visit.

    ``superseded``: a newer track has taken over this visit, so no other track may.
    """

    def __init__(
        self, t: float, row: Row, visit: Visit, rings: RingSet, presence: PresenceConfig
    ) -> None:
        self.track_id = row.track_id
        self.row, self.last_seen_t, self.visit = row, t, visit
        self.superseded = False
        self._set, self._presence = rings, presence
        self.rings = [RingState(presence.enter_s) for _ in rings.rings]
        self._hold = ApproachHold(presence.classify_s)

    @property
    def approach(self) -> Approach:
        """The held class."""
        return self._hold.current or self.row.approach

    def see(self, t: float, row: Row) -> None:
        """Take this frame's row."""
        self.row, self.last_seen_t = row, t
        self._hold.update(t, row.approach)

    def step_rings(self, t: float) -> tuple[list[int], list[int]]:
        """Rings entered (outermost first) and left (innermost first) in this frame;
        records first crossings in the visit and stops the waiting clock on leaving."""
        margin = self._presence.exit_margin_ft
        changed = [
            i
            for i in self._set.by_size
            if self.rings[i].step(t, self.row.distance_ft, self._set.rings[i].radius_ft, margin)
        ]
        entered = [i for i in changed if self.rings[i].inside]
        exited = [i for i in reversed(changed) if not self.rings[i].inside]
        for i in entered:
            self.visit.crossed.setdefault(self._set.rings[i].name, self.entered_t(i))
        if self._set.inner in exited:
            self.visit.waiting_since = None
        return entered, exited

    def entered_t(self, index: int) -> float:
        """When the ring was crossed inward: the first frame of the debounced run."""
        since = self.rings[index].enter.since
        return since if since is not None else self.last_seen_t

    def exited_t(self, index: int) -> float:
        """When the person was first seen beyond the ring plus margin."""
        since = self.rings[index].exit.since
        return since if since is not None else self.last_seen_t

    def due_cues(self, t: float) -> list[tuple[int, Trigger]]:
        """Cue rings due now (recorded in the visit): approaching and inside, or predicted to
        cross within the ring's lead time for ``enter_s``; at most once per visit. The
        prediction looks ``lead_s + enter_s`` ahead, so the debounce does not eat the lead.
        A person at or inside the radius has reached it, so the prediction's run goes on
        across the crossing: someone predicted just before the ring is not debounced afresh
        from the crossing (the ring's own entry debounce starts only there).

        Approaching means held *and* in this frame: the held class lags a turn by up to
        ``classify_s``, and a cue, fired once, must not come in that lag."""
        due: list[tuple[int, Trigger]] = []
        approaching = self.approach == self.row.approach == "approaching"
        for i in self._set.by_size:
            ring, state = self._set.rings[i], self.rings[i]
            if not ring.cues:
                continue
            horizon = ring.lead_s + self._presence.enter_s
            reached = self.row.distance_ft <= ring.radius_ft
            soon = state.predicted.update(t, reached or bool(self.row.zone_tta_s[i] < horizon))
            if ring.name in self.visit.cued or not approaching:
                continue
            if soon or state.inside:
                self.visit.cued[ring.name] = t
                due.append((i, "inside" if reached or state.inside else "predicted"))
        return due

    def waiting_due(self, t: float) -> float | None:
        """Seconds waited, the first time this visit has been inside the innermost ring for
        ``waiting_s``; None otherwise."""
        visit = self.visit
        if not self.rings[self._set.inner].inside:
            return None
        if visit.waiting_since is None:
            visit.waiting_since = self.entered_t(self._set.inner)
        waited = t - visit.waiting_since
        if visit.waiting_cued or waited < self._presence.waiting_s - _TIME_SLACK_S:
            return None
        visit.waiting_cued = True
        return waited

    def gap_ft(self, floor: F64, t: float) -> float:
        """How far ``floor`` is from where this person would be by ``t`` (:func:`walked_gap`)."""
        return walked_gap(self.row, self.last_seen_t, floor, t)

    def view(self) -> PersonView:
        """This person for a live console."""
        row, visit, rings = self.row, self.visit, self._set.rings
        return PersonView(
            track_id=self.track_id,
            visit=visit.id,
            last_seen_t=self.last_seen_t,
            floor_ft=(float(row.floor[0]), float(row.floor[1])),
            distance_ft=row.distance_ft,
            speed_ftps=row.speed_ftps,
            next_ring_s=row.next_ring_s,
            approach=self.approach,
            inside=tuple(rings[i].name for i in self._set.by_size if self.rings[i].inside),
            cued=tuple(visit.cued),
            waiting_cued=visit.waiting_cued,
        )


def walked_gap(row: Row, seen_t: float, floor: F64, t: float) -> float:
    """How far ``floor`` is from where the person of ``row``, seen at ``seen_t``, would be by
    ``t``: from the segment along their velocity since then, so stopped or walking on."""
    start = row.floor
    step = row.velocity * max(t - seen_t, 0.0)
    if not np.isfinite(step).all() or not step.any():
        return float(np.linalg.norm(floor - start))
    share = float(np.clip(np.dot(floor - start, step) / np.dot(step, step), 0.0, 1.0))
    return float(np.linalg.norm(floor - (start + share * step)))
