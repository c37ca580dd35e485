"""What the zone state machine decides, as small frozen records the service turns into events.

Each carries the frame time ``t`` (the source's clock) and the person's distance, radial speed
and time to the next ring then; ``visit`` ties the decisions about one customer's visit together.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from edge.service.presence.visits import Approach, Trigger


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """What every decision carries: who, when (frame time, s) and how they moved then.

    ``next_ring_s`` is the time until the next ring the person will cross (None: none
    predicted; the contract's ``tta_s``); ``visit`` is the visit's id (the contract's
    ``visit_id``), so cues and acks of one customer visit can be tied together.
    """

    track_id: int
    visit: UUID
    t: float
    distance_ft: float
    speed_ftps: float | None
    next_ring_s: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackStarted(Decision):
    """First usable row of a track; ``rejoined_from`` is the track whose visit it took over."""

    approach: Approach
    rejoined_from: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackEnded(Decision):
    """The tracker ended the id; kinematics are those of its last sighting at ``last_seen_t``."""

    last_seen_t: float
    reached: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ZoneEntered(Decision):
    """Debounced entry into a ring crossed at ``crossed_t``; ``lead_s`` = crossed_t minus the
    time this visit's cue for the zone fired (None: no cue yet, not a cue zone, or not the
    visit's first crossing, e.g. a rejoined track re-entering); ``cue_id`` the visit's cue for
    the zone, named by its first entry after the cue."""

    zone: str
    crossed_t: float
    lead_s: float | None
    cue_id: UUID | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ZoneExited(Decision):
    """Debounced exit beyond the ring plus margin, first seen there at ``crossed_t``; or, with
    ``track_ended``, the tracker ended the id while inside (``crossed_t`` is then ``t``)."""

    zone: str
    crossed_t: float
    track_ended: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class CueDue(Decision):
    """Cue staff for this zone: once per visit, under ``cue_id`` (minted here, with the
    decision). ``zone_tta_s`` is the time until this ring is crossed (None once inside);
    ``lead_s`` is set when the ring was already crossed (<= 0)."""

    cue_id: UUID
    zone: str
    zone_tta_s: float | None
    approach: Approach
    trigger: Trigger
    lead_s: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitingDue(Decision):
    """Inside the innermost ring for ``waited_s`` >= waiting_s: once per visit."""

    zone: str
    waited_s: float


@dataclass(frozen=True, slots=True)
class ZoneOccupancy:
    """People inside a ring (debounced; one per visit, so a fragmented track counts once)."""

    zone: str
    count: int
    nearest_ft: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitEnded(Decision):
    """The visit ``visit`` is over while the track lives on (the person left the outer zone
    beyond its margin, or walked into the exclusion polygon): its open cues are the cue
    desk's to close; the track's next sighting belongs to a new visit."""
