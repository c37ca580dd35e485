"""``greetcue bench memory``: the peak memory of ``greetcue run`` against a bare ONNX Runtime
loop (``edge.tools.bench.bare_loop``), in one run.

Both are subprocesses that play the same PETS clip at the same rate (``PACED_FPS``) with the
configuration's detector, one after the other; ``greetcue run`` publishes to a private
Mosquitto. Each one's peak resident memory is the kernel's high-water mark of its memory
(``VmHWM`` in ``/proc/PID/status``, Linux), read every ``POLL_S``: a peak between two reads is
not missed, only one in the last ``POLL_S`` of its life. (``ru_maxrss`` would not do: a child
started by vfork and exec inherits the parent's resident size as its maximum.)
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from edge.config import write_config
from edge.perception.detectors import modelstore
from edge.service.delivery.broker import Mosquitto
from edge.tools.bench.service import PACED_FPS, bench_config

TARGET_RATIO = 1.3
POLL_S = 0.1


@dataclass(frozen=True, slots=True)
class MemoryBench:
    """Peak RSS (MiB) of each process, and what they played."""

    model: str
    clip: str
    fps: float
    service_peak_mb: float
    bare_peak_mb: float

    @property
    def ratio(self) -> float:
        return self.service_peak_mb / self.bare_peak_mb

    @property
    def met(self) -> bool:
        return self.ratio <= TARGET_RATIO


def peak_rss_mb(command: list[str], log: Path) -> float:
    """Run ``command`` to its end (output to ``log``); its peak resident memory in MiB."""
    with log.open("ab") as out:
        popen = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    status, peak_kib = Path(f"/proc/{popen.pid}/status"), 0
    while popen.poll() is None:
        with contextlib.suppress(OSError):  # it ended between poll() and the read
            peak_kib = max(peak_kib, _high_water_kib(status.read_text()))
        time.sleep(POLL_S)
    if popen.returncode != 0:
        tail = log.read_text(errors="replace")[-800:]
        raise RuntimeError(f"{' '.join(command[:4])}... exited with {popen.returncode}:\n{tail}")
    return peak_kib / 1024


def _high_water_kib(status: str) -> int:
    """``VmHWM`` of a /proc/PID/status text in KiB (0 once the process has let its memory go)."""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def bench_memory(base: Path, clip: Path, threads: int = 1, metrics: bool = True) -> MemoryBench:
    """Both peaks on ``clip`` with ``base``'s detector at ``PACED_FPS``; ``greetcue run``
    serves Prometheus ``/metrics`` (on a free port) as by default, or, ``metrics`` false, not."""
    with tempfile.TemporaryDirectory(prefix="greetcue-bench-memory-") as folder:
        work = Path(folder)
        with Mosquitto(work / "mosquitto", port=0) as broker:
            config = bench_config(base, broker.port, None, threads)
            port = 0 if metrics else None
            config = config.model_copy(
                update={
                    "outbox": config.outbox.model_copy(update={"path": work / "outbox"}),
                    "service": config.service.model_copy(update={"metrics_port": port}),
                }
            )
            path = write_config(config, work / "config.yaml")
            service = [sys.executable, "-m", "edge.cli", "run", "--config", str(path)]
            service += ["--source", str(clip), "--realtime", "--fps", f"{PACED_FPS:g}"]
            service_mb = peak_rss_mb(service, work / "service.log")
        model = str(modelstore.resolve(config.detector.model))
        bare = [sys.executable, "-m", "edge.tools.bench.bare_loop", model, str(clip)]
        bare_mb = peak_rss_mb([*bare, f"{PACED_FPS:g}", str(threads)], work / "bare.log")
    return MemoryBench(config.detector.model, clip.name, PACED_FPS, service_mb, bare_mb)
