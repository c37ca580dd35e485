"""Commands that set a site up: fetch the models and the footage, solve the camera, check the
configuration."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from edge.cli.apps import app, config_app, console, footage_app, models_app, new_table

if TYPE_CHECKING:
    from edge.config import Config
    from edge.perception.detectors.tile_plan import TilePlan
    from edge.perception.geometry.camera import Camera

_CACHE_OPTION = typer.Option(None, "--cache", help="model cache folder (default: user cache)")
_FOOTAGE_CACHE_OPTION = typer.Option(
    None, "--cache", help="footage cache folder (default: GREETCUE_FOOTAGE_CACHE, else user cache)"
)
_MANIFEST_OPTION = typer.Option(
    None, "--manifest", help="footage manifest YAML (default: the one shipped with greetcue)"
)
_STATE_COLOUR = {"present": "green", "missing": "yellow", "corrupt": "red"}


@models_app.command("pull")
def models_pull(
    name: str | None = typer.Argument(None, help="model name (default: every model)"),
    cache: Path | None = _CACHE_OPTION,
) -> None:
    """Fetch weights (from GREETCUE_MODEL_MIRROR when set, else upstream), sha256 checked."""
    from edge.perception.detectors.modelstore import pull

    for path in pull(name, cache=cache):
        console().print(f"ok {path}", highlight=False)


@models_app.command("list")
def models_list(cache: Path | None = _CACHE_OPTION) -> None:
    """Every model in the manifest and whether the cache holds intact weights for it."""
    from edge.perception.detectors.modelstore import cache_dir, status

    table = new_table(title=f"models in {cache_dir(cache)}")
    for column in ("model", "default", "state", "size", "path"):
        table.add_column(column, justify="right" if column == "size" else "left", overflow="fold")
    for row in status(cache):
        table.add_row(
            row.name,
            "*" if row.default else "",
            f"[{_STATE_COLOUR[row.state]}]{row.state}",
            "" if row.size is None else f"{row.size:,}",
            str(row.path),
        )
    console().print(table)


def _footage_env_note() -> None:
    from edge.tools.footage.location import ENV

    if os.environ.get(ENV):
        console().print(
            f"[yellow]note:[/yellow] {ENV}={os.environ[ENV]} is set, so greetcue reads footage "
            f"from that folder, not from this cache; unset it to use the cache",
            highlight=False,
        )


@footage_app.command("pull")
def footage_pull(
    cache: Path | None = _FOOTAGE_CACHE_OPTION, manifest: Path | None = _MANIFEST_OPTION
) -> None:
    """Fetch the footage (the PETS parts cut losslessly), sha256 checked; intact files are kept."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn

    from edge.tools.footage.store import load_manifest, pull

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn())
    with Progress(*columns, console=console()) as progress:
        tasks: dict[str, TaskID] = {}

        def show(path: str, done: int, total: int) -> None:
            if path not in tasks:
                tasks[path] = progress.add_task(path, total=total)
            progress.update(tasks[path], completed=done)

        paths = pull(cache, load_manifest(manifest), show)
    for path in paths:
        console().print(f"ok {path}", highlight=False)
    _footage_env_note()


@footage_app.command("list")
def footage_list(
    cache: Path | None = _FOOTAGE_CACHE_OPTION, manifest: Path | None = _MANIFEST_OPTION
) -> None:
    """Every footage file in the manifest and whether the cache holds it intact."""
    from edge.tools.footage.location import cache_dir
    from edge.tools.footage.store import load_manifest, status

    table = new_table(title=f"footage in {cache_dir(cache)}")
    for column in ("file", "origin", "state", "size"):
        table.add_column(column, justify="right" if column == "size" else "left", overflow="fold")
    for row in status(cache, load_manifest(manifest)):
        table.add_row(
            row.path,
            "cut" if row.derived else "download",
            f"[{_STATE_COLOUR[row.state]}]{row.state}",
            "" if row.size is None else f"{row.size:,}",
        )
    console().print(table)
    _footage_env_note()


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

    from edge.config import load_config
    from edge.perception.geometry import calibration
    from edge.tools.replay.output_files import OutputError, check_outputs
    from edge.tools.replay.rings import draw_check, draw_plan

    check_outputs(out, rings, overwrite=overwrite)
    cfg = load_config(config)
    snapshot = calibration.read_snapshot(image)
    result = calibration.calibrate(cfg, snapshot)
    console().print(calibration.report(result), highlight=False)
    for warning in calibration.check(result, cfg):
        console().print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    if out is not None:
        calibration.save_camera(out, result)
        console().print(f"camera written to {out}", highlight=False)
    plan = _print_tile_plan(cfg, result.camera)
    if rings is not None:
        named = [(f"{r:g} ft", r) for r in ring_ft] or [(z.name, z.radius_ft) for z in cfg.zones]
        picture, unseen = draw_check(snapshot, result, cfg.counter.position_ft, named)
        picture = draw_plan(picture, plan)
        if not cv2.imwrite(str(rings), picture):
            raise OutputError(f"cannot write {rings}; use a .png path in a writable folder")
        console().print(f"check picture written to {rings}", highlight=False)
        for name in unseen:
            warning = f"[yellow]warning:[/yellow] ring {name} is not in view"
            console().print(warning, highlight=False)


