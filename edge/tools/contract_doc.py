"""The MQTT contract page for integrators, rendered from the JSON Schema files and the topics.

``deploy/schemas/*.schema.json`` (written by ``greetcue contract schemas`` from
``edge/contract.py``) say what each payload holds; ``contract.Topic`` says where it goes. This
module adds what neither carries (who sends a topic, its QoS and retain flag) and renders one
Markdown page, ``deploy/guide/mqtt-contract.md``; a test fails when that page is stale::

    python -m edge.tools.contract_doc            # rewrite the page
    python -m edge.tools.contract_doc --check    # exit 1 if it is stale
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from edge.config.service import MqttConfig
from edge.contract import CONTRACT_VERSION, DEFAULT_PREFIX, EARLIEST, LATEST, Topic
from edge.service.delivery.discovery import object_id

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "deploy" / "schemas"
PAGE = SCHEMA_DIR.parent / "guide" / "mqtt-contract.md"
HA_PREFIX = MqttConfig.model_fields["discovery_prefix"].default


@dataclass(frozen=True)
class TopicDoc:
    """What a topic's template does not say: sender, QoS / retain, payload, meaning."""

    sender: str
    delivery: str
    payload: str  # a schema's file stem, or what the payload is when no schema describes it
    meaning: str


TOPICS: dict[Topic, TopicDoc] = {
    Topic.AVAILABILITY: TopicDoc(
        "edge",
        "QoS 1, retained; also the Last Will",
        "availability",
        "`online` while the service runs and the camera delivers, `offline` otherwise",
    ),
    Topic.EVENT: TopicDoc(
        "edge", "QoS 1", "event", "zone and track events, cues and acks, each once by its `id`"
    ),
    Topic.ZONE: TopicDoc(
        "edge",
        "QoS 1, retained",
        "zone-occupancy",
        "who is in the zone now; on change and every `service.occupancy_refresh_s`",
    ),
    Topic.METRICS: TopicDoc(
        "edge", "QoS 0", "metrics", "health every `service.metrics_interval_s`"
    ),
    Topic.CUE: TopicDoc(
        "edge",
        "QoS 1, MQTT 5 message expiry (`cues.expiry_s`)",
        "cue-command",
        "buzz or light a staff device (`<device>` from `cues.rota`)",
    ),
    Topic.ACK: TopicDoc(
        "staff page, wearable, app",
        "QoS 1, not retained",
        "ack",
        "acknowledges an open cue; anything invalid or over 4 KiB is refused and counted",
    ),
    Topic.HA_DISCOVERY: TopicDoc(
        "edge",
        "QoS 1, retained",
        "Home Assistant discovery JSON",
        "Home Assistant device discovery (see the guide's Home Assistant page)",
    ),
    Topic.HA_STATUS: TopicDoc(
        "Home Assistant",
        "retained by Home Assistant",
        "`online` / `offline` text",
        "`online`: the edge re-sends its discovery after a random 1-5 s",
    ),
}


def load_schemas(folder: Path = SCHEMA_DIR) -> dict[str, dict[str, Any]]:
    """Every ``*.schema.json`` in ``folder`` by file stem (``event``, ``ack``, ...)."""
    files = sorted(folder.glob("*.schema.json"))
    if not files:
        raise FileNotFoundError(f"no *.schema.json in {folder}; run `greetcue contract schemas`")
    return {p.name.removesuffix(".schema.json"): json.loads(p.read_text("utf-8")) for p in files}


def _text(value: str) -> str:
    """A docstring or description as one Markdown table cell."""
    return " ".join(value.replace("``", "`").split()).replace("|", "\\|")


