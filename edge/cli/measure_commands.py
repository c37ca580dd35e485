"""Commands that measure: detector and tracker benchmarks, detection scores against truth."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from edge.cli.apps import bench_app, console, eval_app, log, new_table

if TYPE_CHECKING:
    from edge.tools.bench.service import ServiceBench
    from edge.tools.evaluation.detection import DetectionScore


@bench_app.callback(invoke_without_command=True)
def bench(
    ctx: typer.Context,
    model: str | None = typer.Option(None, help="model name (default: yolox-nano)"),
    threads: int = typer.Option(1, min=1, help="ONNX Runtime threads"),
    source: Path | None = typer.Option(
        None, help="clip to run on (default: PETS vtest_part0.avi under GREETCUE_FOOTAGE)"
    ),
    runs: int = typer.Option(250, min=100, help="timed runs of each kind"),
    config: Path | None = typer.Option(
        None,
        "--config",
        "-c",
        help="configuration whose tile plan the pipeline row uses, calibrated for the clip's "
        "frame size (default: deploy/examples/pets-kiosk.yaml)",
    ),
) -> None:
    """Bare ONNX inference against the full per-frame detect step and the pipeline's detector
    (every tile of the configured plan and the merge), in one run."""
    if ctx.invoked_subcommand is not None:
        return
    import onnxruntime

    from edge.config import load_config
    from edge.perception.detectors import create_detector
    from edge.perception.tiling import tiled_detector
    from edge.tools.bench.detector import bench_detector
    from edge.tools.demo.replays import EXAMPLES
    from edge.tools.demo.service import KIOSK
    from edge.tools.footage.location import PETS_DIR, PETS_PARTS, footage_path

    clip = source or footage_path(f"{PETS_DIR}/{PETS_PARTS[0]}")
    detector = create_detector(model, threads=threads)
    pipeline = tiled_detector(load_config(config or EXAMPLES / KIOSK), detector)
    with console().status(f"timing {detector.spec.name} on {clip.name} ({runs} runs each)"):
        result = bench_detector(detector, clip, runs=runs, pipeline=pipeline)
    w, h = result.frame_size
    table = new_table(
        title=f"{detector.spec.name}, {threads} thread(s), {clip.name} {w}x{h}, "
        f"onnxruntime {onnxruntime.__version__}"
    )
    for column in ("measured", "p50 ms", "p99 ms", "mean ms"):
        table.add_column(column, justify="left" if column == "measured" else "right")
    rows = [("bare inference", result.bare), ("full detect step", result.full)]
    rows += [(f"  {name}", timing) for name, timing in result.stages.items()]
    plan = pipeline.plan(result.frame_size)
    if result.pipeline is not None:
        rows.append((f"pipeline: {len(plan.tiles)} tile(s) + merge", result.pipeline))
    for name, timing in rows:
        table.add_row(name, f"{timing.p50:.2f}", f"{timing.p99:.2f}", f"{timing.mean:.2f}")
    console().print(table)
    console().print(
        f"full / bare (p50): [bold]{result.ratio:.3f}[/bold]   "
        f"full step: [bold]{result.fps:.1f} fps[/bold] on one stream"
    )
    scales = ", ".join(f"{t.w}x{t.h} x{t.scale:.2f}" for t in plan.tiles)
    console().print(
        f"pipeline / bare (p50): [bold]{result.pipeline_ratio:.3f}[/bold]   tiles: {scales}"
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
    import time

    import numpy as np

    from edge.config import load_config
    from edge.perception.detections import Detections
    from edge.perception.detectors import create_detector
    from edge.perception.tracking.appearance import F32
    from edge.tools.evaluation.tracking import (
        compare_trackers,
        frame_rate,
        ours,
        peer_version,
        peers_like,
        pets_frames,
        strong_looks,
    )
    from edge.tools.footage.location import PETS_DIR, footage_path

    footage = footage if footage is not None else footage_path(PETS_DIR).parent
    tracker_config = load_config(config).tracker
    detector = create_detector(model, threads=threads, score=score)
    with console().status(f"detecting people in PETS S2L1 with {detector.spec.name}"):
        describe, describe_s = strong_looks(tracker_config.high_score), []

        def timed(image: np.ndarray, found: Detections) -> F32:
            start = time.perf_counter()
            looks = describe(image, found)
            describe_s.append(time.perf_counter() - start)
            return looks

        sequences = pets_frames(footage, detector.detect, timed)
    contenders = [ours(tracker_config), *peers_like(tracker_config, frame_rate(sequences))]
    with console().status(f"tracking ({rounds} timed rounds after a warm-up)"):
        results = compare_trackers(sequences, contenders, rounds=rounds)
    frames = sum(len(s) for s in sequences)
    table = new_table(
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
    console().print(table)
    console().print(
        f"ByteTrack: {peer_version()} ByteTrackTracker, fed the same detections. ms: the "
        "tracker's update call alone, per frame; ours/this: our mean ms over the row's. "
        f"Ours also takes the strong boxes' appearance (re-link after an occlusion): "
        f"{1000 * float(np.mean(describe_s)):.3f} ms a frame more, not in its ms.",
        highlight=False,
    )


@bench_app.command("service")
def bench_service_command(
    model: str | None = typer.Option(None, help="model name (default: the configuration's)"),
    threads: int = typer.Option(1, min=1, help="ONNX Runtime threads"),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="configuration (default: deploy/examples/pets-kiosk.yaml)"
    ),
    frames: int | None = typer.Option(None, min=1, help="play at most this many frames a part"),
    seconds: float | None = typer.Option(None, min=1, help="play at most this long a part"),
    out: Path | None = typer.Option(None, "--out", help="also write the figures as JSON"),
    source: Path | None = typer.Option(
        None, help="play this clip instead of PETS parts 0-1 (calibrate --config for its size)"
    ),
) -> None:
    """The edge service on PETS against bare inference, in one run: capture -> event latency
    through Mosquitto, loop rate, CPU and memory of `greetcue run`; targets met or missed."""
    import json

    from rich.progress import Progress

    from edge.tools.bench.service import Limits, bench_service
    from edge.tools.demo.replays import EXAMPLES
    from edge.tools.demo.service import KIOSK
    from edge.tools.footage.location import PETS_DIR, PETS_PARTS, footage_path

    clips = [source] if source else [footage_path(f"{PETS_DIR}/{part}") for part in PETS_PARTS]
    with Progress(console=console(), transient=True) as progress:
        report = bench_service(
            config or EXAMPLES / KIOSK, clips, Limits(frames, seconds), progress, model, threads
        )
    _render_service(report)
    if out is not None:
        out.write_text(json.dumps(report.as_json(), indent=2) + "\n")
        console().print(f"figures written to {out}")


def _render_service(report: ServiceBench) -> None:
    """The figures as a table, then each target met or missed."""
    table = new_table(
        title=f"greetcue service: {report.model}, {report.threads} thread(s), "
        f"{' + '.join(report.clips)}"
    )
    for column in ("measured", "value", "note"):
        table.add_column(column, justify="right" if column == "value" else "left")
    stages = ", ".join(f"{name} {ms:.1f}" for name, ms in report.stage_ms.items())
    cpu = f"{report.cpu_percent_mean:.0f} / {report.cpu_percent_max:.0f}"
    run = f"{report.footprint_s:.0f} s"
    rows = [
        ("bare inference p50", f"{report.bare_p50_ms:.1f} ms", f"{report.bare_runs} runs"),
        (
            "bare inference rate",
            f"{report.bare_fps:.1f} fps",
            f"1000 / (p50 x {report.tiles} tile(s))",
        ),
        ("capture -> event p50", f"{report.latency_p50_ms:.1f} ms", f"{report.events} events"),
        ("capture -> event p99", f"{report.latency_p99_ms:.1f} ms", "paced at 10 fps"),
        ("loop rate, unpaced", f"{report.loop_fps:.1f} fps", f"{report.loop_frames} frames"),
        ("loop / bare rate", f"{report.rate_ratio:.3f}", f"stage ms: {stages}"),
        ("CPU, mean / max", f"{cpu} %", "of one core"),
        ("peak resident memory", f"{report.rss_peak_mb:.0f} MB", f"greetcue run, {run}"),
    ]
    for row in rows:
        table.add_row(*row)
    console().print(table)
    for target in report.checks():
        sign = "<=" if target.at_most else ">="
        verdict = "[green]met[/green]" if target.met else "[red]MISSED[/red]"
        line = f"{target.name} {target.value:.2f} {target.unit} (target {sign} "
        line += f"{target.limit:.2f} {target.unit})"
        console().print(f"{verdict}: {line}", highlight=False)
        if not target.met:
            log.warning("bench service: target missed: %s: %s", line, target.hint)


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
    from edge.tools.evaluation.detection import read_detections_jsonl, score_frames
    from edge.tools.evaluation.groundtruth import load_pets_xml

    if offset and len(offset) != len(files):
        raise typer.BadParameter(f"give one --offset per file ({len(files)}), or none")
    offsets = offset or [0] * len(files)
    if len(files) > 1 and not offset:
        raise typer.BadParameter("several files: give each one's --offset into the truth")
    gt = load_pets_xml(truth)
    runs = [(f, o, read_detections_jsonl(f)) for f, o in zip(files, offsets, strict=True)]
    table = new_table(title=f"detection vs {truth.name} at IoU {iou}")
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
    console().print(table)


def _score_cells(s: DetectionScore) -> list[str]:
    return [
        str(s.frames),
        str(s.truths),
        str(s.detections),
        f"{s.recall:.3f}",
        f"{s.precision:.3f}",
    ]


@bench_app.command("memory")
def bench_memory_command(
    threads: int = typer.Option(1, min=1, help="ONNX Runtime threads"),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="configuration (default: deploy/examples/pets-kiosk.yaml)"
    ),
    part: int = typer.Option(0, min=0, max=1, help="which PETS part to play"),
    metrics: bool = typer.Option(
        True, help="greetcue run serves Prometheus /metrics, as by default (--no-metrics: off)"
    ),
) -> None:
    """Peak RSS of `greetcue run` at 10 fps on a PETS clip against a bare ONNX Runtime loop at
    the same rate on the same frames, in one run; exit code 1 above 1.3x. The ratio is highest
    with a cold page cache, as after a boot (as root: `sync; echo 3 >
    /proc/sys/vm/drop_caches` first)."""
    from edge.tools.bench.memory import TARGET_RATIO, bench_memory
    from edge.tools.demo.replays import EXAMPLES
    from edge.tools.demo.service import KIOSK
    from edge.tools.footage.location import PETS_DIR, PETS_PARTS, footage_path

    clip = footage_path(f"{PETS_DIR}/{PETS_PARTS[part]}")
    with console().status(f"greetcue run, then the bare loop, on {clip.name} (twice its length)"):
        report = bench_memory(config or EXAMPLES / KIOSK, clip, threads, metrics)
    endpoint = "with" if metrics else "without"
    console().print(
        f"peak RSS on {report.clip} at {report.fps:g} fps ({report.model}, {threads} thread(s)): "
        f"greetcue run ({endpoint} /metrics) {report.service_peak_mb:.0f} MiB, bare ONNX Runtime "
        f"loop {report.bare_peak_mb:.0f} MiB, ratio {report.ratio:.2f}x "
        f"(target <= {TARGET_RATIO}x: {'met' if report.met else 'MISSED'})",
        highlight=False,
    )
    if not report.met:
        raise typer.Exit(1)


@bench_app.command("logins")
def bench_logins_command(
    tries: int = typer.Option(80, min=1, max=1000, help="concurrent login tries in the burst"),
    probes: int = typer.Option(50, min=2, help="idle /api/overview requests timed first"),
) -> None:
    """/api/overview latency while a burst of login tries runs (each from its own loopback
    address, so each reaches argon2), against idle in the same run."""
    from edge.cli.bench_logins import bench_logins

    with console().status(f"{probes} idle overview requests, then {tries} concurrent logins"):
        run = bench_logins(tries, probes)
    table = new_table(title=f"/api/overview latency, idle and during {tries} login tries")
    for column in ("phase", "requests", "p50 ms", "p95 ms", "max ms"):
        table.add_column(column, justify="left" if column == "phase" else "right")
    for phase, timing in (("idle", run.idle), ("login burst", run.burst)):
        table.add_row(
            phase,
            str(len(timing.ms)),
            f"{timing.p50:.1f}",
            f"{timing.p95:.1f}",
            f"{timing.worst:.1f}",
        )
    console().print(table)
    answered = ", ".join(f"{n} x {status}" for status, n in sorted(run.answers.items()))
    console().print(
        f"burst {run.burst_s:.2f} s, answers: {answered}; "
        f"p95 during the burst / idle: [bold]{run.ratio:.2f}[/bold]"
    )


@bench_app.command("delivery")
def bench_delivery_command(
    cues: int = typer.Option(20, min=2, max=1000, help="cues sent one after the other"),
) -> None:
    """How long a cue takes to reach staff: published as the edge does -> shown on a staff page
    in Chromium, and -> accepted by a (local stand-in) push service; p50 and p99."""
    from edge.cli.bench_delivery import ChromiumMissingError, bench_delivery

    try:
        with console().status(f"{cues} cues through broker, dashboard, staff page and push"):
            report = bench_delivery(cues)
    except ChromiumMissingError as exc:
        console().print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    for line in report.lines():
        console().print(line, highlight=False)


@bench_app.command("dashboard")
def bench_dashboard_command(
    events: int = typer.Option(50_000, min=1000, help="events to ingest per database"),
    store_events: int = typer.Option(
        1_000_000, min=10_000, help="events in the store the queries run over"
    ),
    sites: int = typer.Option(50, min=1, help="sites in that store"),
    days: int = typer.Option(90, min=1, help="days in that store"),
    rounds: int = typer.Option(20, min=2, help="timed runs of each query"),
    postgres: str | None = typer.Option(
        None,
        "--postgres",
        help="PostgreSQL URL to ingest into (default: a private server "
        "made with initdb for the run; 'none' to skip)",
    ),
    only: str | None = typer.Option(
        None, "--only", help="'ingest' or 'queries': run that part alone (default: both)"
    ),
) -> None:
    """The dashboard: MQTT ingest rate into SQLite and PostgreSQL, and the Acknowledgement
    page's query times over a large store; targets met or missed."""
    if only not in (None, "ingest", "queries"):
        raise typer.BadParameter("--only takes 'ingest' or 'queries'")
    import contextlib
    import tempfile
    from functools import partial

    from rich.progress import Progress

    from dashboard.gc_tuning import tune_gc
    from edge.cli import bench_dashboard as bench
    from edge.cli import bench_ingest
    from edge.tools.bench.postgres_server import PostgresServer

    with Progress(console=console(), transient=True) as progress, contextlib.ExitStack() as stack:
        queries: list[bench.QueryFigure] = []
        pdf: bench.QueryFigure | None = None
        figures: list[bench_ingest.IngestFigure] = []
        # Queries first: after the ingest runs, PostgreSQL's autovacuum would share the CPU.
        if only != "ingest":
            store = bench.query_store(store_events, sites, days, progress)
            queries = bench.query_latency(store, rounds, progress)
            pdf = bench.report_pdf_latency(store, max(2, rounds // 4), progress)
        else:
            tune_gc()  # as the queries' part and `greetcue dashboard` do
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="greetcue-")))
        postgresql: Callable[[str], str] | None = None
        if only != "queries":
            if postgres is None:
                postgresql = stack.enter_context(PostgresServer.temporary()).fresh_database
            elif postgres != "none":
                postgresql = partial(_same, postgres)
            figures = bench_ingest.ingest_figures(
                lambda name: f"sqlite:///{folder / name}.sqlite3", postgresql, events, progress
            )
    table = new_table(title="greetcue dashboard bench")
    for column in ("measured", "value", "note"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for figure in figures:
        table.add_row(
            figure.name,
            f"{figure.rate:,.0f} events/s",
            f"{figure.events:,} events in {figure.seconds:.1f} s",
        )
    for query in queries:
        table.add_row(
            query.name,
            f"p95 {query.p95_ms:.0f} ms",
            f"p50 {query.p50_ms:.0f} ms, {query.customers:,} customers",
        )
    if pdf is not None:
        note = f"p50 {pdf.p50_ms:.0f} ms, {pdf.customers:,} customers; no target"
        table.add_row(pdf.name, f"p95 {pdf.p95_ms:.0f} ms", note)
    console().print(table)
    met = bench_ingest.targets(figures)
    if queries:
        default = queries[0]
        met.append(
            (
                f"Acknowledgement page p95 ({default.name})",
                f"{default.p95_ms:.0f} ms",
                f"<= {bench.QUERY_TARGET_MS:.0f} ms",
                default.p95_ms <= bench.QUERY_TARGET_MS,
            )
        )
    for name, value, limit, ok in met:
        mark = "[green]met[/green]" if ok else "[red]missed[/red]"
        console().print(
            f"{mark}: {name} {value} (target {limit}; ratio to the target "
            f"{_ratio(value, limit):.2f})"
        )
    for line in bench_ingest.scaling(figures):
        console().print(line)
    slow = [q.name for q in queries if q.p95_ms > bench.QUERY_TARGET_MS]
    if slow:
        console().print(f"over {bench.QUERY_TARGET_MS:.0f} ms p95: {', '.join(slow)}")


def _same(url: str, _name: str) -> str:
    """The one PostgreSQL database given for every run of the bench."""
    return url


def _ratio(value: str, limit: str) -> float:
    """Measured / target from the printed figures."""
    number = float(value.split()[0].replace(",", ""))
    target = float(limit.split()[1].replace(",", ""))
    return number / target


@bench_app.command("chain")
def bench_chain_command(
    stores: int = typer.Option(1000, min=1, help="stores in the synthetic chain"),
    days: int = typer.Option(365, min=7, help="days of rollups"),
    rounds: int = typer.Option(10, min=2, help="timed runs of each report"),
) -> None:
    """The Acknowledgement report over a chain on PostgreSQL (a private server made with
    initdb): a year of hourly rollups of 1,000 stores (180 million customers), their running
    totals by day and two days of raw cues; p50 and p95 of the default view, 90 days and one
    year over every store; exit code 1 above 200 ms."""
    import time

    from rich.progress import Progress

    from dashboard.store.database import open_engine, upgrade
    from edge.cli import bench_chain as bench
    from edge.cli.bench_dashboard import build_totals
    from edge.tools.bench.postgres_server import PostgresServer

    end = time.time() // bench.DAY_S * bench.DAY_S
    with Progress(console=console(), transient=True) as progress, PostgresServer.temporary() as pg:
        engine = open_engine(pg.fresh_database("chain"))
        upgrade(engine)
        hours = bench.load_chain(engine, stores, days, end, progress)
        built_s = build_totals(engine, days, progress)
        cues = bench.load_raw_cues(engine, stores, end, progress)
        figures = bench.chain_latency(engine, end, rounds, progress)
        engine.dispose()
    table = new_table(
        title=f"chain of {stores:,} stores: {hours:,} rollup hours, {cues:,} raw cues; "
        f"running totals built in {built_s:,.0f} s"
    )
    for column in ("report", "p95", "p50", "customers", "target"):
        table.add_column(column, justify="left" if column == "report" else "right")
    for figure in figures:
        met = "met" if figure.p95_ms <= bench.TARGET_MS else "missed"
        if figure.refused:
            table.add_row(figure.name, "refused", "-", "-", f"missed: {figure.refused}")
            continue
        table.add_row(
            figure.name,
            f"{figure.p95_ms:,.0f} ms",
            f"{figure.p50_ms:,.0f} ms",
            f"{figure.customers:,}",
            f"<= {bench.TARGET_MS:.0f} ms: {met}",
        )
    console().print(table)
    if any(f.refused or f.p95_ms > bench.TARGET_MS for f in figures):
        raise typer.Exit(1)
