"""The service's health figures: frame rate, time per stage, end-to-end latency, backlog.

The frame loop times its stages with a :class:`StageClock` (a few float writes per frame, no
allocation) and passes on the capture-to-PUBACK latencies it drains from the publisher.
Every interval :class:`ServiceMetrics` turns the window into a ``contract.Metrics`` message,
one log line an integrator can act on, and Prometheus series on a private registry (so several
services, or tests, can run in one process).

>>> metrics = ServiceMetrics("store-1", "counter-1", stages=("detect",))
>>> metrics.clock.begin(); metrics.clock.lap("detect"); metrics.clock.end()
>>> metrics.report().stage_ms.keys()
dict_keys(['detect'])
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from statistics import median
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from edge.config import Config
from edge.contract import MAX_FPS, Metrics, utc

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from prometheus_client import CollectorRegistry

    from edge.service.health.prometheus import Series

log = logging.getLogger(__name__)

DEFAULT_STAGES = ("capture", "detect", "track", "range", "zones", "cues")
WINDOW_FRAMES = 8192  # stage medians cover at most this many of the latest frames
LATENCY_SAMPLES = 10_000  # latency percentiles cover at most this many of the latest events


class StageClock:
    """Per-frame stage durations, written into a preallocated window by the frame loop.

    Per frame: ``begin()`` before waiting for the frame, ``lap(stage)`` after each stage (the
    time since the previous mark), ``end()`` to count the frame. A stage lapped twice in a
    frame keeps the last lap; a stage not lapped is left out of that frame's medians.
    """

    def __init__(
        self,
        stages: Sequence[str] = DEFAULT_STAGES,
        *,
        capacity: int = WINDOW_FRAMES,
        now: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.stages = tuple(stages)
        self._index = {stage: i for i, stage in enumerate(self.stages)}
        # rows are written whole before they are read: only the pages of the frames of one
        # interval become resident (50 rows at 10 fps), not all of the capacity
        self._window = np.empty((capacity, len(self.stages)))
        self._row = np.full(len(self.stages), np.nan)
        self._frames = 0
        self._mark = 0.0
        self._now = now
        self._lock = threading.Lock()

    def begin(self) -> None:
        """Start timing a frame."""
        self._row.fill(np.nan)
        self._mark = self._now()

    def lap(self, stage: str) -> None:
        """The time since the previous mark is ``stage``'s; the next stage starts now."""
        t = self._now()
        self._row[self._index[stage]] = t - self._mark
        self._mark = t

    def add(self, stage: str, seconds: float) -> None:
        """A duration measured elsewhere (e.g. by the frame source) for this frame."""
        self._row[self._index[stage]] = seconds

    def end(self) -> None:
        """Count the frame and keep its stage durations for the window."""
        with self._lock:
            self._window[self._frames % len(self._window)] = self._row
            self._frames += 1

    def take(self) -> tuple[int, NDArray[np.float64]]:
        """Frames counted since the last take, and their durations (s; NaN: not lapped) as
        rows [frames, stages] (the latest ``capacity`` frames); starts a new window."""
        with self._lock:
            frames = self._frames
            rows = self._window[: min(frames, len(self._window))].copy()
            self._frames = 0
        return frames, rows


def stage_medians_ms(stages: Sequence[str], rows: NDArray[np.float64]) -> dict[str, float]:
    """Median milliseconds per stage over the rows; stages never lapped are left out."""
    medians = {}
    for i, stage in enumerate(stages):
        values = rows[:, i][~np.isnan(rows[:, i])]
        if values.size:
            medians[stage] = median(values.tolist()) * 1000.0
    return medians


def percentiles_ms(samples: Sequence[float]) -> tuple[float | None, float | None]:
    """p50 and p99 (nearest rank: a sample that was really seen), ``None`` without samples."""
    if not samples:
        return None, None
    p50, p99 = np.percentile(np.asarray(samples), [50, 99], method="inverted_cdf")
    return float(p50), float(p99)


