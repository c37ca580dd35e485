"""The ``greetcue`` command line: one entry point, one sub-command per job."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from edge.detection_eval import DetectionScore
    from edge.replay import ReplaySummary

app = typer.Typer(
    name="greetcue",
    help="greetcue: see customers coming, cue staff at 10/5/3 ft.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
eval_app = typer.Typer(help="Score replay files against ground truth.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
config_app = typer.Typer(help="Check a configuration file; print the reference.")
app.add_typer(config_app, name="config", no_args_is_help=True)
bench_app = typer.Typer(help="Measure what this box can do.")
app.add_typer(bench_app, name="bench")
models_app = typer.Typer(help="Detector weights: fetch them into the cache, list the cache.")
app.add_typer(models_app, name="models", no_args_is_help=True)
console = Console()
log = logging.getLogger("greetcue")


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging.")) -> None:
    """greetcue edge tools: models, detect, track, calibrate, eval, bench, demo."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@app.command()
def detect(
    source: str = typer.Argument(help="USB index, /dev/videoN, rtsp://..., video, GIF or folder"),
    out: Path = typer.Option(..., "--out", help="replay file to write (.jsonl)"),
    model: str | None = typer.Option(None, help="model name (default: yolox-nano)"),
    threads: int = typer.Option(1, min=1, help="ONNX Runtime threads"),
    score: float | None = typer.Option(None, min=0.0, max=1.0, help="minimum person score"),
    annotate: Path | None = typer.Option(None, help="also write an annotated video (.mp4)"),
    realtime: bool = typer.Option(False, help="pace a file to its frame rate"),
    credit: str = typer.Option("", help="attribution line drawn on the annotated video"),
    overwrite: bool = typer.Option(False, help="replace output files that already exist"),
) -> None:
    """Run the person detector over a source: one JSON line per frame."""
    from edge.jobs import run_detect

    summary = run_detect(
        source,
        out,
        model=model,
        threads=threads,
        score=score,
        video=annotate,
        realtime=realtime,
        credit=credit,
        overwrite=overwrite,
    )
    _print_summary(summary)


@app.command()
def track(
    source: str | None = typer.Argument(None, help="source to replay (default: camera.source)"),
    config: Path = typer.Option(..., "--config", help="configuration file (YAML)"),
    out: Path = typer.Option(..., "--out", help="replay file to write (.jsonl)"),
    annotate: Path | None = typer.Option(None, help="also write an annotated video (.mp4)"),
    plot: Path | None = typer.Option(None, help="also plot distance over time (.png)"),
    model: str | None = typer.Option(None, help="model name (default: detector.model)"),
    threads: int | None = typer.Option(None, min=1, help="threads (default: detector.threads)"),
    realtime: bool = typer.Option(False, help="pace a file to its frame rate"),
    credit: str = typer.Option("", help="attribution line drawn on the video and plot"),
    overwrite: bool = typer.Option(False, help="replace output files that already exist"),
) -> None:
    """Track people and range them to the counter: one JSON line per frame."""
    from edge.config import load_config
    from edge.jobs import run_track

    summary = run_track(
        load_config(config),
        out,
        source=source,
        model=model,
        threads=threads,
        video=annotate,
        plot=plot,
        realtime=realtime,
        credit=credit,
        overwrite=overwrite,
    )
    _print_summary(summary)
    if plot is not None:
        console.print(f"plot {plot}")


@app.command()
def demo(
    out: Path = typer.Option(Path("out/demo"), help="folder for the demo's files"),
) -> None:
    """Run the detector, tracker and ranging on real footage (GREETCUE_FOOTAGE)."""
    from edge.demo import run_demo

    summary = run_demo(out)
    console.print(
        summary.read_text(encoding="utf-8"), markup=False, highlight=False, soft_wrap=True
    )
    console.print(f"[bold]demo written to {out}/[/bold] (open summary.md, the .mp4 and .png files)")


