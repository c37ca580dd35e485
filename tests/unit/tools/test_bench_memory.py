"""``greetcue bench memory`` reads a process's true peak resident memory, not a sample."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from edge.tools.bench.memory import peak_rss_mb


def test_the_peak_is_the_high_water_mark_of_a_freed_spike(tmp_path: Path) -> None:
    """200 MiB touched and freed before the process idles: its resident size has dropped when
    the reads come, its high-water mark has not. The bench's own size does not count."""
    spike = "b = bytearray(200 * 2**20); b[::4096] = b'x' * len(b[::4096]); del b"
    idle = "import time; time.sleep(0.5)"
    peak = peak_rss_mb([sys.executable, "-c", f"{spike}; {idle}"], tmp_path / "log")
    calm = peak_rss_mb([sys.executable, "-c", idle], tmp_path / "log")
    assert calm < 50 < 200 < peak < 300


def test_a_failed_run_says_how_it_ended(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="exited with 3:\nno model"):
        peak_rss_mb([sys.executable, "-c", "print('no model'); exit(3)"], tmp_path / "log")
