"""Zone decisions as contract events, and every event as an outbox message.

Decisions carry frame times (the source's clock); events carry UTC wall-clock times. A frame
time ``t`` seen on the frame captured at wall time ``w`` (frame time ``t_now``) happened at
``w - (t_now - t)``, so crossing times stay exact to the frame even when a file is replayed
faster than real time.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from edge.contract import (
    EventBase,
    Topic,
    TrackEnd,
    TrackStart,
    ZoneEnter,
    ZoneExit,
    encode,
    new_id,
    utc,
)
from edge.perception.sources import Frame
from edge.service.outbox import Outgoing
from edge.service.zones import (
    Decision,
    PersonView,
    TrackEnded,
    TrackStarted,
    ZoneEntered,
    ZoneExited,
)

# Cues whose zone was never entered are forgotten after this many newer ones.
CUE_MEMORY = 4096


class EventWriter:
    """Turns one camera's zone decisions into events; remembers what the events refer back to
    (when a track started, when a zone was entered, which cue a zone gave)."""

    def __init__(self, site: str, camera: str, prefix: str) -> None:
        self._site = site
        self._camera = camera
        self._topic = Topic.EVENT.build(prefix=prefix, site=site, camera=camera)
        self._started: dict[int, float] = {}
        self._entered: dict[tuple[int, str], float] = {}
        self._cue_ids: OrderedDict[tuple[int, str], UUID] = OrderedDict()

    def cue_given(self, visit: int, zone: str, cue_id: UUID) -> None:
        """The zone's cue for this visit, so its zone_enter can name it."""
        self._cue_ids[(visit, zone)] = cue_id
        while len(self._cue_ids) > CUE_MEMORY:
            self._cue_ids.popitem(last=False)

    def events(
        self, decisions: Iterable[Decision], frame: Frame, people: Mapping[int, PersonView]
    ) -> list[EventBase]:
        """The events of one frame's decisions (cue decisions are the cue desk's)."""
        out: list[EventBase] = []
        for decision in decisions:
            event = self._event(decision, frame, people)
            if event is not None:
                out.append(event)
        return out

    def outgoing(self, events: Iterable[EventBase], captured_wall: float | None) -> list[Outgoing]:
        """Events as QoS 1 messages on the event topic, stamped ``published_at`` now."""
        now = utc(time.time())
        return [
            Outgoing(
                self._topic,
                encode(event.model_copy(update={"published_at": now})),
                qos=1,
                captured_wall=captured_wall,
            )
            for event in events
        ]

    def _event(
        self, decision: Decision, frame: Frame, people: Mapping[int, PersonView]
    ) -> EventBase | None:
        def wall(t: float) -> Any:
            return utc(frame.captured_wall - (frame.t - t))

        common: dict[str, Any] = {
            "id": new_id(),
            "site": self._site,
            "camera": self._camera,
            "track_id": decision.track_id,
            "distance_ft": decision.distance_ft,
            "speed_ftps": decision.speed_ftps,
            "tta_s": decision.tta_s,
            "captured_at": wall(decision.t),
        }
        person = people.get(decision.track_id)
        approach = person.approach if person is not None else "unknown"
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
                    cue_id=self._cue_ids.pop((decision.visit, decision.zone), None),
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
