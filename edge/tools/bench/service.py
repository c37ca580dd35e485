"""``greetcue bench service``: the whole edge service against bare inference, in one run.

Four figures, measured one after the other on PETS S2L1 with the kiosk example configuration
on a private Mosquitto, so that a noisy box slows them alike:

1. bare inference p50 of the configured detector (blocks of ``edge.tools.bench.detector``
   runs before and after the service runs, pooled);
2. frame capture to event received by a separate MQTT 5 subscriber, p50/p99, with the
   service paced at ``PACED_FPS`` (only events caused by a frame: track_start, zone_enter,
   zone_exit and first cues, whose ``captured_at`` is that frame's capture);
3. the loop's frame rate unpaced, as a share of the bare inference rate of the tile plan (one
   inference per tile: a plan of two tiles runs the model twice a frame);
4. CPU and peak resident memory of ``greetcue run`` as a subprocess, paced, sampled by psutil.
"""

from __future__ import annotations

import contextlib
import logging
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from rich.progress import Progress

from edge.config import Config, load_config, write_config
from edge.contract import CueIssued, decode_event
from edge.perception.sources import Image, open_source
from edge.service.delivery.broker import Mosquitto
from edge.service.service import Service, Tick
from edge.tools.bench.detector import Timing, bare_inference
from edge.tools.footage.location import PETS_PART_FRAMES

log = logging.getLogger(__name__)

LATENCY_TYPES = frozenset({"track_start", "zone_enter", "zone_exit", "cue"})
PACED_FPS = 10.0
SAMPLE_S = 0.5  # psutil sampling period
STARTUP_S = 5.0  # a subprocess's imports and model load, added to a --frames budget
QUIET_S = 0.5  # after the paced run: how long no new event means all have arrived
LATENCY_MARGIN_MS = 10.0
RATE_SHARE = 0.9
RSS_LIMIT_MB = 250.0


@dataclass(frozen=True, slots=True)
class Limits:
    """How much of the footage each part of the bench plays (None: all of it)."""

    frames: int | None = None
    seconds: float | None = None

    @property
    def budget_s(self) -> float | None:
        """Wall seconds a paced subprocess may run, startup included."""
        frames = None if self.frames is None else self.frames / PACED_FPS + STARTUP_S
        return self.seconds if self.seconds is not None else frames


@dataclass(frozen=True, slots=True)
class Target:
    """One target: the measured figure, its limit, and whether it was met."""

    name: str
    value: float
    limit: float
    unit: str
    at_most: bool
    hint: str

    @property
    def met(self) -> bool:
        return self.value <= self.limit if self.at_most else self.value >= self.limit


@dataclass(slots=True)
class ServiceBench:
    """Every figure of one ``bench service`` run (milliseconds, frames per second, MB)."""

    model: str
    threads: int
    clips: list[str]
    bare_runs: int
    bare_p50_ms: float
    bare_p99_ms: float
    tiles: int
    events: int
    latency_p50_ms: float
    latency_p99_ms: float
    loop_frames: int
    loop_fps: float
    stage_ms: dict[str, float]
    cpu_percent_mean: float
    cpu_percent_max: float
    rss_peak_mb: float
    footprint_s: float

    @property
    def bare_fps(self) -> float:
        """Frames a second of bare inference over the plan's tiles."""
        return 1000.0 / (self.bare_p50_ms * self.tiles)

    @property
    def rate_ratio(self) -> float:
        return self.loop_fps / self.bare_fps

    def checks(self) -> list[Target]:
        """The targets against this run's figures, each with where to look when missed."""
        stages = ", ".join(f"{name} {ms:.1f}" for name, ms in self.stage_ms.items())
        beyond = 1000.0 / self.loop_fps - self.bare_p50_ms * self.tiles
        latency = self.bare_p50_ms * self.tiles + LATENCY_MARGIN_MS
        late = f"the stages after inference and the publisher add it; stage ms: {stages}"
        slow = f"{beyond:.1f} ms a frame beyond bare inference; stage ms: {stages}"
        big = "check the model size and ONNX Runtime threads (--threads)"
        return [
            Target("p99 capture -> event", self.latency_p99_ms, latency, "ms", True, late),
            Target("loop rate / bare rate", self.rate_ratio, RATE_SHARE, "x", False, slow),
            Target("peak resident memory", self.rss_peak_mb, RSS_LIMIT_MB, "MB", True, big),
        ]

    def as_json(self) -> dict[str, Any]:
        """The figures, the derived rates and the targets met, for ``--out``."""
        return asdict(self) | {
            "bare_fps": self.bare_fps,
            "rate_ratio": self.rate_ratio,
            "targets": {t.name: t.met for t in self.checks()},
        }


