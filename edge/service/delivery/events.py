"""Zone decisions as contract events.

Decisions carry frame times (the source's clock); events carry UTC wall-clock times. A frame
time ``t`` seen on the frame captured at wall time ``w`` (frame time ``t_now``) happened at
``w - (t_now - t)``, so crossing times stay exact to the frame even when a file is replayed
faster than real time.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from edge.contract import (
    Approach,
    EventBase,
    TrackEnd,
    TrackStart,
    ZoneEnter,
    ZoneExit,
    new_id,
    utc,
)
from edge.perception.sources import FrameInfo
from edge.service.presence.decisions import (
    Decision,
    TrackEnded,
    TrackStarted,
    ZoneEntered,
    ZoneExited,
)


class EventWriter:
    """Turns one camera's zone decisions into events; remembers what the events refer back to
    (when a track started, when a zone was entered)."""

    def __init__(self, site: str, camera: str) -> None:
        self._site = site
        self._camera = camera
        self._started: dict[int, float] = {}
        self._entered: dict[tuple[UUID, str], float] = {}

    def event(self, decision: Decision, frame: FrameInfo, approach: Approach) -> EventBase | None:
        """The decision's event (None for those the cue desk answers), seen on ``frame``;
        ``approach`` is the person's class now."""

        def wall(t: float) -> Any:
            return utc(frame.captured_wall - (frame.t - t))

        common: dict[str, Any] = {
            "id": new_id(),
            "site": self._site,
            "camera": self._camera,
            "track_id": decision.track_id,
            "visit_id": decision.visit,
            "distance_ft": decision.distance_ft,
            "speed_ftps": decision.speed_ftps,
            "tta_s": decision.next_ring_s,
            "captured_at": wall(decision.t),
        }
        match decision:
            case TrackStarted():
                self._started[decision.track_id] = decision.t
                return TrackStart(**common)
            case TrackEnded():
                started = self._started.pop(decision.track_id, decision.last_seen_t)
                common["captured_at"] = wall(decision.last_seen_t)
                return TrackEnd(
                    **common,
                    duration_s=max(0.0, decision.last_seen_t - started),
                    reached=list(decision.reached),
                )
            case ZoneEntered():
                self._entered[(decision.visit, decision.zone)] = decision.crossed_t
                return ZoneEnter(
                    **common,
                    zone=decision.zone,
                    approach=approach,
                    crossed_at=wall(decision.crossed_t),
                    lead_s=decision.lead_s,
                    cue_id=decision.cue_id,
                )
            case ZoneExited():
                entered = self._entered.pop((decision.visit, decision.zone), decision.crossed_t)
                return ZoneExit(
                    **common,
                    zone=decision.zone,
                    approach=approach,
                    dwell_s=max(0.0, decision.crossed_t - entered),
                )
        return None
