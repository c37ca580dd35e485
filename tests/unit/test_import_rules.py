"""The layout's import rules (README, "Layout") hold: the import-linter contracts in
pyproject.toml are kept, and they name every package of the edge."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from tests.support.paths import REPO

PYPROJECT = REPO / "pyproject.toml"


def rule(name: str) -> dict[str, list[str]]:
    """The import-linter contract named ``name``."""
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]
    found: dict[str, list[str]] = next(c for c in config["contracts"] if c["name"] == name)
    return found


def edge_packages() -> set[str]:
    """Every module and package right under ``edge``: a new one is held to the rules at once."""
    names = {p.stem for p in (REPO / "edge").iterdir() if p.suffix == ".py" or p.is_dir()}
    return {f"edge.{name}" for name in names - {"__init__", "__pycache__"}}


def test_every_import_contract_is_kept() -> None:
    """A broken contract names the import chain that breaks it. In a process of its own:
    import-linter's logging set-up would turn off every logger of this one."""
    code = (
        "import sys; from importlinter.cli import lint_imports; "
        f"sys.exit(lint_imports(config_filename={str(PYPROJECT)!r}, no_cache=True, no_logo=True))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_only_the_cli_may_import_the_dashboard() -> None:
    only_cli = rule("only edge.cli (the composition root) imports the dashboard")
    assert set(only_cli["source_modules"]) == edge_packages() - {"edge.cli"}
    assert only_cli["forbidden_modules"] == ["dashboard"]


def test_the_dashboard_may_import_only_the_contract_and_the_plumbing() -> None:
    dashboard = rule("the dashboard imports of the edge only the contract and the shared plumbing")
    allowed = {"edge.contract", "edge.plumbing"}
    assert set(dashboard["forbidden_modules"]) == edge_packages() - allowed
