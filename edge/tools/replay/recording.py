"""Replay: run a per-frame step over a source, one JSON line per frame, optional annotated video.

The step turns a frame into a plain JSON row; drawing works from that row alone, so what the
video shows is exactly what the file says.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from edge.perception.detectors import Detector
from edge.perception.sources import Frame, FrameSource
from edge.service.turn import Turn
from edge.tools.replay.output_files import OutputError, VideoOut

log = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]
Row = dict[str, Any]
Step = Callable[[Frame], Row]
Draw = Callable[[Image, Row], Image]


@dataclass(frozen=True, slots=True)
class ReplaySummary:
    """What a replay did: frames written and where."""

    frames: int
    out: Path
    video: Path | None
    seconds: float


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=False,
    )


def replay(
    source: FrameSource,
    out: Path,
    step: Step,
    draw: Draw | None = None,
    video: Path | None = None,
    description: str = "replay",
    progress: bool = True,
    bar: Progress | None = None,
) -> ReplaySummary:
    """Write ``step(frame)`` for every frame of ``source`` as JSON lines to ``out``.

    Lines are flushed every few frames, so an interrupted run keeps the frames it finished.
    The frame's image is drawn on in place: the step is done with it by then. ``bar``: show
    progress on this (already running) bar, for a caller replaying several sources under one.
    """
    if out.suffix.lower() != ".jsonl":
        raise OutputError(f"{out}: the replay file must end in .jsonl (one JSON object per line)")
    out.parent.mkdir(parents=True, exist_ok=True)
    frames, started = 0, cv2.getTickCount()
    with ExitStack() as stack:
        writer = None
        if video is not None and draw is not None:
            writer = stack.enter_context(VideoOut(video, source.fps, source.size))
        lines = stack.enter_context(out.open("w", encoding="utf-8"))
        bar = bar or stack.enter_context(_progress())
        task = bar.add_task(description, total=source.frame_count, rate="", visible=progress)
        try:
            for frame in source:
                row = step(frame)
                lines.write(json.dumps(row, separators=(",", ":")) + "\n")
                if writer is not None and draw is not None:
                    writer.write(draw(frame.image, row))
                frames += 1
                if frames % 10 == 0:
                    lines.flush()
                    elapsed = (cv2.getTickCount() - started) / cv2.getTickFrequency()
                    bar.update(task, completed=frames, rate=f"{frames / elapsed:.1f} fps")
            bar.update(task, completed=frames)
        except KeyboardInterrupt:
            log.warning("interrupted after %d frames; %s holds every finished frame", frames, out)
    seconds = (cv2.getTickCount() - started) / cv2.getTickFrequency()
    return ReplaySummary(frames, out, writer.path if writer else None, seconds)


def detection_step(detector: Detector) -> Step:
    """The ``greetcue detect`` row: ``{"frame": i, "t": s, "detections": [...]}``."""

    def step(frame: Frame) -> Row:
        detections = detector.detect(frame.image)
        return {"frame": frame.index, "t": round(frame.t, 4), "detections": detections.to_json()}

    return step


def _number(value: float, ndigits: int) -> float | None:
    """A JSON number, or null where there is none (NaN)."""
    return round(float(value), ndigits) if math.isfinite(value) else None


def tracking_step(turn: Turn, events: bool = False) -> Step:
    """The ``greetcue track`` row: ``{"frame": i, "t": s, "tracks": [...]}``, from the turn the
    service runs (its tracks and ranges; ``tta_s`` is the time to the next ring); ``events``
    adds ``"events": [...]``, the service events that frame caused as the service would
    publish them (what cues are scored on)."""

    def step(frame: Frame) -> Row:
        effects = turn(frame)
        seen = effects.perceived
        assert seen is not None  # a turn with a frame perceives it
        tracks, ranges = seen.tracks, seen.ranges
        rows = [
            {
                "id": int(tracks.ids[k]),
                "box": [round(float(v), 1) for v in tracks.xyxy[k]],
                "floor_ft": [_number(v, 2) for v in ranges.floor_ft[k]],
                "distance_ft": _number(ranges.distance_ft[k], 2),
                "speed_ftps": _number(ranges.speed_ftps[k], 2),
                "tta_s": _number(ranges.tta_s[k], 2),
                "truncated": bool(ranges.truncated[k]),
            }
            for k in range(len(tracks))
        ]
        row: Row = {"frame": frame.index, "t": round(frame.t, 4), "tracks": rows}
        if events:
            row["events"] = [event.model_dump(mode="json") for event in effects.events]
        return row

    return step