def bench_config(base: Path, port: int, model: str | None, threads: int) -> Config:
    """``base`` pointed at the broker on ``port``, no /metrics port (phases set the outbox)."""
    data = load_config(base).model_dump(mode="json", exclude_none=True)
    data["mqtt"] = {"host": "127.0.0.1", "port": port}
    data["service"] = data.get("service", {}) | {"metrics_port": None, "metrics_interval_s": 0.5}
    data["detector"] = data.get("detector", {}) | {"threads": threads}
    if model is not None:
        data["detector"]["model"] = model
    return Config.model_validate(data)


def _with_outbox(config: Config, path: Path) -> Config:
    """The configuration with its outbox at ``path`` (each phase starts with an empty one)."""
    return config.model_copy(update={"outbox": config.outbox.model_copy(update={"path": path})})


@contextmanager
def _quiet(name: str = "edge.service") -> Iterator[None]:
    """Only errors from the service under test: the bench's own lines are the ones to read."""
    logger, level = logging.getLogger(name), logging.getLogger(name).level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


class _Watch:
    """The observer of one phase: frame times per clip, stage medians, and the phase's cap."""

    def __init__(self, limits: Limits, advance: Callable[[], None]) -> None:
        self._limits, self._advance = limits, advance
        self.clips: list[list[float]] = []
        self.stages: list[dict[str, float]] = []
        self._stop: Callable[[], None] = lambda: None
        self._started = time.perf_counter()
        self.frames = 0

    @property
    def done(self) -> bool:
        frames, seconds = self._limits.frames, self._limits.seconds
        over_time = seconds is not None and time.perf_counter() - self._started >= seconds
        return over_time or (frames is not None and self.frames >= frames)

    def follow(self, service: Service) -> None:  # the next clip's, stopped at the cap
        self.clips.append([])
        self._stop = service.stop

    def __call__(self, tick: Tick) -> None:
        if tick.metrics is not None:
            self.stages.append(dict(tick.metrics.stage_ms))
        if tick.frame is None:
            return
        self.clips[-1].append(time.perf_counter())
        self.frames += 1
        self._advance()
        if self.done:
            self._stop()

    def fps(self) -> float:
        """Frames per second between frames of one clip (service starts and drains left out)."""
        gaps = [np.diff(times) for times in self.clips if len(times) > 1]
        return float(1.0 / np.concatenate(gaps).mean()) if gaps else float("nan")

    def stage_medians(self) -> dict[str, float]:
        """Each stage's median over the metrics reports of the phase."""
        names = dict.fromkeys(name for report in self.stages for name in report)
        return {n: statistics.median(r[n] for r in self.stages if n in r) for n in names}


class _Stamps:
    """A separate MQTT 5 subscriber on ``greetcue/#``: each event with its receive wall time."""

    def __init__(self, port: int) -> None:
        self.events: list[tuple[bytes, float]] = []
        self._subscribed = threading.Event()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
        self._client.on_message = self._on_message
        self._client.on_subscribe = lambda *args: self._subscribed.set()
        self._client.connect("127.0.0.1", port)
        self._client.subscribe("greetcue/#", qos=1)
        self._client.loop_start()
        if not self._subscribed.wait(10.0):
            raise RuntimeError(f"bench subscriber: no SUBACK from 127.0.0.1:{port} in 10 s")

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic.endswith("/event"):
            self.events.append((bytes(message.payload), time.time()))

    def settle(self) -> None:
        """Wait until no event has come for ``QUIET_S``."""
        count = -1
        while count != len(self.events):
            count = len(self.events)
            time.sleep(QUIET_S)

    def latencies_ms(self) -> list[float]:
        """Receive wall minus ``captured_at`` of the events a frame caused."""
        out = []
        for payload, received in self.events:
            event = decode_event(payload)
            if event.type not in LATENCY_TYPES:
                continue
            if isinstance(event, CueIssued) and event.escalation > 0:
                continue  # an escalation is caused by the clock, not by a frame
            out.append((received - event.captured_at.timestamp()) * 1000.0)
        return out

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