def _print_tile_plan(config: Config, camera: Camera) -> TilePlan:
    """Print where the detector will look, with which tiles, and how large people are there."""
    from edge.perception.detectors.modelstore import load_manifest
    from edge.perception.detectors.tile_plan import TilePlan
    from edge.perception.geometry.person_region import pixels_per_foot
    from edge.perception.tiling import camera_plan

    _, _, height, width = load_manifest().get(config.detector.model).input.shape
    tiles = config.detector.tiles
    if tiles.mode == "off":
        plan = TilePlan.whole(camera.image_size, (width, height))
    else:
        plan = camera_plan(config, camera, (width, height))
    x, y, w, h = plan.region
    console().print(
        f"detector tiles ({config.detector.model} {width}x{height}, mode {tiles.mode}, "
        f"max_tiles {tiles.max_tiles}): region x {x} y {y} w {w} h {h}",
        highlight=False,
    )
    for index, t in enumerate(plan.tiles, 1):
        line = f"  tile {index}: x {t.x} y {t.y} w {t.w} h {t.h} scale {t.scale:.3f}"
        console().print(line, highlight=False)
    scale = min(t.scale for t in plan.tiles)
    for zone in sorted(config.zones, key=lambda z: -z.radius_ft):
        ppf = pixels_per_foot(
            camera, config.counter.position_ft, zone.radius_ft, tiles.person_height_ft
        )
        if ppf is None:
            console().print(f"  at {zone.radius_ft:g} ft: not in view", highlight=False)
            continue
        console().print(
            f"  at {zone.radius_ft:g} ft: {ppf[0]:.1f}-{ppf[1]:.1f} px per ft in the frame, "
            f"{ppf[0] * scale:.1f}-{ppf[1] * scale:.1f} in the detector's input",
            highlight=False,
        )
    return plan


@config_app.command("check")
def config_check(path: Path = typer.Argument(help="configuration file (YAML)")) -> None:
    """Validate a configuration file and check it holds what `greetcue run` needs (the checks
    run makes itself); print what it sets up. Exit code 1: valid, but run would refuse it."""
    from edge.config import load_config
    from edge.service.health import preflight

    config = load_config(path)
    zones = ", ".join(f"{z.name} ({z.radius_ft:g} ft)" for z in config.zones)
    calibration = config.calibration
    how = "none (no distances)"
    if calibration is not None and calibration.floor_points is not None:
        how = f"{len(calibration.floor_points)} floor points"
    elif calibration is not None and calibration.aruco is not None:
        how = f"ArUco marker {calibration.aruco.id} ({calibration.aruco.dictionary})"
    console().print(f"{path}: valid")
    console().print(f"  site {config.site}, camera {config.camera.name} <- {config.camera.source}")
    console().print(f"  calibration: {how}; counter at {config.counter.position_ft} ft")
    console().print(f"  zones: {zones}; detector {config.detector.model}")
    problems = preflight.problems(config, str(path))
    if problems:
        console().print("[red]not ready:[/red] `greetcue run` would refuse it:")
        for problem in problems:
            console().print(f"  - {problem}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    console().print("  ready for `greetcue run`")


@config_app.command("reference")
def config_reference(
    out: Path | None = typer.Option(None, help="write to this file instead of printing"),
) -> None:
    """Every configuration key with its type, default and meaning (Markdown)."""
    from edge.cli.config_reference import reference_markdown

    text = reference_markdown()
    if out is None:
        console().print(text, markup=False, highlight=False, soft_wrap=True)
    else:
        out.write_text(text, encoding="utf-8")
        console().print(f"wrote {out}")
