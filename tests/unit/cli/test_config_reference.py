"""The configuration reference is generated from the models and kept in step with them."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from edge.cli import app
from edge.cli.config_reference import reference_markdown
from edge.config import Config
from tests.support.paths import REPO

REFERENCE = REPO / "deploy" / "configuration.md"


def test_committed_reference_is_up_to_date() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == reference_markdown(), (
        "deploy/configuration.md is stale: run `greetcue config reference --out "
        "deploy/configuration.md`"
    )


def test_reference_lists_every_top_level_and_contract_key() -> None:
    text = reference_markdown()
    for key in Config.model_fields:
        assert f"| `{key}` |" in text
    for key in ("camera.hfov_deg", "calibration.floor_points[].pixel", "zones[].radius_ft"):
        assert f"| `{key}` |" in text


def test_config_check_accepts_the_examples_and_rejects_typos(tmp_path: Path) -> None:
    runner = CliRunner()
    for example in sorted((REFERENCE.parent / "examples").glob("*.yaml")):
        result = runner.invoke(app, ["config", "check", str(example)])
        assert result.exit_code == 0, result.output
        assert "valid" in result.output
    typo = tmp_path / "typo.yaml"
    typo.write_text("camera: {hfov: 60}\n")
    result = runner.invoke(app, ["config", "check", str(typo)])
    assert result.exit_code != 0
    assert "camera.hfov: unknown key" in str(result.exception)