@config_app.command("check")
def config_check(path: Path = typer.Argument(help="configuration file (YAML)")) -> None:
    """Validate a configuration file; print what it sets up."""
    from edge.config import load_config

    config = load_config(path)
    zones = ", ".join(f"{z.name} ({z.radius_ft:g} ft)" for z in config.zones)
    calibration = config.calibration
    how = "none (no distances)"
    if calibration is not None and calibration.floor_points is not None:
        how = f"{len(calibration.floor_points)} floor points"
    elif calibration is not None and calibration.aruco is not None:
        how = f"ArUco marker {calibration.aruco.id} ({calibration.aruco.dictionary})"
    console.print(f"{path}: valid")
    console.print(f"  site {config.site}, camera {config.camera.name} <- {config.camera.source}")
    console.print(f"  calibration: {how}; counter at {config.counter.position_ft} ft")
    console.print(f"  zones: {zones}; detector {config.detector.model}")


@config_app.command("reference")
def config_reference(
    out: Path | None = typer.Option(None, help="write to this file instead of printing"),
) -> None:
    """Every configuration key with its type, default and meaning (Markdown)."""
    from edge.config_reference import reference_markdown

    text = reference_markdown()
    if out is None:
        console.print(text, markup=False, highlight=False, soft_wrap=True)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {out}")


def _print_summary(summary: ReplaySummary) -> None:
    console.print(
        f"{summary.frames} frames in {summary.seconds:.1f} s -> {summary.out}"
        + (f", video {summary.video}" if summary.video else "")
    )


@bench_app.callback(invoke_without_command=True)
def bench(
    ctx: typer.Context,
    model: str | None = typer.Option(None, help="model name (default: yolox-nano)"),
    threads: int = typer.Option(1, min=1, help="ONNX Runtime threads"),
    source: Path | None = typer.Option(
        None, help="clip to run on (default: PETS vtest_part0.avi under GREETCUE_FOOTAGE)"
    ),
    runs: int = typer.Option(250, min=100, help="timed runs of each kind"),
) -> None:
    """Bare ONNX inference against the full per-frame detect step, in one run."""
    if ctx.invoked_subcommand is not None:
        return
    import onnxruntime

    from edge.bench import bench_detector
    from edge.detectors import create_detector
    from edge.footage import PETS_DIR, PETS_PARTS, footage_path

    clip = source or footage_path(f"{PETS_DIR}/{PETS_PARTS[0]}")
    detector = create_detector(model, threads=threads)
    with console.status(f"timing {detector.spec.name} on {clip.name} ({runs} runs each)"):
        result = bench_detector(detector, clip, runs=runs)
    w, h = result.frame_size
    table = Table(
        title=f"{detector.spec.name}, {threads} thread(s), {clip.name} {w}x{h}, "
        f"onnxruntime {onnxruntime.__version__}"
    )
    for column in ("measured", "p50 ms", "p99 ms", "mean ms"):
        table.add_column(column, justify="left" if column == "measured" else "right")
    rows = [("bare inference", result.bare), ("full detect step", result.full)]
    rows += [(f"  {name}", timing) for name, timing in result.stages.items()]
    for name, timing in rows:
        table.add_row(name, f"{timing.p50:.2f}", f"{timing.p99:.2f}", f"{timing.mean:.2f}")
    console.print(table)
    console.print(
        f"full / bare (p50): [bold]{result.ratio:.3f}[/bold]   "
        f"full step: [bold]{result.fps:.1f} fps[/bold] on one stream"
    )


