"""Commands of the running service and its contract: run, contract schemas."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from edge.cli.apps import app, console, contract_app
from edge.tools.contract_doc import SCHEMA_DIR as SCHEMA_DIR  # the folder the schemas go to


def schema_files() -> dict[str, str]:
    """File name -> text of every contract JSON Schema, as ``contract schemas`` writes them."""
    from edge.contract import schemas

    return {
        f"{name}.schema.json": json.dumps(schema, indent=2, sort_keys=True) + "\n"
        for name, schema in schemas().items()
    }


@contract_app.command("schemas")
def contract_schemas(
    out: Path = typer.Option(SCHEMA_DIR, "--out", help="folder for the .schema.json files"),
    check: bool = typer.Option(False, "--check", help="only say whether the files are stale"),
) -> None:
    """Write the JSON Schema of every MQTT payload (or check the files are up to date)."""
    files = schema_files()
    stale = [
        name
        for name, text in files.items()
        if not (out / name).is_file() or (out / name).read_text(encoding="utf-8") != text
    ]
    extra = sorted(p.name for p in out.glob("*.schema.json") if p.name not in files)
    if check:
        if stale or extra:
            raise RuntimeError(
                f"schemas in {out} are stale ({', '.join(stale + extra)}); "
                "run `greetcue contract schemas` and commit the result"
            )
        console().print(f"{len(files)} schemas in {out} are up to date")
        return
    out.mkdir(parents=True, exist_ok=True)
    for name in stale:
        (out / name).write_text(files[name], encoding="utf-8")
    for name in extra:
        (out / name).unlink()
    console().print(f"{len(files)} schemas in {out} ({len(stale)} written, {len(extra)} removed)")


@app.command("run")
def run_service(
    config: Path = typer.Option(..., "--config", "-c", help="greetcue YAML configuration"),
    source: str | None = typer.Option(
        None, "--source", "-s", help="camera or file (default: camera.source of the config)"
    ),
    realtime: bool = typer.Option(
        False, "--realtime", help="pace a file to its frame rate, as a camera would deliver it"
    ),
    fps: float | None = typer.Option(
        None, "--fps", min=0.1, help="a file's frame rate, overriding what it says"
    ),
) -> None:
    """The edge service: camera -> people -> zones -> cues and events on MQTT (until Ctrl-C,
    SIGTERM, or the end of a file once its events are delivered)."""
    from edge.config import load_config
    from edge.plumbing.allocator import pin_malloc
    from edge.service.service import Service

    pin_malloc()
    result = Service(load_config(config), source, realtime, fps=fps).run()
    # Plain echo, not the rich console: its import would be the run's last 3 MiB.
    typer.echo(
        f"{result.frames} frames, {result.events} events; "
        + ("outbox drained" if result.drained else f"{result.undelivered} events kept in outbox")
    )
    if not result.drained:
        raise typer.Exit(3)
