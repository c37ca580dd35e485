"""Commands that measure cues against truth: score one run, derive the PETS labels, bench every
labelled clip."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from edge.cli.apps import bench_app, console, eval_app, new_table

if TYPE_CHECKING:
    from rich.table import Table

    from edge.tools.evaluation.cues import CueScore


@eval_app.command("cues")
def eval_cues(
    run: Path = typer.Argument(help="replay written by `greetcue track --events` (.jsonl)"),
    truth: Path = typer.Option(..., "--truth", help="the clip's cue truth (YAML)"),
) -> None:
    """Cues in a run against the clip's labels: recall, false and repeat cues, lead per ring."""
    from edge.tools.evaluation.cue_labels import load_truth
    from edge.tools.evaluation.cues import score_cues, whereabouts
    from edge.tools.replay.jobs import read_rows

    labels = load_truth(truth)
    scored = score_cues(read_rows(run), labels, whereabouts(labels))
    table = _figures_table(f"cues in {run.name} vs {truth.name}")
    _add_row(table, labels.clip, "", scored.score)
    console().print(table)
    kinds = {p.id: p.kind for p in labels.people}
    for cue, person in scored.owners:
        whom = "nobody labelled" if person is None else f"person {person} ({kinds[person]})"
        console().print(f"cue at {cue.t:.2f} s (frame {cue.frame}) to track {cue.track_id}: {whom}")
    _verdicts(scored.score)


@eval_app.command("pets-truth")
def eval_pets_truth(
    out: Path | None = typer.Option(None, help="folder to write into (default: the committed)"),
) -> None:
    """Derive the PETS parts' cue truth from the dataset's ground truth and calibration."""
    from edge.tools.demo.replays import EXAMPLES
    from edge.tools.evaluation.cue_labels import TRUTH_DIR, dump_truth, truth_name
    from edge.tools.evaluation.pets_cues import derive_pets_truth
    from edge.tools.footage.location import PETS_DIR, PETS_PARTS, footage_path

    folder = out or TRUTH_DIR
    folder.mkdir(parents=True, exist_ok=True)
    footage = footage_path(PETS_DIR).parent
    for part in range(len(PETS_PARTS)):
        truth = derive_pets_truth(footage, part, EXAMPLES)
        path = folder / truth_name(truth.clip)
        path.write_text(dump_truth(truth), encoding="utf-8")
        console().print(f"{path}: {len(truth.approaching)} of {len(truth.people)} approaching")


@bench_app.command("cues")
def bench_cues_command(
    out: Path = typer.Option(Path("out/bench-cues"), help="folder for the runs and the plot"),
    model: str | None = typer.Option(None, help="model name (default: each config's)"),
) -> None:
    """Every labelled clip through the detector and the service's turn, at its own rate and at
    10 fps; recall, false and repeat cues and lead against their targets, and a plot of leads."""
    from rich.progress import Progress

    from edge.tools.bench.cues import bench_cues, plot_runs
    from edge.tools.bench.cues import totals as cue_totals
    from edge.tools.demo.replays import EXAMPLES
    from edge.tools.evaluation.cue_labels import truth_files

    with Progress(console=console()) as progress:
        runs = bench_cues(truth_files(), EXAMPLES, out, progress, model)
    table = _figures_table("cues against truth, every labelled clip")
    for r in runs:
        _add_row(table, r.clip, f"{r.fps:g}" + " (own)" * r.own_rate, r.score)
    totals = cue_totals(runs)
    for name, score in totals.items():
        _add_row(table, f"[bold]{name}", "", score)
    console().print(table)
    console().print(
        "A clip at 10 fps or slower runs once, at its own rate, which is also its 10-fps run. "
        "Each figure with its target: MET / MISSED; n/a: nothing to judge.",
        highlight=False,
    )
    for name, score in totals.items():
        console().print(f"[bold]{name}:")
        _verdicts(score)
    plot = plot_runs(runs, out)
    console().print(f"runs and the lead plot in {out}/ ({plot.name})")


def _figures_table(title: str) -> Table:
    from edge.tools.bench.cues import FIGURES

    table = new_table(title=title)
    for column in ("clip", "fps", *FIGURES):
        table.add_column(column, justify="left" if column in ("clip", "fps") else "right")
    return table


def _add_row(table: Table, clip: str, fps: str, score: CueScore) -> None:
    """Each figure with its target and verdict."""
    from edge.tools.bench.cues import figure_cells

    table.add_row(clip, fps, *figure_cells(score, ("[green]MET[/]", "[red]MISSED[/]")))


def _verdicts(score: CueScore) -> None:
    """One line per target: the figure, the target, met or missed, and what it rests on."""
    from edge.tools.bench.cues import verdicts

    for line in verdicts(score):
        console().print(line, highlight=False)