@bench_app.command("track")
def bench_track(
    footage: Path | None = typer.Option(
        None, "--footage", help="footage folder (default: GREETCUE_FOOTAGE)"
    ),
    model: str | None = typer.Option(None, help="model name (default: yolox-nano)"),
    threads: int = typer.Option(1, min=1, help="ONNX Runtime threads"),
    score: float = typer.Option(
        0.1, min=0.01, max=0.9, help="detector score floor (the low-score stage needs weak boxes)"
    ),
    rounds: int = typer.Option(3, min=1, help="timed rounds of each tracker"),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="take the tracker settings from this YAML configuration"
    ),
) -> None:
    """Our tracker against roboflow trackers' ByteTrack on PETS S2L1 parts 0-1, same detections."""
    from edge.config import load_config
    from edge.detectors import create_detector
    from edge.footage import PETS_DIR, footage_path
    from edge.tracking_eval import (
        compare_trackers,
        frame_rate,
        ours,
        peer_version,
        peers_like,
        pets_frames,
    )

    footage = footage if footage is not None else footage_path(PETS_DIR).parent
    tracker_config = load_config(config).tracker
    detector = create_detector(model, threads=threads, score=score)
    with console.status(f"detecting people in PETS S2L1 with {detector.spec.name}"):
        sequences = pets_frames(footage, detector.detect)
    contenders = [ours(tracker_config), *peers_like(tracker_config, frame_rate(sequences))]
    with console.status(f"tracking ({rounds} timed rounds after a warm-up)"):
        results = compare_trackers(sequences, contenders, rounds=rounds)
    frames = sum(len(s) for s in sequences)
    table = Table(
        title=f"PETS S2L1 parts 0-1 ({frames} frames), {detector.spec.name} at score >= {score}"
    )
    columns = ("tracker", "MOTA", "IDF1", "ID sw", "FP", "FN", "ms mean", "ms p99", "ours/this")
    for column in columns:
        table.add_column(column, justify="left" if column == "tracker" else "right")
    for r in results:
        s = r.score
        table.add_row(
            r.name,
            f"{s.mota:.3f}",
            f"{s.idf1:.3f}",
            str(s.id_switches),
            str(s.false_positives),
            str(s.misses),
            f"{r.ms_mean:.3f}",
            f"{r.ms_p99:.3f}",
            f"{r.cost_ratio:.2f}",
        )
    console.print(table)
    console.print(
        f"ByteTrack: {peer_version()} ByteTrackTracker, fed the same detections. ms: the "
        "tracker's update call alone, per frame; ours/this: our mean ms over the row's.",
        highlight=False,
    )


@eval_app.command("detect")
def eval_detect(
    files: list[Path] = typer.Argument(help="detection replay files (.jsonl)"),
    truth: Path = typer.Option(..., "--truth", help="ground truth (PETS/CVML XML)"),
    offset: list[int] = typer.Option(
        [], help="truth frame number of each file's frame 0, one per file (PETS part k: 250*k)"
    ),
    iou: float = typer.Option(0.5, min=0.05, max=0.95, help="IoU that makes a match"),
    score: list[float] = typer.Option([], help="score thresholds to report (default: all)"),
) -> None:
    """Recall and precision of detection replays against ground truth, frame by frame."""
    from edge.detection_eval import read_detections_jsonl, score_frames
    from edge.groundtruth import load_pets_xml

    if offset and len(offset) != len(files):
        raise typer.BadParameter(f"give one --offset per file ({len(files)}), or none")
    offsets = offset or [0] * len(files)
    if len(files) > 1 and not offset:
        raise typer.BadParameter("several files: give each one's --offset into the truth")
    gt = load_pets_xml(truth)
    runs = [(f, o, read_detections_jsonl(f)) for f, o in zip(files, offsets, strict=True)]
    table = Table(title=f"detection vs {truth.name} at IoU {iou}")
    for column in ("file", "min score", "frames", "truth", "detections", "recall", "precision"):
        table.add_column(column, justify="left" if column == "file" else "right")
    for threshold in score or [0.0]:
        total = None
        for path, off, dets in runs:
            shifted = {frame + off: d for frame, d in dets.items()}
            s = score_frames(shifted, gt, sorted(shifted), iou=iou, min_score=threshold)
            total = s if total is None else total + s
            table.add_row(path.name, f"{threshold:.2f}", *_score_cells(s))
        if total is not None and len(runs) > 1:
            table.add_row("[bold]all", f"{threshold:.2f}", *_score_cells(total))
    console.print(table)


