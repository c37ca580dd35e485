"""The ``greetcue`` typer app and its command groups; the commands register on them from the
sibling ``*_commands`` modules, so each job's commands live together and the app stays small."""

from __future__ import annotations

import functools
import logging
import sys
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

from edge.cli.extras import LazyDashboardGroups, missing_extra

app = typer.Typer(
    name="greetcue",
    cls=LazyDashboardGroups,
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
footage_app = typer.Typer(help="Demo and test footage: fetch it into the cache, list the cache.")
app.add_typer(footage_app, name="footage", no_args_is_help=True)
contract_app = typer.Typer(help="The MQTT contract: JSON Schema files for integrators.")
app.add_typer(contract_app, name="contract", no_args_is_help=True)
log = logging.getLogger("greetcue")


@functools.cache
def console() -> Console:
    """The commands' rich console, made on first use: ``greetcue run`` prints nothing through it,
    and rich would cost every edge box 2 MiB of resident memory."""
    from rich.console import Console

    return Console()


def new_table(title: str) -> Table:
    """A rich table for a command's figures (rich is loaded only by the commands that print one)."""
    from rich.table import Table

    return Table(title=title)


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging.")) -> None:
    """greetcue edge tools: models, detect, track, calibrate, eval, bench, demo."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def run() -> None:
    """Console entry point: known errors, and a library of an extra that is not installed,
    become one clear line and exit code 2."""
    try:
        app()
    except (ValueError, RuntimeError, OSError, ModuleNotFoundError) as exc:
        said = missing_extra(exc) if isinstance(exc, ModuleNotFoundError) else str(exc)
        if said is None or log.isEnabledFor(logging.DEBUG):
            raise
        from rich.markup import escape

        console().print(f"[red]error:[/red] {escape(said)}", highlight=False, soft_wrap=True)
        sys.exit(2)
