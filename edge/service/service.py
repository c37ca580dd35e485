"""``greetcue run``: the frame loop, the camera and the connections around one turn.

What happens to a frame is :class:`~edge.service.turn.Turn`'s, with no I/O; this loop only
adds the I/O: it takes the next detected frame, hands the turn the acks that came in, and
gives the turn's effects to the dispatcher (:mod:`edge.service.delivery.dispatch`).
Nothing here waits on the network or disk: the camera is read and the detector run one frame
ahead on their own thread (:mod:`edge.perception.stream.detect_ahead`), the publisher stores
and sends events beside it, outputs play their patterns on their own threads, acks are
queued in by their inputs. Without a frame (a camera that is down) the loop still drains acks,
escalates cues and reports metrics.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from types import FrameType

from edge.config import Config, ConfigError
from edge.contract import EventBase, Metrics
from edge.perception.geometry.calibration import CalibrationError
from edge.perception.pipeline import tracking_detector
from edge.perception.sources import Frame, SourceError
from edge.perception.stream.camera_feed import CameraFeed
from edge.perception.stream.detect_ahead import DetectAhead, Detected
from edge.service.connections import Connections, Runtime
from edge.service.health import preflight
from edge.service.health.metrics import ServiceMetrics
from edge.service.health.systemd import ServiceNotifier
from edge.service.presence.zones import PersonView
from edge.service.turn import Turn

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
        self.turn = Turn(config, self.detector)
        self.metrics = ServiceMetrics.from_config(config)
        self._connections: Connections | None = None
        self._camera_lost = False
        self.result = RunResult()

    @property
    def broker_port(self) -> int | None:
        """The embedded broker's port while it runs (None: an mqtt section, or not started)."""
        connections = self._connections
        return connections.broker_port if connections is not None else None

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
        with Runtime(self.config, self.metrics) as connections:
            self._connections = connections
            ahead = DetectAhead(self.feed, self.detector)
            systemd = ServiceNotifier()
            systemd.ready()
            try:
                failures = 0
                while not self._stop.is_set() and not ahead.ended:
                    try:
                        # no frame outlives its turn: the next one is read meanwhile
                        turned = self._turn(ahead.next(), connections)
                        systemd.turned(turned, self.feed.online)
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
                self._finish(connections)
        return self.result

    def _turn(self, detected: Detected | None, connections: Connections) -> bool:
        """One turn of the loop, with a frame or without; whether it had one."""
        clock = self.metrics.clock
        clock.begin()
        frame = detected.frame if detected is not None else None
        camera_lost, self._camera_lost = self._camera_lost, False
        if detected is not None:
            self.result.frames += 1
            clock.add("capture", detected.capture_s)
            clock.add("detect", detected.detect_s)
        effects = self.turn(
            frame,
            detected.detections if detected is not None else None,
            connections.acks.drain(),
            camera_lost,
            clock.lap,
        )
        captured = frame.captured_wall if frame is not None else None
        connections.dispatch.effects(effects, captured, time.time())
        if frame is not None:
            clock.end()  # a frame is counted; a turn without one (camera down) is not
        metrics = self._report(connections, frame)
        self.result.events += len(effects.events)
        if self._observer is not None:
            people = self.turn.people()
            self._observer(Tick(frame, people, effects.events, self.feed.online, metrics))
        return frame is not None

    def _report(self, connections: Connections, frame: Frame | None) -> Metrics | None:
        metrics, dispatch = self.metrics, connections.dispatch
        for seconds in dispatch.latencies():
            metrics.add_latency_ms(seconds * 1000.0)
        metrics.set_outbox(dispatch.depth, dispatch.dropped)
        metrics.set_frames_dropped(self.feed.dropped)
        metrics.set_camera_online(self.feed.online)
        metrics.set_people(self.turn.zones.tracked if frame is not None else 0)
        counts = self.turn.counts
        metrics.set_refused(
            **connections.refused(),
            ack_unmatched=counts.unknown_acks + counts.duplicate_acks,
            ack_not_cued=counts.not_cued_acks,
            event_rejected=dispatch.rejected,
        )
        report = metrics.poll()
        if report is not None:
            dispatch.metrics(report)
        return report

    def _camera_changed(self, online: bool) -> None:
        self._camera_lost = self._camera_lost or not online
        if self._connections is not None:
            self._connections.dispatch.availability(online)

    def _finish(self, connections: Connections) -> None:
        self.result.counts = asdict(self.turn.counts)
        if not self.feed.ended:
            return
        timeout = self.config.service.drain_timeout_s
        log.info("end of the file: waiting up to %.0f s for the outbox to drain", timeout)
        self.result.drained = connections.dispatch.drain(timeout)
        self.result.undelivered = connections.dispatch.depth
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