class _Bench:
    """One bench run: the broker, the configuration, the pooled bare timings, the progress."""

    def __init__(
        self, config: Config, clips: Sequence[Path], limits: Limits, work: Path, bare_runs: int
    ) -> None:
        self.config, self.clips, self.limits, self.work = config, list(clips), limits, work
        self.bare_runs = bare_runs
        self.bare: list[Timing] = []
        self.tiles = 1
        self.played: dict[str, None] = {}
        with open_source(self.clips[0]) as frames:
            self.image: Image = next(iter(frames)).image

    def measure_bare(self, service: Service) -> None:  # one block on the service's detector
        self.bare.append(bare_inference(service.detector.detector, self.image, self.bare_runs))
        height, width = self.image.shape[:2]
        self.tiles = len(service.detector.plan((width, height)).tiles)

    def phase(self, name: str, realtime: bool, progress: Progress) -> tuple[_Watch, Service]:
        """Run a Service over the clips (until the cap); a bare block before the first."""
        total = self.limits.frames or PETS_PART_FRAMES * len(self.clips)
        task = progress.add_task(name, total=total)
        watch = _Watch(self.limits, lambda: progress.advance(task))
        config = _with_outbox(self.config, self.work / f"outbox-{name.split()[0]}.sqlite3")
        service: Service | None = None
        for clip in self.clips:
            if watch.done:
                break
            first = service is None
            service = Service(config, str(clip), realtime, observer=watch, fps=PACED_FPS)
            if first:
                self.measure_bare(service)
            watch.follow(service)
            log.info("bench service: %s on %s", name, clip.name)
            self.played[clip.name] = None
            with _quiet():
                service.run()
        progress.update(task, completed=total)
        assert service is not None
        return watch, service

    def footprint(self, progress: Progress) -> tuple[list[float], list[float], float]:
        """CPU % and RSS (MB) samples of ``greetcue run`` subprocesses, and their wall time."""
        config = _with_outbox(self.config, self.work / "outbox-footprint.sqlite3")
        path = write_config(config, self.work / "footprint.yaml")
        budget = self.limits.budget_s
        expected = budget or len(self.clips) * (PETS_PART_FRAMES / PACED_FPS + STARTUP_S)
        task = progress.add_task("greetcue run (subprocess, paced)", total=expected)
        cpu: list[float] = []
        rss: list[float] = []
        started = time.monotonic()
        deadline = None if budget is None else started + budget
        for clip in self.clips:
            if deadline is not None and time.monotonic() >= deadline:
                break
            command = [sys.executable, "-m", "edge.cli", "run", "--config", str(path)]
            command += ["--source", str(clip), "--realtime", "--fps", f"{PACED_FPS:g}"]
            with (self.work / "footprint.log").open("ab") as out:
                popen = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
            try:
                _sample(popen, deadline, cpu, rss, lambda: progress.advance(task, SAMPLE_S))
            finally:
                if popen.poll() is None:
                    popen.kill()
            if popen.wait() != 0:
                log_tail = (self.work / "footprint.log").read_text(errors="replace")[-800:]
                raise RuntimeError(f"`greetcue run` exited with {popen.returncode}:\n{log_tail}")
        progress.update(task, completed=expected)
        return cpu, rss, time.monotonic() - started


def _sample(
    popen: subprocess.Popen[bytes],
    deadline: float | None,
    cpu: list[float],
    rss: list[float],
    tick: Callable[[], None],
) -> None:
    """CPU % (of a core) and RSS (MB) every ``SAMPLE_S`` till the end; SIGTERM at ``deadline``."""
    process = psutil.Process(popen.pid)
    process.cpu_percent(None)
    while popen.poll() is None:
        time.sleep(SAMPLE_S)
        if deadline is not None and time.monotonic() >= deadline:
            popen.terminate()  # once: a second SIGTERM could find the default handler back
            deadline = None
        with contextlib.suppress(psutil.NoSuchProcess), process.oneshot():
            cpu.append(process.cpu_percent(None))
            rss.append(process.memory_info().rss / 2**20)
        tick()


def bench_service(
    base: Path,
    clips: Sequence[Path],
    limits: Limits,
    progress: Progress,
    model: str | None = None,
    threads: int = 1,
    bare_runs: int = 50,
) -> ServiceBench:
    """Every figure of the module docstring, in one run of ``base`` on a private Mosquitto."""
    with tempfile.TemporaryDirectory(prefix="greetcue-bench-") as folder:
        work = Path(folder)
        with Mosquitto(work / "mosquitto", port=0) as broker:
            config = bench_config(base, broker.port, model, threads)
            bench = _Bench(config, clips, limits, work, bare_runs)
            stamps = _Stamps(broker.port)
            try:
                bench.phase("paced (capture -> event)", True, progress)
                stamps.settle()
            finally:
                stamps.close()
            watch, last = bench.phase("unpaced (loop rate)", False, progress)
            bench.measure_bare(last)
            footprint = bench.footprint(progress)
    return _report(bench, stamps.latencies_ms(), watch, footprint)


def _report(
    bench: _Bench,
    latencies: list[float],
    watch: _Watch,
    footprint: tuple[list[float], list[float], float],
) -> ServiceBench:
    bare = Timing(np.concatenate([timing.ms for timing in bench.bare]))
    lat = Timing(np.asarray(latencies or [np.nan]))  # NaN figures: no event arrived
    cpu, rss, wall = footprint
    detector = bench.config.detector
    return ServiceBench(
        model=detector.model,
        threads=detector.threads,
        clips=list(bench.played),
        bare_runs=len(bare.ms),
        bare_p50_ms=bare.p50,
        bare_p99_ms=bare.p99,
        tiles=bench.tiles,
        events=len(latencies),
        latency_p50_ms=lat.p50,
        latency_p99_ms=lat.p99,
        loop_frames=watch.frames,
        loop_fps=watch.fps(),
        stage_ms=watch.stage_medians(),
        cpu_percent_mean=float(np.mean(cpu or [np.nan])),
        cpu_percent_max=max(cpu, default=float("nan")),
        rss_peak_mb=max(rss, default=float("nan")),
        footprint_s=wall,
    )
