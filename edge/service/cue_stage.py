"""The cue stage: zone decisions handed to the cue desk, in the order they were decided.

Zones decide *that* a cue is due; the desk decides *who* is buzzed and when it escalates. This
stage only maps one onto the other and tells the event writer which cue a zone gave.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from edge.contract import CueIssued
from edge.service.cues import CueDesk, CueEvent, PersonSnapshot
from edge.service.decisions import (
    CueDue,
    Decision,
    TrackEnded,
    TrackStarted,
    VisitEnded,
    WaitingDue,
)
from edge.service.events import EventWriter
from edge.service.zones import PersonView


def cue_events(
    desk: CueDesk,
    decisions: Sequence[Decision],
    people: Mapping[int, PersonView],
    now_wall: float,
    captured_wall: float,
    writer: EventWriter,
) -> list[CueEvent]:
    """The desk's events for one frame's decisions (``people`` by track id, for their class)."""
    out: list[CueEvent] = []
    for decision in decisions:
        if isinstance(decision, TrackStarted):
            desk.track_started(decision.track_id, decision.visit)
        elif isinstance(decision, TrackEnded | VisitEnded):
            desk.track_ended(decision.track_id, decision.visit, now_wall)
        elif isinstance(decision, CueDue | WaitingDue):
            person = _snapshot(decision, people.get(decision.track_id))
            call = desk.issue if isinstance(decision, CueDue) else desk.waiting
            issued = call(person, decision.zone, now_wall, captured_wall)
            for event in issued:
                if isinstance(event, CueIssued) and event.escalation == 0:
                    writer.cue_given(decision.visit, decision.zone, event.cue_id)
            out += issued
    return out


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
        decision.tta_s,
        approach,
    )