def type_name(schema: dict[str, Any]) -> str:
    """A reader's name for a JSON Schema type: ``number or null``, ``"a" / "b"``, ..."""
    if "anyOf" in schema:
        return " or ".join(type_name(option) for option in schema["anyOf"])
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "const" in schema:
        return f'`"{schema["const"]}"`'
    if "enum" in schema:
        return " / ".join(f'`"{value}"`' for value in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {type_name(schema.get('items', {}))}{_most(schema, 'maxItems')}"
    if kind == "object":
        values: dict[str, Any] = schema.get("additionalProperties") or next(
            iter(schema.get("patternProperties", {}).values()), {}
        )
        most = _most(schema, "maxProperties")
        return f"object of name -> {type_name(values)}{most}" if values else "object"
    if kind == "string" and schema.get("format") == "date-time":
        return f"string (date-time, {EARLIEST.year}..{LATEST.year - 1})"
    if kind == "string" and "format" in schema:
        return f"string ({schema['format']})"
    if kind == "string" and "pattern" in schema:
        return "name (letters, digits, `-_.`, 1-64)"
    return f"{kind}{_range(schema)}"


def _most(schema: dict[str, Any], key: str) -> str:
    return f", at most {schema[key]}" if key in schema else ""


def _range(schema: dict[str, Any]) -> str:
    """`` 0..255``, `` > 0``, `` >= 0`` or nothing, as a number's schema bounds it."""
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum")
    low, high = _number(low), _number(high)
    if low and high:
        return f" {low}..{high}" if "minimum" in schema else f" > {low}, <= {high}"
    if low:
        return f" >= {low}" if "minimum" in schema else f" > {low}"
    return f" <= {high}" if high else ""


def _number(value: float | None) -> str:
    """A bound as written: whole numbers without a fraction or an exponent."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _fields(schema: dict[str, Any], skip: frozenset[str] = frozenset()) -> list[str]:
    required = set(schema.get("required", []))
    rows = ["| field | type | required | meaning |", "|---|---|---|---|"]
    for name, prop in sorted(schema.get("properties", {}).items()):
        if name in skip:
            continue
        needed = "yes" if name in required or "const" in prop else "no"
        meaning = _text(prop.get("description", ""))
        rows.append(f"| `{name}` | {type_name(prop)} | {needed} | {meaning} |")
    return rows


def _event_types(schema: dict[str, Any]) -> list[str]:
    """The event payload: the fields every type shares once, then each type's own."""
    tag = schema["discriminator"]["propertyName"]
    parts = [schema["$defs"][str(ref["$ref"]).rsplit("/", 1)[-1]] for ref in schema["oneOf"]]
    common = set.intersection(*(set(part["properties"]) for part in parts)) - {tag}
    shared = {"properties": {k: parts[0]["properties"][k] for k in common}}
    shared["required"] = parts[0].get("required", [])
    lines = [
        f"One JSON object per message; `{tag}` says which type it is. Fields every type has:",
        "",
        *_fields(shared),
        "",
    ]
    for part in parts:
        const = part["properties"][tag]["const"]
        lines += [f"#### `{tag}: {const}`", "", _text(part.get("description", "")), ""]
        lines += [*_fields(part, frozenset(common)), ""]
    return lines


def _payload(stem: str, schema: dict[str, Any]) -> list[str]:
    lines = [f'### <a id="{stem}"></a>`{stem}` (`deploy/schemas/{stem}.schema.json`)', ""]
    if "oneOf" in schema:
        return [*lines, *_event_types(schema)]
    if "properties" in schema:
        return [*lines, _text(schema.get("description", "")), "", *_fields(schema), ""]
    return [*lines, f"A plain-text payload: {type_name(schema)}.", ""]


def render(schemas: dict[str, dict[str, Any]]) -> str:
    """The contract page from the schemas (by file stem) and :data:`TOPICS`."""
    missing = [topic.name for topic in Topic if topic not in TOPICS]
    if missing:
        raise ValueError(f"topics {missing} have no TopicDoc in edge/tools/contract_doc.py")
    example = {"prefix": DEFAULT_PREFIX, "discovery_prefix": HA_PREFIX}
    rows = ["| topic | sent by | delivery | payload | meaning |", "|---|---|---|---|---|"]
    for topic, doc in TOPICS.items():
        template = re.sub(r"{(\w+)}", lambda m: example.get(m[1], f"<{m[1]}>"), topic.value)
        payload = f"[`{doc.payload}`](#{doc.payload})" if doc.payload in schemas else doc.payload
        rows.append(f"| `{template}` | {doc.sender} | {doc.delivery} | {payload} | {doc.meaning} |")
    used = [doc.payload for doc in TOPICS.values() if doc.payload in schemas]
    unknown = sorted(set(schemas) - set(used))
    if unknown:
        raise ValueError(f"schemas {unknown} are on no topic; add them to TOPICS")
    sections: list[str] = []
    for stem in used:
        sections += _payload(stem, schemas[stem])
    return "\n".join(
        [
            "# MQTT contract",
            "",
            "Generated from `deploy/schemas/` and `edge/contract.py` by "
            "`python -m edge.tools.contract_doc`; do not edit by hand. "
            f"Contract version {CONTRACT_VERSION} (`x-greetcue-contract-version` in each schema).",
            "",
            f"`<prefix>` is `mqtt.prefix` (default `{DEFAULT_PREFIX}`), `<site>` is `site`, "
            "`<camera>` is `camera.name`, `<zone>` a zone's `name`; "
            f"`{HA_PREFIX}` is `mqtt.discovery_prefix`. `<object_id>` is "
            f"`greetcue_<site>_<camera>` (e.g. `{object_id('store-1', 'counter-1')}`). "
            "Payloads are UTF-8 JSON unless said otherwise; times are ISO-8601 UTC. A field "
            "marked required must be in a message you send (an ack); the edge sends every "
            "field, null where it does not apply. Unknown fields are refused both ways.",
            "",
            "## Topics",
            "",
            *rows,
            "",
            "## Payloads",
            "",
            *sections,
        ]
    )


def main(
    out: Path = typer.Option(PAGE, "--out", help="the Markdown page to write"),
    check: bool = typer.Option(False, "--check", help="only say whether the page is stale"),
) -> None:
    """Write the MQTT contract page (or check that it is up to date)."""
    text = render(load_schemas())
    if check:
        if not out.is_file() or out.read_text(encoding="utf-8") != text:
            typer.echo(f"{out} is stale: run `python -m edge.tools.contract_doc`", err=True)
            raise typer.Exit(1)
        typer.echo(f"{out} is up to date")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {out}")


if __name__ == "__main__":
    typer.run(main)
