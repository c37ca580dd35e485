"""Commands that run the pipeline over a source and write replays: detect, track, demo."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from edge.cli.apps import app, console

if TYPE_CHECKING:
    from edge.tools.replay.recording import ReplaySummary


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
    from edge.tools.replay.jobs import run_detect

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
    events: bool = typer.Option(
        False, help="also write the service events each frame caused (for `eval cues`)"
    ),
    at_fps: float | None = typer.Option(
        None, "--at-fps", min=0.1, help="play a faster file as a camera at this rate would"
    ),
) -> None:
    """Track people and range them to the counter: one JSON line per frame."""
    from edge.config import load_config
    from edge.tools.replay.jobs import run_track

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
        events=events,
        at_fps=at_fps,
    )
    _print_summary(summary)
    if plot is not None:
        console().print(f"plot {plot}")


@app.command()
def demo(
    out: Path = typer.Option(Path("out/demo"), help="folder for the demo's files"),
    realtime: bool = typer.Option(
        True, help="run the service part at the clip's own pace, as a camera would"
    ),
    live: bool = typer.Option(
        True,
        help="run the live stack (broker, dashboard, edge on a loop) until Ctrl-C; "
        "--no-live: only the replays, videos and summary",
    ),
    demo_staff: bool = typer.Option(
        True, help="a simulated staff member acknowledges cues (--no-demo-staff: you do)"
    ),
    port: int = typer.Option(8080, min=1, max=65535, help="the dashboard's port"),
    minutes: float | None = typer.Option(None, min=0.1, help="stop the live part after this"),
) -> None:
    """The live stack on real footage (dashboard, staff page, edge service on a loop) while
    the replays (detection, tracking, ranging videos and the summary) run beside it."""
    if not live:
        from edge.tools.demo.replays import run_demo

        summary = run_demo(out, realtime=realtime)
        _append_delivery(summary)
        console().print(
            summary.read_text(encoding="utf-8"), markup=False, highlight=False, soft_wrap=True
        )
        console().print(f"[bold]demo written to {out}/[/bold] (summary.md, .mp4 and .png files)")
        return
    import os
    import subprocess
    import sys

    from edge.cli.demo_live import LiveDemo
    from edge.tools.demo.replays import EXAMPLES

    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "edge.cli", "demo", "--no-live", "--out", str(out)]
    with (out / "replays.log").open("wb") as log:
        replays = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, preexec_fn=lambda: os.nice(10)
        )
    console().print(
        f"replays (videos, plots, summary.md) run beside the live demo into {out}/ "
        f"(log: {out / 'replays.log'})"
    )
    try:
        LiveDemo(out, EXAMPLES, port, demo_staff).run(console(), minutes)
    finally:
        if replays.poll() is None:
            console().print("stopping the replays (run `greetcue demo --no-live` for them alone)")
            replays.terminate()
        replays.wait()


def _append_delivery(summary: Path) -> None:
    """The demo summary's delivery figures, measured now (``greetcue bench delivery``)."""
    from edge.cli.bench_delivery import ChromiumMissingError, bench_delivery

    lines = ["## Delivery to staff (`greetcue bench delivery`)", ""]
    try:
        lines += [f"- {line}" for line in bench_delivery(cues=10).lines()]
    except ChromiumMissingError as exc:
        lines.append(f"- not measured: {exc}")
    lines += [
        "",
        "Published as the edge publishes a cue; shown: a staff page in headless Chromium; "
        "push: accepted by a local stand-in for the browser's push service.",
        "",
    ]
    text = summary.read_text(encoding="utf-8")
    credits = text.find("## Credits")
    at = credits if credits >= 0 else len(text)
    summary.write_text(text[:at] + "\n".join(lines) + "\n" + text[at:], encoding="utf-8")


def _print_summary(summary: ReplaySummary) -> None:
    console().print(
        f"{summary.frames} frames in {summary.seconds:.1f} s -> {summary.out}"
        + (f", video {summary.video}" if summary.video else "")
    )
