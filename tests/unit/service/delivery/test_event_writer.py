"""EventWriter: each zone decision as its contract event, stamped in wall time from the frame it
was seen on, and the durations it remembers (a track's, a zone's dwell) per visit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from edge.contract import TrackEnd, TrackStart, ZoneEnter, ZoneExit, new_id
from edge.perception.sources import FrameInfo
from edge.service.delivery.events import EventWriter
from edge.service.presence.decisions import (
    CueDue,
    Decision,
    TrackEnded,
    TrackStarted,
    ZoneEntered,
    ZoneExited,
)

WALL = 1_700_000_000.0  # the frame seen at frame time FRAME_T was read at this wall time
FRAME_T = 20.0
VISIT = new_id()


def frame_at(t: float = FRAME_T) -> FrameInfo:
    return FrameInfo(int(t * 10), t, 0.0, WALL + t - FRAME_T)


def wall(t: float) -> datetime:
    return datetime.fromtimestamp(WALL - (FRAME_T - t), UTC)


def common(t: float, **kinematics: Any) -> dict[str, Any]:
    moving = {"distance_ft": 8.0, "speed_ftps": -2.0, "next_ring_s": 1.5} | kinematics
    return {"track_id": 7, "visit": VISIT, "t": t, **moving}


@pytest.fixture
def writer() -> EventWriter:
    return EventWriter("store-1", "counter-1")


def test_a_zone_entry_carries_its_cue_lead_visit_and_crossing_time(writer: EventWriter) -> None:
    cue_id = new_id()
    entered = ZoneEntered(**common(19.5), zone="10ft", crossed_t=19.2, lead_s=0.8, cue_id=cue_id)
    event = writer.event(entered, frame_at(), "approaching")
    assert isinstance(event, ZoneEnter)
    assert (event.site, event.camera, event.track_id) == ("store-1", "counter-1", 7)
    assert (event.zone, event.approach, event.cue_id, event.lead_s) == (
        "10ft",
        "approaching",
        cue_id,
        0.8,
    )
    assert event.visit_id == VISIT
    assert (event.distance_ft, event.speed_ftps, event.tta_s) == (8.0, -2.0, 1.5)
    assert event.captured_at == wall(19.5) and event.crossed_at == wall(19.2)


def test_a_zone_exit_says_how_long_the_visit_was_inside(writer: EventWriter) -> None:
    writer.event(
        ZoneEntered(**common(10.0), zone="5ft", crossed_t=10.0, lead_s=None, cue_id=None),
        frame_at(10.0),
        "approaching",
    )
    exited = ZoneExited(**common(16.5), zone="5ft", crossed_t=16.0, track_ended=False)
    event = writer.event(exited, frame_at(17.0), "leaving")
    assert isinstance(event, ZoneExit)
    assert (event.zone, event.approach, event.dwell_s) == ("5ft", "leaving", 6.0)
    assert event.captured_at == wall(16.5)


def test_a_zone_exit_without_its_entry_has_no_dwell(writer: EventWriter) -> None:
    exited = ZoneExited(**common(16.5), zone="3ft", crossed_t=16.0, track_ended=True)
    event = writer.event(exited, frame_at(), "unknown")
    assert isinstance(event, ZoneExit) and event.dwell_s == 0.0


def test_a_track_end_says_how_long_it_was_seen_as_of_its_last_sighting(
    writer: EventWriter,
) -> None:
    started = TrackStarted(**common(3.0), approach="approaching", rejoined_from=None)
    assert isinstance(writer.event(started, frame_at(3.0), "approaching"), TrackStart)
    ended = TrackEnded(**common(19.0), last_seen_t=12.5, reached=("10ft", "5ft"))
    event = writer.event(ended, frame_at(), "leaving")
    assert isinstance(event, TrackEnd)
    assert (event.duration_s, event.reached) == (9.5, ["10ft", "5ft"])
    assert event.captured_at == wall(12.5)
    again = writer.event(ended, frame_at(), "leaving")
    assert isinstance(again, TrackEnd) and again.duration_s == 0.0, "the start is forgotten"


def test_every_event_has_an_id_of_its_own(writer: EventWriter) -> None:
    started = TrackStarted(**common(3.0), approach="approaching", rejoined_from=None)
    first, second = (writer.event(started, frame_at(), "approaching") for _ in range(2))
    assert first is not None and second is not None and first.id != second.id


def test_a_cue_decision_is_the_cue_desk_s_not_an_event(writer: EventWriter) -> None:
    cue: Decision = CueDue(
        **common(19.0),
        cue_id=new_id(),
        zone="10ft",
        zone_tta_s=1.0,
        approach="approaching",
        trigger="predicted",
        lead_s=None,
    )
    assert writer.event(cue, frame_at(), "approaching") is None
