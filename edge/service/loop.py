"""``greetcue run``: the frame loop, wiring camera -> perception -> zones -> cues -> events.

Each stage keeps its own state and logic; this loop only hands one stage's output to the next.
Nothing here waits on the network or disk: the camera is read and the detector run one frame
ahead on their own thread (:mod:`edge.service.detect_ahead`), the publisher stores and sends
events beside it, outputs play their patterns on their own threads, acks are queued in by
their inputs. Without a frame (a camera that is down) the loop still drains acks, escalates
cues and reports metrics.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from types import FrameType

from edge.config import Config, ConfigError
from edge.contract import EventBase, Metrics, encode
from edge.perception.calibration import CalibrationError, camera_for
from edge.perception.pipeline import Perception, tracking_detector
from edge.perception.sources import Frame, SourceError
from edge.service import preflight
from edge.service.camera_feed import CameraFeed
from edge.service.cue_stage import cue_events
from edge.service.cues import StaffAck
from edge.service.detect_ahead import DetectAhead, Detected
from edge.service.events import EventWriter
from edge.service.occupancy import OccupancyBoard
from edge.service.runtime import Runtime
from edge.service.systemd import ServiceNotifier
from edge.service.zones import (
    Decision,
    PersonView,
    Zones,
)

log = logging.getLogger(__name__)

# The publisher and MQTT threads wait for the GIL while the loop runs Python code; Python's
# default 5 ms switch interval would add up to that to an event's delivery.
SWITCH_INTERVAL_S = 0.001
# A bug hit on one frame must not take the counter's cues down; one hit on every frame is a
# broken box, better restarted (by systemd) than limping on.
MAX_FAILURES_IN_A_ROW = 50


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
    errors: int = 0
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
        preflight.check(config)
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
        self._last_frame: Frame | None = None
        self._camera_lost = False
        self.result = RunResult()

    @property
    def broker_port(self) -> int | None:
        """The embedded broker's port while it runs (None: an mqtt section, or not started)."""
        runtime = self._runtime
        return runtime.broker.port if runtime is not None and runtime.broker is not None else None

    def stop(self) -> None:
        """Ask the loop to finish (from any thread or a signal handler)."""
        self._stop.set()

    @property
    def stopped(self) -> bool:
        """Whether ``stop()`` (or SIGTERM / Ctrl-C) ended the run, not the end of the file."""
        return self._stop.is_set()

    def run(self) -> RunResult:
        """Run until the file ends or ``stop()``; then drain the outbox (files) and shut down."""
        with _signals(self.stop), _switch_interval(SWITCH_INTERVAL_S):
            return self._run()

    def _run(self) -> RunResult:
        with Runtime(self.config) as runtime:
            self._runtime = runtime
            writer = EventWriter(self.config.site, self.config.camera.name, runtime.prefix)
            board = OccupancyBoard(
                self.config.site,
                self.config.camera.name,
                runtime.prefix,
                self.config.zones,
                self.config.service.occupancy_refresh_s,
            )
            ahead = DetectAhead(self.feed, self.detector)
            systemd = ServiceNotifier()
            systemd.ready()
            try:
                failures = 0
                while not self._stop.is_set() and not ahead.ended:
                    try:
                        detected = ahead.next()
                        self._turn(detected, runtime, writer, board)
                        systemd.turned(detected is not None, self.feed.online)
                        failures = 0
                    except (SourceError, CalibrationError, ConfigError):
                        raise  # the set-up is wrong: say so and stop
                    except Exception:
                        failures += 1
                        self.result.errors += 1
                        if failures >= MAX_FAILURES_IN_A_ROW:
                            raise
                        log.exception("frame loop: unexpected error; going on with the next frame")
            finally:
                systemd.stopping()
                ahead.close()
                self._finish(runtime)
        return self.result

    def _turn(
        self,
        detected: Detected | None,
        runtime: Runtime,
        writer: EventWriter,
        board: OccupancyBoard,
    ) -> None:
        clock = runtime.metrics.clock
        clock.begin()
        frame = detected.frame if detected is not None else None
        now = time.time()
        events: list[EventBase] = []
        if self._camera_lost and self._last_frame is not None:
            # Nobody is seen while the camera is down: their visits end, cues close in time.
            self._camera_lost = False
            events += self._react(self.zones.end_all(), self._last_frame, runtime, writer)
        if detected is not None:
            clock.add("capture", detected.capture_s)
            clock.add("detect", detected.detect_s)
            events += self._perceive(detected, runtime, writer, clock.lap)
        for ack in runtime.inbox.drain():
            events += runtime.desk.ack(ack, partial(self.zones.reached, by_t=self._frame_time(ack)))
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
        if frame is not None:
            clock.end()  # a frame is counted; a turn without one (camera down) is not
        metrics = self._report(runtime, frame)
        self.result.events += len(events)
        if self._observer is not None:
            people = self.zones.people()
            self._observer(Tick(frame, people, events, self.feed.online, metrics))

    def _perceive(
        self,
        detected: Detected,
        runtime: Runtime,
        writer: EventWriter,
        lap: Callable[[str], None],
    ) -> list[EventBase]:
        frame = detected.frame
        self.result.frames += 1
        self._last_frame = frame
        if self._perception is None:
            camera = camera_for(self.config, (frame.image.shape[1], frame.image.shape[0]))
            self._perception = Perception(self.detector, camera, self.config)
        seen = self._perception.track(frame, detected.detections, lap)
        decisions = self.zones.update(frame.t, seen.ranges, seen.tracks.ended.tolist())
        lap("zones")
        return self._react(decisions, frame, runtime, writer)

    def _react(
        self, decisions: Sequence[Decision], frame: Frame, runtime: Runtime, writer: EventWriter
    ) -> list[EventBase]:
        """Zone decisions as events, and the cue desk's answer to them."""
        if not decisions:
            return []
        people = {view.track_id: view for view in self.zones.people()}
        events: list[EventBase] = list(writer.events(decisions, frame, people))
        now = time.time()
        events += cue_events(runtime.desk, decisions, people, now, frame.captured_wall, writer)
        return events

    def _report(self, runtime: Runtime, frame: Frame | None) -> Metrics | None:
        metrics = runtime.metrics
        for seconds in runtime.publisher.latencies():
            metrics.add_latency_ms(seconds * 1000.0)
        metrics.set_outbox(runtime.publisher.depth, runtime.publisher.dropped)
        metrics.set_frames_dropped(self.feed.dropped)
        metrics.set_camera_online(self.feed.online)
        metrics.set_people(self.zones.tracked if frame is not None else 0)
        counts = runtime.desk.counts
        metrics.set_refused(
            **runtime.ack_handler.refused,
            ack_unmatched=counts.unknown_acks + counts.duplicate_acks,
            ack_not_cued=counts.not_cued_acks,
            handler_error=runtime.link.handler_errors,
            event_rejected=runtime.publisher.rejected,
            **(runtime.discovery.counts if runtime.discovery is not None else {}),
        )
        report = metrics.poll()
        if report is not None:
            runtime.publisher.send_now(runtime.metrics_topic, encode(report), qos=0)
        return report

    def _frame_time(self, ack: StaffAck) -> float | None:
        """When the ack arrived, on the frames' clock (None before the first frame)."""
        last = self._last_frame
        return None if last is None else last.t + (ack.received_wall - last.captured_wall)

    def _camera_changed(self, online: bool) -> None:
        self._camera_lost = self._camera_lost or not online
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


@contextmanager
def _switch_interval(seconds: float) -> Iterator[None]:
    """Let waiting threads have the GIL sooner while the service runs."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


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
