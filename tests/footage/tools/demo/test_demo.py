"""The README's main job, its replay part: `greetcue demo --no-live` on the real footage leaves
files a person can look at (the live part: tests/footage/tools/demo/test_demo_live.py)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
from typer.testing import CliRunner

from edge.cli import app
from edge.tools.evaluation.cue_labels import truth_files
from edge.tools.replay.live_view import read_event_log


def test_demo_writes_videos_plots_and_a_summary(
    tmp_path: Path, footage_dir: Path, model_cache: Path
) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--no-live", "--out", str(out), "--no-realtime"])
    assert result.exit_code == 0, result.output
    summary = (out / "summary.md").read_text()
    assert "recall" in summary and "median relative error" in summary
    assert "University of Reading" in summary and "CC BY 4.0" in summary
    for name in ("pets-detect", "pets-track", "corridor-track"):
        video = cv2.VideoCapture(str(out / f"{name}.mp4"))
        assert video.read()[0], f"{name}.mp4 has no frame"
        video.release()
        first = json.loads((out / f"{name}.jsonl").read_text().splitlines()[0])
        assert first["frame"] == 0
    for name in ("pets-track", "corridor-track"):
        assert (out / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
        assert f"({name}.png)" in summary
    events = read_event_log(out / "service-events.jsonl")
    kinds = {event["type"] for event in events}
    assert {"zone_enter", "cue", "ack"} <= kinds, kinds
    assert f"{len(events)} events" in summary
    assert "acknowledgement latency" in summary and "lead time" in summary
    clips = sorted(truth_files())
    cue_rows = [line for line in summary.splitlines() if line.startswith("| ") and "(own)" in line]
    assert len(cue_rows) == len(clips), cue_rows  # the cue table: each labelled clip's own rate
    assert "recall" in summary and "false cues per 20" in summary and "(cues/leads.png)" in summary
    assert (out / "cues" / "leads.png").read_bytes()[:4] == b"\x89PNG"
    assert "cue published -> shown on the staff page: p50" in summary
    assert "cue published -> push accepted by the push service: p50" in summary
