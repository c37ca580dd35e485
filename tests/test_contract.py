"""The MQTT contract: topics build and parse in one place, payloads round-trip and are
validated, and the committed JSON Schema files are what the models say."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge.cli import app
from edge.cli.service_commands import SCHEMA_DIR, schema_files
from edge.contract import (
    Ack,
    AckRecorded,
    ContractError,
    Topic,
    ZoneEnter,
    decode,
    decode_availability,
    decode_event,
    encode,
    new_id,
    parse_topic,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "fields", "topic"),
    [
        (Topic.AVAILABILITY, {"site": "s1", "camera": "c1"}, "greetcue/s1/c1/availability"),
        (Topic.EVENT, {"site": "s1", "camera": "c1"}, "greetcue/s1/c1/event"),
        (Topic.ZONE, {"site": "s1", "camera": "c1", "zone": "10ft"}, "greetcue/s1/c1/zone/10ft"),
        (Topic.METRICS, {"site": "s1", "camera": "c1"}, "greetcue/s1/c1/metrics"),
        (Topic.CUE, {"site": "s1", "device": "watch-2"}, "greetcue/s1/cue/watch-2"),
        (Topic.ACK, {"site": "s1", "device": "d1"}, "greetcue/s1/ack/d1"),
    ],
)
def test_topics_build_and_parse_back(kind: Topic, fields: dict[str, str], topic: str) -> None:
    assert kind.build(prefix="greetcue", **fields) == topic
    assert parse_topic(topic, "greetcue") == (kind, fields)


@pytest.mark.parametrize(
    "topic",
    ["other/s1/c1/event", "greetcue/s1/c1/unknown", "greetcue/s1", "greetcue/s1/cue/event"],
)
def test_foreign_or_ambiguous_topics_are_not_ours(topic: str) -> None:
    kind = parse_topic(topic, "greetcue")
    assert kind is None or kind[0] is Topic.CUE  # a camera may not be called "cue"


@pytest.mark.parametrize("bad", ["a/b", "+", "#", ""])
def test_a_name_that_is_not_one_topic_level_is_refused(bad: str) -> None:
    with pytest.raises(ContractError, match="topic level"):
        Topic.EVENT.build(prefix="greetcue", site=bad, camera="c1")


def test_filters_wildcard_what_is_not_given() -> None:
    assert Topic.ZONE.filter(prefix="greetcue", site="s1") == "greetcue/s1/+/zone/+"
    assert Topic.HA_STATUS.filter(discovery_prefix="homeassistant") == "homeassistant/status"


def test_an_event_round_trips_by_its_type() -> None:
    event = ZoneEnter(
        id=new_id(),
        site="s1",
        camera="c1",
        track_id=4,
        zone="10ft",
        distance_ft=9.8,
        speed_ftps=-3.1,
        tta_s=None,
        captured_at=NOW,
        approach="approaching",
        crossed_at=NOW,
        lead_s=0.42,
    )
    back = decode_event(encode(event))
    assert back == event
    assert json.loads(encode(event))["tta_s"] is None  # nulls are kept


def test_event_ids_are_uuid7_in_creation_order() -> None:
    ids = [new_id() for _ in range(50)]
    assert all(i.version == 7 for i in ids)
    assert ids == sorted(ids)


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (b"not json", "json"),
        (b'{"cue_id": "x", "device": "d"}', "cue_id"),
        (b'{"cue_id": "0190a0a0-0000-7000-8000-000000000000"}', "device"),
        (b'{"cue_id": "0190a0a0-0000-7000-8000-000000000000", "device": "a/b"}', "device"),
        (
            b'{"cue_id": "0190a0a0-0000-7000-8000-000000000000", "device": "d", "x": 1}',
            "x",
        ),
    ],
)
def test_a_bad_ack_is_refused_with_the_reason(payload: bytes, problem: str) -> None:
    with pytest.raises(ContractError) as err:
        decode(Ack, payload)
    assert problem in str(err.value).lower()


def test_an_event_of_unknown_type_is_refused() -> None:
    with pytest.raises(ContractError, match="type"):
        decode_event(b'{"type": "teleport", "id": "0190a0a0-0000-7000-8000-000000000000"}')


def test_a_negative_latency_is_not_a_valid_ack_event() -> None:
    with pytest.raises(ValueError, match="latency_s"):
        AckRecorded(
            id=new_id(),
            site="s1",
            camera="c1",
            captured_at=NOW,
            cue_id=new_id(),
            device="d",
            via="mqtt",
            cued_at=NOW,
            latency_s=-1.0,
            before={},
        )


@pytest.mark.parametrize(("payload", "state"), [(b"online", "online"), (b"offline\n", "offline")])
def test_availability_is_online_or_offline(payload: bytes, state: str) -> None:
    assert decode_availability(payload) == state


def test_other_availability_is_refused() -> None:
    with pytest.raises(ContractError, match="online"):
        decode_availability(b"maybe")


def test_committed_schemas_are_up_to_date() -> None:
    committed = {p.name: p.read_text(encoding="utf-8") for p in SCHEMA_DIR.glob("*.schema.json")}
    assert committed == schema_files(), "run `greetcue contract schemas` and commit the result"


def test_schemas_check_command_fails_on_a_stale_folder(tmp_path: Path) -> None:
    folder = tmp_path
    runner = CliRunner()
    assert runner.invoke(app, ["contract", "schemas", "--out", str(folder)]).exit_code == 0
    assert (
        runner.invoke(app, ["contract", "schemas", "--out", str(folder), "--check"]).exit_code == 0
    )
    (folder / "ack.schema.json").write_text("{}", encoding="utf-8")
    stale = runner.invoke(app, ["contract", "schemas", "--out", str(folder), "--check"])
    assert stale.exit_code != 0
    assert "ack.schema.json" in str(stale.exception)
