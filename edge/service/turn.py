"""One turn: a perceived frame (or a frame-less tick) to everything it causes, with no I/O.

The order is fixed and the same everywhere (the service, the replays, every evaluation):
a camera that was lost ends every visit; the frame is tracked and ranged; zones decide; each
decision becomes its event and the cue desk's answer, in the order decided (a cue before the
``zone_enter`` that names it); staff acks close cues; unanswered cues escalate; then the zones'
occupancy and the counter light's zone are read. Nothing is published, written or switched
here: the turn returns :class:`Effects`, and :mod:`edge.service.delivery.dispatch` carries them out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from edge.config import Config
from edge.contract import CueCommand, EventBase
from edge.perception.detections import Detections
from edge.perception.detectors import PersonDetector
from edge.perception.geometry.calibration import camera_for
from edge.perception.pipeline import Lap, Perceived, Perception
from edge.perception.sources import Frame, FrameInfo
from edge.service.cues.desk import CueCounts, CueDesk, StaffAck
from edge.service.cues.stage import cue_events
from edge.service.delivery.events import EventWriter
from edge.service.presence.decisions import Decision, ZoneOccupancy
from edge.service.presence.zones import PersonView, Zones

Clock = Callable[[], float]


def _no_lap(stage: str) -> None:
    """No timing."""


@dataclass(frozen=True, slots=True)
class Effects:
    """What one turn caused, not yet done: ``events`` for the outbox (in order), ``commands``
    for the cue outputs, each zone's ``occupancy`` and the innermost occupied zone for the
    counter light (None: nobody in any zone). ``perceived`` and ``decisions`` are what led to
    them (for replays and evaluations)."""

    events: list[EventBase]
    commands: list[CueCommand]
    occupancy: list[ZoneOccupancy]
    nearest_zone: str | None
    perceived: Perceived | None
    decisions: list[Decision]


class Turn:
    """One camera's per-frame step: perception -> zones -> decisions -> cue desk -> events.

    ``detector`` is the one :class:`~edge.perception.pipeline.Perception` tracks with (it runs
    only for a frame passed without detections); ``clock`` gives wall-clock seconds (cue and
    ack times), ``time.time`` unless a test controls it.
    """

    def __init__(self, config: Config, detector: PersonDetector, clock: Clock = time.time) -> None:
        self._config, self._detector, self._clock = config, detector, clock
        self.zones = Zones.from_config(config)
        self.desk = CueDesk(config)
        self._writer = EventWriter(config.site, config.camera.name)
        self._radius = {zone.name: zone.radius_ft for zone in config.zones}
        self._perception: Perception | None = None
        self._last_frame: FrameInfo | None = None  # not the Frame: no image outlives its turn

    @property
    def counts(self) -> CueCounts:
        """The cue desk's totals."""
        return self.desk.counts

    def people(self) -> list[PersonView]:
        """Every live track, nearest first (for a live console)."""
        return self.zones.people()

    def __call__(
        self,
        frame: Frame | None,
        detections: Detections | None = None,
        acks: Sequence[StaffAck] = (),
        camera_lost: bool = False,
        lap: Lap = _no_lap,
    ) -> Effects:
        """One turn. ``frame`` None: a turn without one (the camera is down or late);
        ``detections`` None: detect people in the frame here. ``camera_lost``: the camera
        went down since the last turn, so nobody is seen and every visit ends."""
        now = self._clock()
        events: list[EventBase] = []
        decisions: list[Decision] = []
        if camera_lost and self._last_frame is not None:
            decisions += self._react(self.zones.end_all(), self._last_frame, events)
        perceived = None
        if frame is not None:
            self._last_frame = seen = frame.info
            perceived = self._perceive(frame, detections, lap)
            decided = self.zones.update(frame.t, perceived.ranges, perceived.tracks.ended.tolist())
            lap("zones")
            decisions += self._react(decided, seen, events)
        for ack in acks:
            events += self.desk.ack(ack, partial(self.zones.reached, by_t=self._frame_time(ack)))
        events += self.desk.tick(now)
        lap("cues")
        occupancy = self.zones.occupancy()
        occupied = [zone.zone for zone in occupancy if zone.count > 0]
        nearest = min(occupied, key=self._radius.__getitem__, default=None)
        commands = self.desk.take_commands()
        return Effects(events, commands, occupancy, nearest, perceived, decisions)

    def _perceive(self, frame: Frame, detections: Detections | None, lap: Lap) -> Perceived:
        if self._perception is None:
            camera = camera_for(self._config, (frame.image.shape[1], frame.image.shape[0]))
            self._perception = Perception(self._detector, camera, self._config)
        if detections is None:
            return self._perception(frame, lap)
        return self._perception.track(frame, detections, lap)

    def _react(
        self, decisions: Sequence[Decision], frame: FrameInfo, events: list[EventBase]
    ) -> list[Decision]:
        """Each decision's event and the cue desk's answer to it, in order, into ``events``."""
        if not decisions:
            return []
        people = {view.track_id: view for view in self.zones.people()}
        now = self._clock()
        for decision in decisions:
            view = people.get(decision.track_id)
            event = self._writer.event(decision, frame, view.approach if view else "unknown")
            if event is not None:
                events.append(event)
            events += cue_events(self.desk, decision, view, now, frame.captured_wall)
        return list(decisions)

    def _frame_time(self, ack: StaffAck) -> float | None:
        """When the ack arrived, on the frames' clock (None before the first frame)."""
        last = self._last_frame
        return None if last is None else last.t + (ack.received_wall - last.captured_wall)
