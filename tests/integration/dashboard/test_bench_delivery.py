"""`greetcue bench delivery` on the real path (Mosquitto, the dashboard, a staff page in
Chromium, a stand-in push service): every cue is shown and pushed, and the figures are times
after its publication."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from edge.cli import app
from edge.cli.bench_delivery import bench_delivery

pytestmark = pytest.mark.integration


def test_every_cue_is_shown_and_pushed_after_it_was_published() -> None:
    report = bench_delivery(cues=3)
    assert len(report.shown_s) == len(report.pushed_s) == 3
    assert all(0 < s < 15 for s in report.shown_s + report.pushed_s), report


def test_the_command_prints_both_figures() -> None:
    result = CliRunner().invoke(app, ["bench", "delivery", "--cues", "2"])
    assert result.exit_code == 0, result.output
    assert "shown on the staff page: p50" in result.output
    assert "push accepted by the push service: p50" in result.output
