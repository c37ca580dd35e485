"""``greetcue bench cues``: every labelled clip through the real detector and the service's turn
(the replay ``greetcue track --events`` makes), at the clip's own rate and at the rate a store
box runs, each run scored against its cue truth."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from edge.config import load_config
from edge.perception.sources import open_source
from edge.tools.evaluation.cue_labels import CueTruth, load_truth
from edge.tools.evaluation.cues import CueScore, score_cues, whereabouts
from edge.tools.footage.location import footage_path
from edge.tools.replay.jobs import read_rows, run_track

if TYPE_CHECKING:
    from rich.progress import Progress

BOX_FPS = 10.0  # the rate the service runs at on a store box


@dataclass(frozen=True, slots=True)
class ClipRun:
    """One clip at one rate, scored; ``run``: the replay file it was scored on."""

    clip: str
    fps: float
    own_rate: bool
    score: CueScore
    run: Path


def rates(own_fps: float) -> list[tuple[float | None, float]]:
    """(rate to thin to, None: none; rate played) for a clip at ``own_fps``: its own, and the
    box's when the clip is faster (a slower clip cannot be played faster than it was filmed)."""
    own: list[tuple[float | None, float]] = [(None, own_fps)]
    return [*own, (BOX_FPS, BOX_FPS)] if own_fps > BOX_FPS + 1e-6 else own


def bench_cues(
    truths: list[Path], examples: Path, out: Path, progress: Progress, model: str | None = None
) -> list[ClipRun]:
    """Replay and score every truth file's clip at each of its :func:`rates`; runs into ``out``."""
    runs = []
    labels = [load_truth(path) for path in truths]
    plan = [(truth, rate) for truth in labels for rate in rates(_fps(truth))]
    overall = progress.add_task("cue bench", total=len(plan))
    for truth, (thin, fps) in plan:
        config = load_config(examples / truth.config)
        run = out / f"{Path(truth.clip).stem}@{fps:g}fps.jsonl"
        source = footage_path(truth.clip)
        run_track(
            config,
            run,
            source=source,
            model=model,
            overwrite=True,
            events=True,
            at_fps=thin,
            bar=progress,
        )
        scored = score_cues(read_rows(run), truth, whereabouts(truth))
        runs.append(ClipRun(truth.clip, fps, thin is None, scored.score, run))
        progress.advance(overall)
    return runs


def _fps(truth: CueTruth) -> float:
    """The rate the clip's file states."""
    with open_source(footage_path(truth.clip)) as source:
        return source.fps
