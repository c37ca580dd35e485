"""The ``greetcue`` command line: one entry point, one sub-command per job.

The command modules register their commands on the app when imported. The console script
imports only the module(s) of the command it was given (``greetcue run`` loads none of the
tools' commands: the edge box keeps that memory), or all of them for help and unknown words;
``edge.cli.app`` is the app with every command. The dashboard's groups are imported when
called (``edge.cli.extras``).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typer import Typer

# Each top-level command or group -> the modules of edge/cli that register it (the dashboard's
# groups are loaded by the app itself). tests/unit/cli/test_command_modules.py checks this.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "run": ("service_commands",),
    "contract": ("service_commands",),
    "detect": ("replay_commands",),
    "track": ("replay_commands",),
    "demo": ("replay_commands",),
    "eval": ("cue_commands", "measure_commands"),
    "bench": ("cue_commands", "measure_commands"),
    "calibrate": ("setup_commands",),
    "config": ("setup_commands",),
    "models": ("setup_commands",),
    "footage": ("setup_commands",),
    **dict.fromkeys(("dashboard", "users", "tokens", "staff"), ()),
}
EVERY_MODULE = tuple(sorted({m for modules in COMMAND_MODULES.values() for m in modules}))


def load(args: Sequence[str]) -> Typer:
    """The app with the commands that ``args`` (a command line) names registered: those of its
    first word, or every command when it names none (help, an unknown word)."""
    word = next((arg for arg in args if not arg.startswith("-")), None)
    for module in COMMAND_MODULES.get(word or "", EVERY_MODULE):
        importlib.import_module(f"edge.cli.{module}")
    from edge.cli import apps

    return apps.app


def run() -> None:
    """Console entry point (``greetcue``)."""
    from edge.cli import apps

    load(sys.argv[1:])
    apps.run()


def __getattr__(name: str) -> Typer:
    """``edge.cli.app``: the app with every command."""
    if name == "app":
        return load(())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["app", "load", "run"]
