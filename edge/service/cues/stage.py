"""The cue stage: one zone decision handed to the cue desk.

Zones decide *that* a cue is due (and mint its id); the desk decides *who* is buzzed and when
it escalates. This stage only maps one onto the other.
"""

from __future__ import annotations

from edge.service.cues.desk import CueDesk, CueEvent, PersonSnapshot
from edge.service.presence.decisions import (
    CueDue,
    Decision,
    TrackEnded,
    TrackStarted,
    VisitEnded,
    WaitingDue,
)
from edge.service.presence.zones import PersonView


def cue_events(
    desk: CueDesk,
    decision: Decision,
    view: PersonView | None,
    now_wall: float,
    captured_wall: float,
) -> list[CueEvent]:
    """The desk's answer to one decision (``view``: the person now, for their class)."""
    if isinstance(decision, TrackStarted):
        desk.track_started(decision.track_id, decision.visit)
    elif isinstance(decision, TrackEnded | VisitEnded):
        desk.track_ended(decision.track_id, decision.visit, now_wall)
    elif isinstance(decision, CueDue):
        person = _snapshot(decision, view)
        return desk.issue(person, decision.zone, decision.cue_id, now_wall, captured_wall)
    elif isinstance(decision, WaitingDue):
        return desk.waiting(_snapshot(decision, view), decision.zone, now_wall, captured_wall)
    return []


def _snapshot(decision: CueDue | WaitingDue, view: PersonView | None) -> PersonSnapshot:
    """The person as the decision saw them; a waiting customer's class is the live one."""
    if isinstance(decision, CueDue):
        approach = decision.approach
    else:
        approach = view.approach if view is not None else "standing"
    return PersonSnapshot(
        decision.track_id,
        decision.visit,
        decision.distance_ft,
        decision.speed_ftps,
        decision.next_ring_s,
        approach,
    )
