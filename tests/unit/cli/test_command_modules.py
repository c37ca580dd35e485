"""The console script loads only the module of the command it is given: the table that says
which module registers each command matches the registrations, and ``greetcue run`` loads
none of the tools' commands."""

from __future__ import annotations

import subprocess
import sys

from typer.main import get_command_name

from edge.cli import COMMAND_MODULES, EVERY_MODULE, load
from edge.cli.extras import GROUPS


def test_the_table_names_the_modules_that_register_each_command_and_group() -> None:
    app = load(())
    registered: dict[str, set[str]] = {}
    for command in app.registered_commands:
        assert command.callback is not None
        name = command.name or get_command_name(command.callback.__name__)
        registered.setdefault(name, set()).add(command.callback.__module__)
    for group in app.registered_groups:
        assert group.name is not None and group.typer_instance is not None
        callbacks = [c.callback for c in group.typer_instance.registered_commands]
        registered[group.name] = {c.__module__ for c in callbacks if c is not None}
    table = {name: {f"edge.cli.{m}" for m in modules} for name, modules in COMMAND_MODULES.items()}
    assert registered == {name: modules for name, modules in table.items() if modules}
    assert {name for name, modules in COMMAND_MODULES.items() if not modules} == set(GROUPS)


def loaded_command_modules(*args: str) -> set[str]:
    code = (
        "import sys; from edge.cli import load; load(sys.argv[1:]); "
        "print(' '.join(m for m in sys.modules if m.startswith('edge.cli.')))"
    )
    out = subprocess.check_output([sys.executable, "-c", code, *args], text=True)
    return {name.removeprefix("edge.cli.") for name in out.split()} & set(EVERY_MODULE)


def test_run_loads_only_its_own_command_module_and_help_loads_them_all() -> None:
    assert loaded_command_modules("-v", "run", "--config", "x.yaml") == {"service_commands"}
    assert loaded_command_modules("bench", "memory") == {"cue_commands", "measure_commands"}
    assert loaded_command_modules("dashboard", "--help") == set()
    assert loaded_command_modules("--help") == set(EVERY_MODULE)
    assert loaded_command_modules("no-such-command") == set(EVERY_MODULE)


def test_the_console_script_runs_a_lazily_loaded_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "edge.cli", "run", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "The edge service" in done.stdout
