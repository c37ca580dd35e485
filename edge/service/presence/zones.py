"""Zone state per tracked person: rings entered and left, cues due, customers left waiting.

Each frame's :class:`~edge.perception.geometry.ranging.RangeResult` goes in; small frozen decisions
come out (:class:`TrackStarted`, :class:`ZoneEntered`, :class:`CueDue`, ...), each with the
frame time and the person's distance, radial speed and time to the next ring then, for the
service to turn into events. Zones know nothing about acknowledgements, devices or MQTT.

Rings and cues. Inside a ring at its radius, out only beyond radius + ``exit_margin_ft``, each
debounced for ``enter_s`` (:mod:`edge.service.presence.visits`): one noisy frame never counts and no
one flickers on a ring. A cue zone's cue is due when the person is approaching and inside the
ring or predicted (for ``enter_s``) to cross it within its ``lead_s``, so staff are buzzed
before the customer arrives. The cue's id is minted with its :class:`CueDue`, so the zone's
entry names it (``cue_id``) and records by how long it came before (``lead_s``), even on the
cue's own frame. Inside the innermost ring for ``waiting_s``: one :class:`WaitingDue`.

Visits. Each cue fires at most once per visit. A visit runs from a track's first usable row
until the person leaves the outermost ring beyond its margin (coming back is a new visit) or
the track ends. Trackers fragment: a person hidden behind someone often comes back under a new
id. A new track within ``rejoin_ft`` of where a track unseen in this frame (live or ended) was
last seen, walked on along its last velocity, at most ``rejoin_s`` after that sighting, takes
over its visit (and its id): cues stay fired, the waiting clock runs on. Only tracks unseen in
this frame qualify, so two people walking side by side never share a visit. Trackers also swap:
a track whose box jumps (``RangeResult.restarted``) to more than ``swap_ft`` from where its
person was may have passed to someone else, or the box may be an occlusion's. It is a swap once
a new track takes up where the person was (as a rejoin would, within ``rejoin_s``): the new
track gets the visit, and the jumped track ends and starts afresh as a visit of its own. So the
customer still in the queue is neither cued twice nor left unacknowledged, and a person whose
box an occlusion made jump keeps their visit when nobody turns up there. A visit's entries
go from the outside in: an entry is announced only after every ring around it that the person
is in (a track first seen inside while walking away announces those when it walks in).

Example: a person walks straight at the counter at 4 ft/s, seen at 10 fps::

    >>> import numpy as np
    >>> from edge.config import Config
    >>> from edge.perception.geometry.ranging import RangeResult
    >>> zones, radii, decisions = Zones.from_config(Config()), np.array([10.0, 5.0, 3.0]), []
    >>> for frame in range(34):
    ...     t = frame / 10
    ...     y = 14.0 - 4.0 * t
    ...     ranges = RangeResult(
    ...         track_ids=np.array([1]), floor_ft=np.array([[0.0, y]]),
    ...         velocity_ftps=np.array([[0.0, -4.0]]), distance_ft=np.array([y]),
    ...         speed_ftps=np.array([-4.0]), truncated=np.array([False]), closing=np.array([True]),
    ...         restarted=np.array([False]),
    ...         zone_tta_s=np.where(y > radii, (y - radii) / 4.0, np.nan)[None, :])
    ...     decisions += zones.update(t, ranges, ended=[])
    >>> [(type(d).__name__, getattr(d, "zone", "")) for d in decisions]  # doctest: +ELLIPSIS
    [('TrackStarted', ''), ('CueDue', '10ft'), ('ZoneEntered', '10ft'), ...('ZoneEntered', '3ft')]
    >>> zones.reached(1) == {"10ft", "5ft", "3ft"}, decisions[2].lead_s > 0
    (True, True)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Iterable, Sequence
from typing import TypedDict
from uuid import UUID

import numpy as np
import numpy.typing as npt

from edge.config import Config, PresenceConfig, ZoneConfig
from edge.contract import new_id
from edge.perception.geometry.ranging import RangeResult
from edge.service.presence.decisions import (
    CueDue,
    Decision,
    TrackEnded,
    TrackStarted,
    VisitEnded,
    WaitingDue,
    ZoneEntered,
    ZoneExited,
    ZoneOccupancy,
)
from edge.service.presence.visits import (
    Person,
    PersonView,
    RingSet,
    Row,
    Trigger,
    Visit,
    classify,
    walked_gap,
)

__all__ = ["PersonView", "Zones"]

F64 = npt.NDArray[np.float64]

_ENDED_HISTORY = 1024  # ended tracks `reached` still answers for: acks may come later


def _opt(value: float | np.floating) -> float | None:
    """NaN (the arrays' "none") as None, for events."""
    return None if np.isnan(value) else float(value)


def _in_polygon(points: F64, polygon: F64) -> npt.NDArray[np.bool_]:
    """Even-odd rule: which points [M, 2] lie inside the polygon [K, 2]."""
    x, y = points[:, :1], points[:, 1:]
    x1, y1 = polygon[:, 0], polygon[:, 1]
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        x_cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
    hits = ((y1 > y) != (y2 > y)) & (x < x_cross)
    return np.asarray(hits.sum(axis=1) % 2 == 1)


class _Kin(TypedDict):
    """The fields every :class:`Decision` shares."""

    track_id: int
    visit: UUID
    t: float
    distance_ft: float
    speed_ftps: float | None
    next_ring_s: float | None


def _kin(person: Person, t: float) -> _Kin:
    """The person's latest row, at frame time ``t``."""
    row = person.row
    return _Kin(
        track_id=person.track_id,
        visit=person.visit.id,
        t=t,
        distance_ft=row.distance_ft,
        speed_ftps=row.speed_ftps,
        next_ring_s=row.next_ring_s,
    )


class Zones:
    """Per-track zone state over the configured rings; see the module docstring.

    ``zones`` in the Ranger's order (the columns of ``zone_tta_s``); ``cue_zones`` names the
    zones whose entry cues staff (None: the outermost).
    """

    def __init__(
        self,
        zones: Sequence[ZoneConfig],
        counter_ft: Sequence[float] = (0.0, 0.0),
        presence: PresenceConfig | None = None,
        cue_zones: Collection[str] | None = None,
    ) -> None:
        self._set = RingSet.of(zones, cue_zones)
        self._counter = tuple(float(v) for v in counter_ft)
        self._presence = presence or PresenceConfig()
        polygon = self._presence.exclusion_ft
        self._exclusion = None if polygon is None else np.asarray(polygon, np.float64)
        self._people: dict[int, Person] = {}
        self._ended: dict[int, Person] = {}  # rejoinable for rejoin_s after last seen
        # Tracks whose box jumped away from their person: the person's row and time then.
        self._jumped: dict[int, tuple[Row, float]] = {}
        self._history: OrderedDict[int, Visit] = OrderedDict()

    @classmethod
    def from_config(cls, config: Config) -> Zones:
        """Zones for the configured rings, counter, presence settings and cue zones."""
        return cls(config.zones, config.counter.position_ft, config.presence, config.cue_zones)

    def update(self, t: float, ranges: RangeResult, ended: Iterable[int]) -> list[Decision]:
        """One frame captured at ``t`` (s): end the tracker's ended ids, then step each row;
        a row not ranged yet (NaN floor) is as if unseen. A person inside the exclusion
        polygon (staff behind the counter) is not a customer: a known one ends there."""
        if ranges.zone_tta_s.shape[1] != len(self._set.rings):
            raise ValueError(
                f"ranges have {ranges.zone_tta_s.shape[1]} zone columns but there are "
                f"{len(self._set.rings)} zones: build Ranger and Zones from one config"
            )
        rows, excluded = self._rows(ranges)
        ended_ids = {int(i) for i in ended} | excluded
        decisions: list[Decision] = []
        for track_id in sorted(ended_ids):
            decisions += self._end(t, track_id)
        rows = [row for row in rows if row.track_id not in ended_ids]
        seen = {row.track_id for row in rows}
        for row in rows:
            decisions += self._step(t, row, seen)
        self._ended = {i: p for i, p in self._ended.items() if self._rejoinable(p, t)}
        decisions += self._settle_jumps(t)
        return decisions

    def end_all(self) -> list[Decision]:
        """End every live track (the camera is down: nobody is seen), at their last sighting."""
        decisions: list[Decision] = []
        for track_id, person in sorted(self._people.items()):
            decisions += self._end(person.last_seen_t, track_id)
        return decisions

    def occupancy(self) -> list[ZoneOccupancy]:
        """Per zone, in configured order: people inside and the nearest one's distance."""
        result = []
        for index, ring in enumerate(self._set.rings):
            inside = [p for p in self._people.values() if p.rings[index].inside]
            nearest = min((p.row.distance_ft for p in inside), default=None)
            result.append(ZoneOccupancy(ring.name, len({p.visit.id for p in inside}), nearest))
        return result

    @property
    def tracked(self) -> int:
        """How many live tracks there are (``len(people())`` without building the views)."""
        return len(self._people)

    def people(self) -> list[PersonView]:
        """Every live track, nearest first."""
        return sorted((p.view() for p in self._people.values()), key=lambda v: v.distance_ft)

    def reached(self, track_id: int, by_t: float | None = None) -> set[str]:
        """Zones the track's visit has entered (also for a recently ended track), crossed at
        or before frame time ``by_t`` when given: an entry is only known once debounced, so
        "did the ack come before 3 ft" compares crossing times, not when they became known."""
        person = self._people.get(track_id)
        visit = person.visit if person is not None else self._history.get(track_id)
        if visit is None:
            return set()
        return {zone for zone, t in visit.crossed.items() if by_t is None or t <= by_t}

    def _rows(self, ranges: RangeResult) -> tuple[list[Row], set[int]]:
        """The usable rows, and the ids of those inside the exclusion polygon."""
        floor, velocity = ranges.floor_ft, ranges.velocity_ftps
        usable = np.isfinite(floor).all(axis=1) & np.isfinite(ranges.distance_ft)
        excluded: set[int] = set()
        if self._exclusion is not None:
            inside = _in_polygon(floor, self._exclusion) & usable
            excluded = {int(i) for i in ranges.track_ids[inside]}
            usable &= ~inside
        index = np.flatnonzero(usable).tolist()
        p = self._presence
        classes = classify(
            floor[index],
            velocity[index],
            ranges.closing[index],
            self._counter,
            p.standing_ftps,
            p.approach_cone_deg,
            p.approach_miss_ft,
        )
        tta = ranges.tta_s
        rows = [
            Row(
                track_id=int(ranges.track_ids[i]),
                floor=floor[i],
                velocity=velocity[i],
                distance_ft=float(ranges.distance_ft[i]),
                speed_ftps=_opt(ranges.speed_ftps[i]),
                next_ring_s=_opt(tta[i]),
                zone_tta_s=ranges.zone_tta_s[i],
                approach=approach,
                restarted=bool(ranges.restarted[i]),
            )
            for i, approach in zip(index, classes, strict=True)
        ]
        return rows, excluded

    # Track life: start (perhaps continuing a lost track's visit) and end.

    def _step(self, t: float, row: Row, seen: set[int]) -> list[Decision]:
        person = self._people.get(row.track_id)
        decisions: list[Decision] = []
        if (
            person is not None
            and row.restarted
            and person.gap_ft(row.floor, t) > (self._presence.swap_ft)
        ):
            self._jumped[row.track_id] = (person.row, person.last_seen_t)
        if person is None:
            decisions += self._take_from_swap(t, row, seen)
            person = self._people.get(row.track_id)
        if person is None:
            person, started = self._start(t, row, seen)
            decisions.append(started)
        person.see(t, row)
        return decisions + self._rings(t, person)

    def _start(self, t: float, row: Row, seen: set[int]) -> tuple[Person, TrackStarted]:
        source = self._rejoin_source(t, row, seen)
        if source is not None:
            source.superseded = True
            self._ended.pop(source.track_id, None)
        visit = source.visit if source is not None else Visit()
        started = self._begin(t, row, visit, source.track_id if source is not None else None)
        return self._people[row.track_id], started

    def _begin(self, t: float, row: Row, visit: Visit, rejoined: int | None) -> TrackStarted:
        """A person for the row's track, on ``visit``."""
        person = self._people[row.track_id] = Person(t, row, visit, self._set, self._presence)
        return TrackStarted(**_kin(person, t), approach=row.approach, rejoined_from=rejoined)

    def _settle_jumps(self, t: float) -> list[Decision]:
        """Jumps nobody took up within ``rejoin_s`` were the person's own box (an occlusion)
        or they left as the box jumped: the visit of a person now beyond the outer ring ends
        (its end waited for a track that might have taken it up)."""
        decisions: list[Decision] = []
        for track_id, (_, seen_t) in list(self._jumped.items()):
            person = self._people.get(track_id)
            if person is not None and t - seen_t <= self._presence.rejoin_s:
                continue
            del self._jumped[track_id]
            if person is not None and not person.rings[self._set.outer].inside:
                decisions.append(VisitEnded(**_kin(person, t)))
                person.visit = Visit()
        return decisions

    def _take_from_swap(self, t: float, row: Row, seen: set[int]) -> list[Decision]:
        """If this new track is where a jumped track's person was, it is that person: it takes
        their visit, and the jumped track (someone else now) ends and starts a visit of its
        own. Nothing when it is nobody's."""
        near = [
            (walked_gap(was, seen_t, row.floor, t), i)
            for i, (was, seen_t) in self._jumped.items()
            if i != row.track_id
        ]
        near = [(gap, i) for gap, i in near if gap <= self._presence.rejoin_ft]
        if not near:
            return []
        swapped_id = min(near)[1]
        del self._jumped[swapped_id]
        swapped = self._people[swapped_id]
        decisions = self._end(t, swapped_id)  # the person's rings and visit stay behind
        self._ended.pop(swapped_id, None)
        decisions.append(self._begin(t, row, swapped.visit, swapped_id))
        decisions.append(self._begin(t, swapped.row, Visit(), None))
        return decisions

    def _rejoin_source(self, t: float, row: Row, seen: set[int]) -> Person | None:
        """The nearest track unseen in this frame (live or recently ended) whose walk this
        new track continues, if any."""
        unseen = [p for p in self._people.values() if p.track_id not in seen]
        gaps = [
            (p.gap_ft(row.floor, t), p)
            for p in [*unseen, *self._ended.values()]
            if not p.superseded and self._rejoinable(p, t)
        ]
        near = [(gap, p) for gap, p in gaps if gap <= self._presence.rejoin_ft]
        return min(near, key=lambda item: item[0])[1] if near else None

    def _rejoinable(self, person: Person, t: float) -> bool:
        return t - person.last_seen_t <= self._presence.rejoin_s

    def _end(self, t: float, track_id: int) -> list[Decision]:
        person = self._people.pop(track_id, None)
        if person is None:
            return []
        kin = _kin(person, t)
        decisions: list[Decision] = [
            ZoneExited(**kin, zone=self._set.rings[i].name, crossed_t=t, track_ended=True)
            for i in reversed(self._set.by_size)
            if person.rings[i].inside and person.rings[i].announced
        ]
        reached = tuple(person.visit.crossed)
        decisions.append(TrackEnded(**kin, last_seen_t=person.last_seen_t, reached=reached))
        if not person.superseded:
            self._ended[track_id] = person
        self._history[track_id] = person.visit
        while len(self._history) > _ENDED_HISTORY:
            self._history.popitem(last=False)
        return decisions

    # Rings, cues, waiting: the person's state changes, as decisions.

    def _rings(self, t: float, person: Person) -> list[Decision]:
        entered, exited = person.step_rings(t)
        names = [ring.name for ring in self._set.rings]
        decisions: list[Decision] = [
            ZoneExited(
                **_kin(person, t), zone=names[i], crossed_t=person.exited_t(i), track_ended=False
            )
            for i in exited
            if person.rings[i].announced
        ]
        entered = self._arrivals(person, entered)
        if self._set.outer in exited and person.track_id not in self._jumped:
            decisions.append(VisitEnded(**_kin(person, t)))
            person.visit = Visit()
        decisions += [self._cue(t, person, i, trigger) for i, trigger in person.due_cues(t)]
        decisions += [self._entered(t, person, i) for i in entered]
        waited = person.waiting_due(t)
        if waited is not None:
            zone = names[self._set.inner]
            decisions.append(WaitingDue(**_kin(person, t), zone=zone, waited_s=waited))
        return decisions

    def _arrivals(self, person: Person, entered: list[int]) -> list[int]:
        """The rings to announce as entered, outermost first. Only arrivals are entries:
        someone first inside while walking away (a track born inside, e.g. after a swap at the
        counter) is inside for occupancy, but no event. An arrival into a ring first announces
        every ring around it the person is in but never arrived in (such a track, re-linked
        into a visit, walking on in), so a visit's entries always go from the outside in."""
        rings = self._set.rings
        if "leaving" in (person.approach, person.row.approach):
            for i in entered:
                person.rings[i].announced = False
            return []
        if not entered:
            return []
        radius = rings[entered[-1]].radius_ft
        arrivals = [
            i
            for i in self._set.by_size
            if rings[i].radius_ft >= radius
            and person.rings[i].inside
            and (i in entered or not person.rings[i].announced)
        ]
        for i in arrivals:
            person.rings[i].announced = True
        return arrivals

    def _entered(self, t: float, person: Person, index: int) -> ZoneEntered:
        name, visit = self._set.rings[index].name, person.visit
        crossed = person.entered_t(index)
        cue_t = visit.cued.get(name)
        first = visit.crossed.get(name) == crossed
        lead = crossed - cue_t if first and cue_t is not None else None
        return ZoneEntered(
            **_kin(person, t),
            zone=name,
            crossed_t=crossed,
            lead_s=lead,
            cue_id=visit.cue_ids.pop(name, None),
        )

    def _cue(self, t: float, person: Person, index: int, trigger: Trigger) -> CueDue:
        name, row = self._set.rings[index].name, person.row
        crossed = person.visit.crossed.get(name)
        cue_id = person.visit.cue_ids[name] = new_id()
        return CueDue(
            **_kin(person, t),
            cue_id=cue_id,
            zone=name,
            zone_tta_s=_opt(row.zone_tta_s[index]),
            approach=person.approach,
            trigger=trigger,
            lead_s=crossed - t if crossed is not None else None,
        )
