"""The ``greetcue`` command line: one entry point, one sub-command per job."""

from __future__ import annotations

import logging

import typer

app = typer.Typer(
    name="greetcue",
    help="greetcue: see customers coming, cue staff at 10/5/3 ft.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging.")) -> None:
    """greetcue edge tools: models, detect, track, calibrate, eval, bench, demo."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
