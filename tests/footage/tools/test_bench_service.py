"""`greetcue bench service` end to end on a few PETS frames: every figure is reported (the
machine is shared and noisy, so no figure is held to a value)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge.cli import app

FIGURES = (
    "bare_p50_ms",
    "bare_fps",
    "tiles",
    "latency_p50_ms",
    "latency_p99_ms",
    "loop_fps",
    "rate_ratio",
    "cpu_percent_mean",
    "rss_peak_mb",
)


@pytest.mark.footage
@pytest.mark.model
def test_bench_service_reports_every_figure_and_target(
    footage_dir: Path, model_cache: Path, tmp_path: Path
) -> None:
    out = tmp_path / "bench.json"
    # 60 unpaced frames span several 0.5 s metrics windows, however fast the machine runs
    result = CliRunner().invoke(app, ["bench", "service", "--frames", "60", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    for figure in FIGURES:
        assert math.isfinite(report[figure]) and report[figure] > 0, figure
    assert report["events"] > 0 and report["loop_frames"] >= 60
    assert report["clips"] == ["vtest_part0.avi"]
    assert {"detect", "range", "zones"} <= report["stage_ms"].keys()
    assert set(report["targets"]) == {
        "p99 capture -> event",
        "loop rate / bare rate",
        "peak resident memory",
    }
    for name in ("capture -> event p99", "loop / bare rate", "peak resident memory"):
        assert name in result.output
    assert "target" in result.output