def _score_cells(s: DetectionScore) -> list[str]:
    return [
        str(s.frames),
        str(s.truths),
        str(s.detections),
        f"{s.recall:.3f}",
        f"{s.precision:.3f}",
    ]


_CACHE_OPTION = typer.Option(None, "--cache", help="model cache folder (default: user cache)")


@models_app.command("pull")
def models_pull(
    name: str | None = typer.Argument(None, help="model name (default: every model)"),
    cache: Path | None = _CACHE_OPTION,
) -> None:
    """Fetch weights (from GREETCUE_MODEL_MIRROR when set, else upstream), sha256 checked."""
    from edge.modelstore import pull

    for path in pull(name, cache=cache):
        console.print(f"ok {path}", highlight=False)


@models_app.command("list")
def models_list(cache: Path | None = _CACHE_OPTION) -> None:
    """Every model in the manifest and whether the cache holds intact weights for it."""
    from edge.modelstore import cache_dir, status

    table = Table(title=f"models in {cache_dir(cache)}")
    for column in ("model", "default", "state", "size", "path"):
        table.add_column(column, justify="right" if column == "size" else "left", overflow="fold")
    colour = {"present": "green", "missing": "yellow", "corrupt": "red"}
    for row in status(cache):
        table.add_row(
            row.name,
            "*" if row.default else "",
            f"[{colour[row.state]}]{row.state}",
            "" if row.size is None else f"{row.size:,}",
            str(row.path),
        )
    console.print(table)


@app.command()
def calibrate(
    config: Path = typer.Option(..., "--config", "-c", help="greetcue YAML configuration"),
    image: Path = typer.Option(..., "--image", help="snapshot from this camera (image or video)"),
    out: Path | None = typer.Option(
        None, "--out", help="write the solved camera (YAML) for calibration.camera_file"
    ),
    rings: Path | None = typer.Option(None, "--rings", help="write the check picture (PNG)"),
    ring_ft: list[float] = typer.Option(
        [], "--ring-ft", help="ring radius to draw, feet (repeatable; default: the zones)"
    ),
    overwrite: bool = typer.Option(False, help="replace output files that already exist"),
) -> None:
    """Solve the camera from floor points or an ArUco marker; print residuals, draw rings."""
    import cv2

    from edge import calibration
    from edge.config import load_config
    from edge.outputs import OutputError, check_outputs
    from edge.rings import draw_check

    check_outputs(out, rings, overwrite=overwrite)
    cfg = load_config(config)
    snapshot = calibration.read_snapshot(image)
    result = calibration.calibrate(cfg, snapshot)
    console.print(calibration.report(result), highlight=False)
    for warning in calibration.check(result, cfg):
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    if out is not None:
        calibration.save_camera(out, result)
        console.print(f"camera written to {out}", highlight=False)
    if rings is not None:
        named = [(f"{r:g} ft", r) for r in ring_ft] or [(z.name, z.radius_ft) for z in cfg.zones]
        picture, unseen = draw_check(snapshot, result, cfg.counter.position_ft, named)
        if not cv2.imwrite(str(rings), picture):
            raise OutputError(f"cannot write {rings}; use a .png path in a writable folder")
        console.print(f"check picture written to {rings}", highlight=False)
        for name in unseen:
            console.print(f"[yellow]warning:[/yellow] ring {name} is not in view", highlight=False)


def run() -> None:
    """Console entry point: known errors become one clear line and exit code 2."""
    try:
        app()
    except (ValueError, RuntimeError, OSError) as exc:
        if log.isEnabledFor(logging.DEBUG):
            raise
        console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
