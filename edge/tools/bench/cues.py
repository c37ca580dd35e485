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
from edge.tools.evaluation.cues import (
    LEAD,
    LEAD_RING_FT,
    OUTER_RING_FT,
    CueScore,
    judged,
    score_cues,
    whereabouts,
)
from edge.tools.footage.location import footage_path
from edge.tools.replay.jobs import read_rows, run_track
from edge.tools.replay.plots import plot_leads

if TYPE_CHECKING:
    from rich.progress import Progress

BOX_FPS = 10.0  # the rate the service runs at on a store box
FIGURES = ("approaching", "recall", "false / 20 not appr.", "repeat cues", "median lead 5 ft (s)")


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


def totals(runs: list[ClipRun]) -> dict[str, CueScore]:
    """Every clip at its own rate, and every clip as a 10-fps box would see it."""
    own = [r.score for r in runs if r.own_rate]
    box = {r.clip: r.score for r in runs if r.own_rate}
    box |= {r.clip: r.score for r in runs if not r.own_rate}
    if not own:
        return {}
    return {
        "all clips, own rate": sum(own[1:], own[0]),
        "all clips, at 10 fps": sum(list(box.values())[1:], next(iter(box.values()))),
    }


def figure_cells(score: CueScore, marks: tuple[str, str] = ("MET", "MISSED")) -> list[str]:
    """The table cells of :data:`FIGURES`: each figure with its target and ``marks`` (met,
    missed)."""
    cells = [str(score.approaching)]
    for target, value in judged(score):
        met = target.met(value)
        shown = "n/a" if value is None else f"{value:.2f}".rstrip("0").rstrip(".")
        mark = "" if met is None else f" {marks[0] if met else marks[1]}"
        sign = "<=" if target.at_most else ">="
        cells.append(f"{shown} ({sign} {target.limit:g}){mark}")
    return cells


def verdicts(score: CueScore) -> list[str]:
    """One line per target (figure, target, MET / MISSED), then what the figures rest on."""
    lines = []
    for target, value in judged(score):
        met = target.met(value)
        verdict = "n/a" if met is None else ("MET" if met else "MISSED")
        shown = "n/a" if value is None else f"{value:.2f}"
        sign = "<=" if target.at_most else ">="
        lines.append(f"{verdict}: {target.name} {shown} (target {sign} {target.limit:g})")
    lines.append(
        f"over {score.approaching} approaching ({score.cued} cued), {score.not_approaching} not "
        f"approaching ({score.false_cues} false cues), {score.repeat_cues} repeat cues"
    )
    outside = score.median_lead_from_outside
    if outside is not None:
        lines.append(
            f"of those, the {len(score.from_outside)} walk-ins seen crossing the "
            f"{OUTER_RING_FT:g}-ft ring: median lead before {LEAD_RING_FT:g} ft {outside:.2f} s "
            "(the others were first seen inside it)"
        )
    return lines


def plot_runs(runs: list[ClipRun], out: Path) -> Path:
    """The leads of every run, one column per run, with the lead target: ``out/leads.png``."""
    leads = {f"{Path(r.clip).stem} @{r.fps:g}": r.score.leads for r in runs}
    return plot_leads(
        leads, out / "leads.png", "Cue lead before each ring", (LEAD_RING_FT, LEAD.limit)
    )
