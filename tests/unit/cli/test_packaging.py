"""Packaging by role: the edge's command line loads none of the dashboard's libraries, and on
an edge-only install the dashboard's commands name the extra to install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge.cli import app, run
from edge.cli.extras import MissingExtraError, missing_extra

DASHBOARD_LIBRARIES = ("dashboard", "fastapi", "sqlalchemy", "alembic", "argon2", "uvicorn")


def test_the_edge_cli_loads_no_dashboard_library() -> None:
    code = "import sys; from edge.cli import app; print(' '.join(sorted(sys.modules)))"
    loaded = set(subprocess.check_output([sys.executable, "-c", code], text=True).split())
    assert loaded  # the check saw the modules
    assert not loaded & set(DASHBOARD_LIBRARIES)
    assert "matplotlib" not in loaded and "scipy" not in loaded


@pytest.mark.parametrize("group", ["dashboard", "users", "tokens", "staff"])
def test_without_the_dashboard_extra_each_group_names_it(
    group: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "dashboard.cli", None)  # as if sqlalchemy were missing
    result = CliRunner().invoke(app, [group, "list", "--config", "missing.yaml"])
    assert isinstance(result.exception, MissingExtraError)
    assert f"greetcue {group} needs the dashboard extra" in str(result.exception)
    assert "pip install 'greetcue[dashboard]'" in str(result.exception)


def test_with_the_extra_the_groups_are_the_dashboards() -> None:
    result = CliRunner().invoke(app, ["users", "--help"])
    assert result.exit_code == 0, result.output
    assert "Manager accounts of the dashboard." in result.output


def test_a_missing_library_of_an_extra_names_the_extra() -> None:
    said = missing_extra(
        ModuleNotFoundError("No module named 'matplotlib'", name="matplotlib.figure")
    )
    assert said == (
        "matplotlib.figure is not installed; it comes with the tools extra: "
        "pip install 'greetcue[tools]'"
    )
    assert missing_extra(ModuleNotFoundError("x", name="no_such_thing")) is None


def test_the_console_says_the_extra_in_full(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The brackets of greetcue[dashboard] are not taken for markup and dropped."""
    monkeypatch.setitem(sys.modules, "dashboard.cli", None)
    monkeypatch.setattr(sys, "argv", ["greetcue", "users", "list", "--config", str(tmp_path)])
    with pytest.raises(SystemExit) as exited:
        run()
    assert exited.value.code == 2
    assert "pip install 'greetcue[dashboard]'" in capsys.readouterr().out