def _ms(value: float) -> str:
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def summary_line(metrics: Metrics) -> str:
    """One log line with every figure, in the order an integrator checks them."""
    parts = [f"{metrics.fps:.1f} fps"]
    parts += [f"{stage} {_ms(ms)}" for stage, ms in metrics.stage_ms.items()]
    if metrics.latency_ms_p50 is None or metrics.latency_ms_p99 is None:
        parts.append("e2e n/a (nothing published)")
    else:
        parts.append(f"e2e p50 {_ms(metrics.latency_ms_p50)} p99 {_ms(metrics.latency_ms_p99)}")
    parts.append(f"outbox {metrics.outbox_depth} (dropped {metrics.outbox_dropped})")
    parts.append(f"dropped frames {metrics.frames_dropped}")
    parts.append("camera online" if metrics.camera_online else "camera OFFLINE")
    parts.append("1 person" if metrics.people == 1 else f"{metrics.people} people")
    refused = [f"{kind} {n}" for kind, n in metrics.refused.items() if n]
    if refused:
        parts.append("refused: " + " ".join(refused))
    return "metrics: " + ", ".join(parts)


class MetricsPortError(RuntimeError):
    """The Prometheus endpoint cannot listen where the configuration says."""


def _listen_failure(host: str, port: int, exc: OSError) -> str:
    """What went wrong opening ``/metrics`` on ``host:port``, the key to change and how."""
    where = f"cannot serve Prometheus /metrics on {host}:{port} ({exc.strerror or exc})"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"{where}: another program holds port {port} (another greetcue service on this "
            f"box? see `ss -ltnp 'sport = :{port}'`); set service.metrics_port to a free port "
            "(each camera on a box needs its own), 0 for any free port, or null for no endpoint"
        )
    if exc.errno == errno.EACCES:
        return f"{where}: set service.metrics_port to 1024 or above, or null for no endpoint"
    return (
        f"{where}: set service.metrics_host to an address of this box (127.0.0.1: this box "
        "only; 0.0.0.0: every interface), or service.metrics_port to null for no endpoint"
    )


class RunningTotal:
    """A total from a counter that may restart at zero (a reopened camera or outbox)."""

    def __init__(self) -> None:
        self.total = 0
        self._last = 0

    def update(self, count: int) -> int:
        """Take the counter's current value; returns how much the total grew."""
        grew = count - self._last if count >= self._last else count
        self._last = count
        self.total += grew
        return grew


