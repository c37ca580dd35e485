"""The demo: the real detector, tracker and ranging on real footage, then the edge service on
a real clip, left for a person to look at.

Writes replays, annotated videos, distance plots, the cue table against the labelled truth of
every clip (as ``greetcue bench cues``), the service's event log and ``summary.md`` (figures
measured in this run, files, credits) into one folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from edge.config import load_config
from edge.perception.geometry.tsai import TsaiCamera
from edge.tools.bench.cues import FIGURES, bench_cues, figure_cells, plot_runs, totals, verdicts
from edge.tools.demo.service import KIOSK, service_part
from edge.tools.evaluation.cue_labels import truth_files
from edge.tools.evaluation.detection import read_detections_jsonl, score_frames
from edge.tools.evaluation.groundtruth import FrameTruth, load_pets_xml
from edge.tools.evaluation.ranging import distance_errors
from edge.tools.footage.location import (
    INTEL_CREDIT,
    PETS_CALIBRATION,
    PETS_CREDIT,
    PETS_DIR,
    PETS_PARTS,
    PETS_TRUTH,
    footage_path,
)
from edge.tools.replay.jobs import read_rows, run_detect, run_track

EXAMPLES = Path(__file__).resolve().parents[3] / "deploy" / "examples"


@dataclass(frozen=True, slots=True)
class Clip:
    """One demo run: a clip, its example configuration and what it shows."""

    name: str
    footage: str
    config: str
    credit: str
    what: str


TRACK_CLIPS = (
    Clip(
        "pets-track",
        f"{PETS_DIR}/{PETS_PARTS[0]}",
        "pets-view001.yaml",
        PETS_CREDIT,
        "PETS 2009 S2.L1 with its real calibration: tracks, distances and zone rings",
    ),
    Clip(
        "corridor-track",
        "intel/face-demographics-walking.gif",
        "corridor-walking.yaml",
        INTEL_CREDIT,
        "two people walking up a corridor towards the camera (hand calibration)",
    ),
)


@cache
def _pets_truth() -> dict[int, FrameTruth]:
    """The PETS ground truth, read once per run."""
    return load_pets_xml(footage_path(f"{PETS_DIR}/{PETS_TRUTH}"))


def run_demo(out: Path, examples: Path = EXAMPLES, realtime: bool = True) -> Path:
    """Run every demo step into ``out``; return the path of the written summary."""
    configs = [c.config for c in TRACK_CLIPS] + [KIOSK]
    missing = [name for name in configs if not (examples / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"the demo's example configurations {missing} are not in {examples}; run the demo "
            "from a checkout of the repository (deploy/examples/)"
        )
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# greetcue demo", "", "Measured in this run on this machine.", ""]
    lines += _detect_part(out)
    for clip in TRACK_CLIPS:
        lines += _track_part(out, examples, clip)
    lines += _cue_part(out / "cues", examples)
    lines += service_part(out, examples, realtime)
    lines += ["## Credits", "", f"- {PETS_CREDIT}", f"- {INTEL_CREDIT}", ""]
    summary = out / "summary.md"
    summary.write_text("\n".join(lines), encoding="utf-8")
    return summary


def _detect_part(out: Path) -> list[str]:
    clip = footage_path(f"{PETS_DIR}/{PETS_PARTS[0]}")
    replay = out / "pets-detect.jsonl"
    video = out / "pets-detect.mp4"
    result = run_detect(clip, replay, video=video, credit=PETS_CREDIT, overwrite=True)
    truth = _pets_truth()
    detections = read_detections_jsonl(replay)
    score = score_frames(detections, truth, sorted(detections))
    return [
        "## Person detection (YOLOX-Nano) on PETS 2009 S2.L1, part 0",
        "",
        f"- {result.frames} frames in {result.seconds:.1f} s "
        f"({result.frames / result.seconds:.1f} fps including drawing and video writing)",
        f"- against the ground truth at IoU 0.5: recall {score.recall:.3f}, "
        f"precision {score.precision:.3f} ({score.truths} annotated people)",
        f"- files: `{replay.name}`, `{video.name}`",
        "",
    ]


def _track_part(out: Path, examples: Path, clip: Clip) -> list[str]:
    config_path = examples / clip.config
    config = load_config(config_path)
    source = footage_path(clip.footage)
    replay, video, plot = (out / f"{clip.name}{ext}" for ext in (".jsonl", ".mp4", ".png"))
    result = run_track(
        config, replay, source=source, video=video, plot=plot, credit=clip.credit, overwrite=True
    )
    rows = read_rows(replay)
    people = {t["id"] for row in rows for t in row["tracks"]}
    nearest = min(
        (t["distance_ft"] for row in rows for t in row["tracks"] if t["distance_ft"] is not None),
        default=None,
    )
    lines = [
        f"## Tracking and distance: {clip.what}",
        "",
        f"- configuration `{config_path.name}`, {result.frames} frames in {result.seconds:.1f} s",
        f"- {len(people)} people tracked"
        + (f"; nearest approach {nearest:.1f} ft to the counter" if nearest is not None else ""),
    ]
    if clip.footage.startswith(f"{PETS_DIR}/"):
        lines.append(f"- {_pets_distance_error(rows, config.counter.position_ft)}")
    lines += [
        f"- files: `{replay.name}`, `{video.name}`, `{plot.name}`",
        "",
        f"![{clip.name}]({plot.name})",
        "",
    ]
    return lines


def _cue_part(out: Path, examples: Path) -> list[str]:
    """Every labelled clip through the service's turn, scored against its cue truth."""
    from rich.progress import Progress

    with Progress(transient=True) as progress:
        runs = bench_cues(truth_files(), examples, out, progress)
    plot = plot_runs(runs, out)
    lines = [
        "## Cues against the labelled truth of every clip (`greetcue bench cues`)",
        "",
        "Each clip at its own rate and at the 10 fps of a store box; each figure with its target.",
        "",
        "| clip | fps | " + " | ".join(FIGURES) + " |",
        "|---" * (2 + len(FIGURES)) + "|",
    ]
    for r in runs:
        fps = f"{r.fps:g}" + " (own)" * r.own_rate
        lines.append(f"| {Path(r.clip).stem} | {fps} | " + " | ".join(figure_cells(r.score)) + " |")
    for name, score in totals(runs).items():
        lines += ["", f"**{name}**", ""] + [f"- {line}" for line in verdicts(score)]
    return [*lines, "", f"![cue leads](cues/{plot.name})", ""]


def _pets_distance_error(rows: list[dict[str, object]], counter: tuple[float, float]) -> str:
    tsai = TsaiCamera.from_xml(footage_path(f"{PETS_DIR}/{PETS_CALIBRATION}"))
    errors = distance_errors(rows, _pets_truth(), tsai.ground_points_ft, counter)
    return (
        f"distance_ft against the ground-truth foot points ({len(errors)} matched boxes): "
        f"median relative error {np.median(np.abs(errors)):.2%}, "
        f"90th percentile {np.percentile(np.abs(errors), 90):.2%}"
    )
