"""The guide's MQTT contract page is rendered from the JSON Schemas and kept in step with them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from edge.cli.service_commands import SCHEMA_DIR
from edge.contract import Topic
from edge.tools import contract_doc
from edge.tools.contract_doc import PAGE, load_schemas, render, type_name


def test_committed_contract_page_is_up_to_date() -> None:
    assert PAGE.read_text(encoding="utf-8") == render(load_schemas()), (
        "deploy/guide/mqtt-contract.md is stale: run `python -m edge.tools.contract_doc`"
    )


def test_every_topic_and_event_type_is_on_the_page() -> None:
    text = render(load_schemas())
    for topic in Topic:
        last_level = topic.value.rsplit("/", 1)[-1].replace("{", "<").replace("}", ">")
        assert f"{last_level}` |" in text, topic
    event = load_schemas()["event"]
    for part in event["$defs"].values():
        assert f"#### `type: {part['properties']['type']['const']}`" in text


def test_a_changed_schema_changes_the_page(tmp_path: Path) -> None:
    folder = tmp_path / "schemas"
    shutil.copytree(SCHEMA_DIR, folder)
    ack = json.loads((folder / "ack.schema.json").read_text("utf-8"))
    ack["properties"]["shift"] = {"type": "string", "description": "the staff member's shift"}
    ack["required"].append("shift")
    (folder / "ack.schema.json").write_text(json.dumps(ack), "utf-8")
    changed = render(load_schemas(folder))
    assert "| `shift` | string | yes | the staff member's shift |" in changed
    assert changed != render(load_schemas())


def test_a_schema_on_no_topic_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "schemas"
    shutil.copytree(SCHEMA_DIR, folder)
    (folder / "orphan.schema.json").write_text('{"type": "string"}', "utf-8")
    with pytest.raises(ValueError, match=r"schemas \['orphan'\] are on no topic"):
        render(load_schemas(folder))


def test_an_empty_schema_folder_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="greetcue contract schemas"):
        load_schemas(tmp_path)


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"anyOf": [{"type": "number"}, {"type": "null"}]}, "number or null"),
        ({"type": "string", "format": "uuid"}, "string (uuid)"),
        ({"enum": ["online", "offline"], "type": "string"}, '`"online"` / `"offline"`'),
        (
            {"type": "object", "additionalProperties": {"type": "number"}},
            "object of name -> number",
        ),
        ({"type": "array", "items": {"type": "integer"}}, "list of integer"),
        ({"type": "integer", "minimum": 0}, "integer >= 0"),
        ({"type": "integer", "minimum": 0, "maximum": 255}, "integer 0..255"),
        ({"type": "number", "exclusiveMinimum": 0, "maximum": 1e3}, "number > 0, <= 1000"),
        (
            {"type": "array", "items": {"type": "integer"}, "maxItems": 32},
            "list of integer, at most 32",
        ),
        ({"type": "string", "format": "date-time"}, "string (date-time, 2000..2099)"),
    ],
)
def test_schema_types_read_plainly(schema: dict[str, object], expected: str) -> None:
    assert type_name(schema) == expected


def test_check_flag_fails_on_a_stale_page(tmp_path: Path) -> None:
    page = tmp_path / "mqtt-contract.md"
    runner = CliRunner()
    assert runner.invoke(_app(), ["--out", str(page)]).exit_code == 0
    assert runner.invoke(_app(), ["--out", str(page), "--check"]).exit_code == 0
    page.write_text("# old\n", "utf-8")
    stale = runner.invoke(_app(), ["--out", str(page), "--check"])
    assert stale.exit_code == 1
    assert "is stale" in stale.output


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(contract_doc.main)
    return app