class ServiceMetrics:
    """Collects the figures, and every ``interval_s`` reports them (see the module docstring).

    The frame loop owns ``clock`` and calls ``poll()`` each turn; the setters and
    ``add_latency_ms`` may be called from any thread.
    """

    def __init__(
        self,
        site: str,
        camera: str,
        *,
        interval_s: float = 5.0,
        stages: Sequence[str] = DEFAULT_STAGES,
        now: Callable[[], float] = time.perf_counter,
        wall: Callable[[], float] = time.time,
        exported: bool = True,
    ) -> None:
        self.site = site
        self.camera = camera
        self.interval_s = interval_s
        self.clock = StageClock(stages, now=now)
        self._series: Series | None = None
        if exported:  # Prometheus (and the HTTP server it brings) only for a /metrics endpoint
            from edge.service.health.prometheus import Series

            self._series = Series(site, camera)
        self._now = now
        self._wall = wall
        self._lock = threading.Lock()
        self._latencies_ms: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self._outbox_depth = 0
        self._outbox_dropped = RunningTotal()
        self._frames_dropped = RunningTotal()
        self._camera_online = False
        self._people = 0
        self._refused: dict[str, int] = {}
        self._window_start = now()
        self._server: tuple[WSGIServer, threading.Thread] | None = None

    @classmethod
    def from_config(cls, config: Config, stages: Sequence[str] = DEFAULT_STAGES) -> ServiceMetrics:
        """The metrics of the configured camera, reported every ``service.metrics_interval_s``."""
        return cls(
            config.site,
            config.camera.name,
            interval_s=config.service.metrics_interval_s,
            stages=stages,
            exported=config.service.metrics_port is not None,
        )

    def add_latency_ms(self, ms: float) -> None:
        """One event's frame capture to broker PUBACK time (drained from the publisher)."""
        with self._lock:
            self._latencies_ms.append(ms)

    def set_outbox(self, depth: int, dropped: int) -> None:
        """The outbox's unsent rows and its dropped count (which may restart at zero)."""
        with self._lock:
            self._outbox_depth = depth
            grew = self._outbox_dropped.update(dropped)
            if self._series:
                self._series.outbox_dropped.inc(grew)

    def set_frames_dropped(self, dropped: int) -> None:
        """The frame source's dropped count (which restarts when the camera is reopened)."""
        with self._lock:
            grew = self._frames_dropped.update(dropped)
            if self._series:
                self._series.frames_dropped.inc(grew)

    def set_camera_online(self, online: bool) -> None:
        with self._lock:
            self._camera_online = online

    def set_refused(self, **totals: int) -> None:
        """Totals since start of refused messages, by kind (ack_payload, ack_unmatched, ...)."""
        with self._lock:
            self._refused.update(totals)

    def set_people(self, people: int) -> None:
        with self._lock:
            self._people = people

    def poll(self) -> Metrics | None:
        """The report when the interval is over, else ``None`` (cheap: call it every frame)."""
        if self._now() - self._window_start < self.interval_s:
            return None
        return self.report()

    def report(self) -> Metrics:
        """Close the window: the Metrics message, logged and exported; a new window starts."""
        now = self._now()
        elapsed_s = now - self._window_start
        self._window_start = now
        frames, rows = self.clock.take()
        with self._lock:
            latencies = list(self._latencies_ms)
            self._latencies_ms.clear()
            fps = min(frames / elapsed_s, MAX_FPS) if elapsed_s > 0 else 0.0  # the contract's bound
            metrics = self._message(fps, rows, latencies)
        self._export(metrics, frames, rows, latencies)
        log.info(summary_line(metrics))
        return metrics

    @property
    def registry(self) -> CollectorRegistry:
        """The Prometheus registry of this service's series."""
        if self._series is None:
            raise RuntimeError("these metrics were made without Prometheus series (exported)")
        return self._series.registry

    def start_http(self, host: str, port: int) -> int:
        """Serve ``/metrics`` from this service's registry; returns the port (``0``: any free)."""
        if self._server is not None:
            raise RuntimeError("the /metrics endpoint is already running")
        if self._series is None:
            raise RuntimeError("these metrics were made without Prometheus series (exported)")
        try:
            server, thread = self._series.serve(host, port)
        except OSError as exc:
            raise MetricsPortError(_listen_failure(host, port, exc)) from None
        self._server = server, thread
        log.info("Prometheus metrics on http://%s:%d/metrics", host, server.server_port)
        return server.server_port

    def close(self) -> None:
        """Stop the ``/metrics`` endpoint, if it runs."""
        if self._server is None:
            return
        server, thread = self._server
        self._server = None
        server.shutdown()
        server.server_close()
        thread.join(timeout=5.0)

    def _message(self, fps: float, rows: NDArray[np.float64], latencies: list[float]) -> Metrics:
        p50, p99 = percentiles_ms(latencies)
        return Metrics(
            site=self.site,
            camera=self.camera,
            at=utc(self._wall()),
            camera_online=self._camera_online,
            fps=fps,
            stage_ms=stage_medians_ms(self.clock.stages, rows),
            latency_ms_p50=p50,
            latency_ms_p99=p99,
            outbox_depth=self._outbox_depth,
            outbox_dropped=self._outbox_dropped.total,
            frames_dropped=self._frames_dropped.total,
            people=self._people,
            refused=dict(self._refused),
        )

    def _export(
        self, metrics: Metrics, frames: int, rows: NDArray[np.float64], latencies: list[float]
    ) -> None:
        series = self._series
        if series is None:
            return
        series.fps.set(metrics.fps)
        series.camera_online.set(1.0 if metrics.camera_online else 0.0)
        series.people.set(metrics.people)
        series.set_refused(metrics.refused)
        series.outbox_depth.set(metrics.outbox_depth)
        series.frames.inc(frames)
        series.observe_stages(self.clock.stages, rows)
        for ms in latencies:
            series.latency.observe(ms / 1000.0)
