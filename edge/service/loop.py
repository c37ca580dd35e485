"""``greetcue run``: the frame loop, wiring camera -> perception -> zones -> cues -> events.

Each stage keeps its own state and logic; this loop only hands one stage's output to the next.
Nothing here waits on the network or disk: the publisher stores and sends events beside it,
outputs play their patterns on their own threads, acks are queued in by their inputs. Without a
frame (a camera that is down) the loop still drains acks, escalates cues and reports metrics.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from types import FrameType

from edge.config import Config
from edge.contract import CueIssued, EventBase, Metrics, encode
from edge.perception.calibration import camera_for
from edge.perception.pipeline import Perception, tracking_detector
from edge.perception.sources import Frame
from edge.service.camera_feed import CameraFeed
from edge.service.cues import CueEvent, PersonSnapshot
from edge.service.events import EventWriter
from edge.service.occupancy import OccupancyBoard
from edge.service.runtime import Runtime
from edge.service.zones import (
    CueDue,
    Decision,
    PersonView,
    TrackEnded,
    TrackStarted,
    WaitingDue,
    Zones,
)

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Tick:
    """What one turn of the loop saw and did, for a live console."""

    frame: Frame | None
    people: list[PersonView]
    events: list[EventBase]
    camera_online: bool
    metrics: Metrics | None = None


Observer = Callable[[Tick], None]


@dataclass(slots=True)
class RunResult:
    """How a run ended: frames seen, events emitted, and whether the outbox drained."""

    frames: int = 0
    events: int = 0
    drained: bool = True
    undelivered: int = 0
    counts: dict[str, int] = field(default_factory=dict)


class Service:
    """One camera's edge service; ``run()`` until the file ends or ``stop()``/SIGTERM."""

    def __init__(
        self,
        config: Config,
        source: str | int | None = None,
        realtime: bool = False,
        observer: Observer | None = None,
        fps: float | None = None,
    ) -> None:
        if config.calibration is None:
            raise ValueError(
                "greetcue run needs a calibrated camera to measure distances: add a calibration "
                "section (see `greetcue calibrate` and the README, Setting up a camera)"
            )
        self.config = config
        self._observer = observer
        self._stop = threading.Event()
        spec = config.camera.source if source is None else source
        service = config.service
        self.feed = CameraFeed.for_spec(
            spec,
            realtime,
            service.camera_stall_s,
            service.camera_retry_max_s,
            self._camera_changed,
            fps,
        )
        self.detector = tracking_detector(config)
        self.zones = Zones.from_config(config)
        self._perception: Perception | None = None
        self._runtime: Runtime | None = None
        self.result = RunResult()

    @property
    def broker_port(self) -> int | None:
        """The embedded broker's port while it runs (None: an mqtt section, or not started)."""
        runtime = self._runtime
        return runtime.broker.port if runtime is not None and runtime.broker is not None else None

    def stop(self) -> None:
        """Ask the loop to finish (from any thread or a signal handler)."""
        self._stop.set()

    def run(self) -> RunResult:
        """Run until the file ends or ``stop()``; then drain the outbox (files) and shut down."""
        with _signals(self.stop), Runtime(self.config) as runtime:
            self._runtime = runtime
            writer = EventWriter(self.config.site, self.config.camera.name, runtime.prefix)
            board = OccupancyBoard(
                self.config.site,
                self.config.camera.name,
                runtime.prefix,
                self.config.zones,
                self.config.service.occupancy_refresh_s,
            )
            try:
                while not self._stop.is_set() and not self.feed.ended:
                    self._turn(runtime, writer, board)
            finally:
                self.feed.close()
                self._finish(runtime)
        return self.result

    def _turn(self, runtime: Runtime, writer: EventWriter, board: OccupancyBoard) -> None:
        clock = runtime.metrics.clock
        clock.begin()
        frame = self.feed.next_frame()
        clock.lap("capture")
        now = time.time()
        events: list[EventBase] = []
        if frame is not None:
            events += self._perceive(frame, runtime, writer, clock.lap)
        for ack in runtime.inbox.drain():
            events += runtime.desk.ack(ack, self.zones.reached)
        events += runtime.desk.tick(now)
        clock.lap("cues")
        captured = frame.captured_wall if frame is not None else None
        runtime.publisher.submit(writer.outgoing(events, captured))
        inside = self.zones.occupancy()
        for topic, payload in board.due(inside, now):
            runtime.publisher.send_now(topic, payload, qos=1, retain=True)
        nearest = board.nearest_zone(inside)
        for output in runtime.outputs:
            output.show(nearest)
        clock.end()
        metrics = self._report(runtime, frame)
        self.result.events += len(events)
        if self._observer is not None:
            people = self.zones.people()
            self._observer(Tick(frame, people, events, self.feed.online, metrics))

    def _perceive(
        self, frame: Frame, runtime: Runtime, writer: EventWriter, lap: Callable[[str], None]
    ) -> list[EventBase]:
        if self._perception is None:
            camera = camera_for(self.config, (frame.image.shape[1], frame.image.shape[0]))
            self._perception = Perception(self.detector, camera, self.config)
        seen = self._perception(frame, lap)
        decisions = self.zones.update(frame.t, seen.ranges, seen.tracks.ended.tolist())
        lap("zones")
        people = {view.track_id: view for view in self.zones.people()}
        events: list[EventBase] = list(writer.events(decisions, frame, people))
        events += self._cue(decisions, frame, runtime, writer)
        self.result.frames += 1
        return events

    def _cue(
        self, decisions: Sequence[Decision], frame: Frame, runtime: Runtime, writer: EventWriter
    ) -> list[CueEvent]:
        """Hand the decisions about cues to the cue desk."""
        desk, now, out = runtime.desk, time.time(), []
        for decision in decisions:
            if isinstance(decision, TrackStarted):
                desk.track_started(decision.track_id, decision.visit)
            elif isinstance(decision, TrackEnded):
                desk.track_ended(decision.track_id, decision.visit, now)
            elif isinstance(decision, CueDue | WaitingDue):
                person = _snapshot(decision, self.zones)
                call = desk.issue if isinstance(decision, CueDue) else desk.waiting
                issued = call(person, decision.zone, now, frame.captured_wall)
                for event in issued:
                    if isinstance(event, CueIssued) and event.escalation == 0:
                        writer.cue_given(decision.visit, decision.zone, event.cue_id)
                out += issued
        return out

    def _report(self, runtime: Runtime, frame: Frame | None) -> Metrics | None:
        metrics = runtime.metrics
        for seconds in runtime.publisher.latencies():
            metrics.add_latency_ms(seconds * 1000.0)
        metrics.set_outbox(runtime.publisher.depth, runtime.publisher.dropped)
        metrics.set_frames_dropped(self.feed.dropped)
        metrics.set_camera_online(self.feed.online)
        metrics.set_people(len(self.zones.people()) if frame is not None else 0)
        report = metrics.poll()
        if report is not None:
            runtime.publisher.send_now(runtime.metrics_topic, encode(report), qos=0)
        return report

    def _camera_changed(self, online: bool) -> None:
        if self._runtime is not None:
            self._runtime.link.set_available(online)

    def _finish(self, runtime: Runtime) -> None:
        self.result.counts = asdict(runtime.desk.counts)
        if not self.feed.ended:
            return
        timeout = self.config.service.drain_timeout_s
        log.info("end of the file: waiting up to %.0f s for the outbox to drain", timeout)
        self.result.drained = runtime.publisher.drain(timeout)
        self.result.undelivered = runtime.publisher.depth
        if not self.result.drained:
            log.warning(
                "%d events are still in the outbox (broker unreachable?); they are kept and "
                "delivered on the next start",
                self.result.undelivered,
            )


def _snapshot(decision: CueDue | WaitingDue, zones: Zones) -> PersonSnapshot:
    approach = decision.approach if isinstance(decision, CueDue) else "standing"
    for view in zones.people():
        if view.track_id == decision.track_id:
            approach = view.approach
    return PersonSnapshot(
        decision.track_id,
        decision.visit,
        decision.distance_ft,
        decision.speed_ftps,
        decision.tta_s,
        approach,
    )


@contextmanager
def _signals(stop: Callable[[], None]) -> Iterator[None]:
    """SIGTERM and SIGINT (Ctrl-C) end the loop cleanly; the old handlers come back after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        log.info("%s: stopping", signal.Signals(signum).name)
        stop()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
