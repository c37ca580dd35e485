"""The detect and track jobs as the CLI and the demo run them: build the stages, replay a source.

Options given here win over the configuration; everything else comes from the configuration
and its defaults.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.config import Config
from edge.perception.detectors import create_detector
from edge.perception.geometry.calibration import camera_for
from edge.perception.pipeline import tracking_detector
from edge.perception.sources import open_source
from edge.service.turn import Turn
from edge.tools.evaluation.detection import ReplayFileError
from edge.tools.replay.annotate import TrackOverlay, draw_credit, draw_detections
from edge.tools.replay.output_files import check_outputs
from edge.tools.replay.plots import plot_distances
from edge.tools.replay.rate import AtRate
from edge.tools.replay.recording import ReplaySummary, detection_step, replay, tracking_step

if TYPE_CHECKING:
    from rich.progress import Progress


def run_detect(
    source: str | int | Path,
    out: Path,
    *,
    model: str | None = None,
    threads: int = 1,
    score: float | None = None,
    video: Path | None = None,
    realtime: bool = False,
    credit: str = "",
    overwrite: bool = False,
) -> ReplaySummary:
    """Detect people in every frame of ``source``; write the replay (and video)."""
    check_outputs(out, video, overwrite=overwrite)
    detector = create_detector(model, threads=threads, score=score)
    with open_source(source, realtime=realtime) as frames:
        return replay(
            frames,
            out,
            detection_step(detector),
            draw=lambda image, row: draw_credit(draw_detections(image, row), credit),
            video=video,
            description=f"detect {Path(frames.description).name}",
        )


def run_track(
    config: Config,
    out: Path,
    *,
    source: str | int | Path | None = None,
    model: str | None = None,
    threads: int | None = None,
    video: Path | None = None,
    plot: Path | None = None,
    realtime: bool = False,
    credit: str = "",
    overwrite: bool = False,
    events: bool = False,
    at_fps: float | None = None,
    bar: Progress | None = None,
) -> ReplaySummary:
    """Track and range people in ``source`` (default: ``camera.source``) with the service's own
    turn; replay, video, plot. ``events``: each row also holds the service events its frame
    caused; ``at_fps``: the source thinned to at most this rate (:class:`AtRate`); ``bar``: an
    already running progress bar to show this replay on."""
    check_outputs(out, video, plot, overwrite=overwrite)
    detector = tracking_detector(config, model, threads)
    zones = [(zone.name, zone.radius_ft) for zone in config.zones]
    with ExitStack() as stack:
        frames = stack.enter_context(
            open_source(config.camera.source if source is None else source, realtime)
        )
        if at_fps is not None:
            frames = stack.enter_context(AtRate(frames, at_fps))
        camera = camera_for(config, frames.size)
        overlay = TrackOverlay(camera, config.counter.position_ft, zones)
        summary = replay(
            frames,
            out,
            tracking_step(Turn(config, detector), events),
            draw=lambda image, row: draw_credit(overlay(image, row), credit),
            video=video,
            description=f"track {Path(frames.description).name}"
            + (f" at {frames.fps:g} fps" if at_fps is not None else ""),
            bar=bar,
        )
    if plot is not None:
        plot_distances(read_rows(out), zones, plot, f"Distance to the counter: {out.stem}", credit)
    return summary


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The JSON rows of a replay file; a broken line is an error naming the file and line."""
    rows = []
    with path.open(encoding="utf-8") as lines:
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ReplayFileError(f"{path}:{lineno}: not a JSON line ({exc})") from None
    return rows
