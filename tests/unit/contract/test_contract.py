"""The MQTT contract: topics build and parse in one place, payloads round-trip and are
validated, and the committed JSON Schema files are what the models say."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge.cli import app
from edge.cli.service_commands import SCHEMA_DIR, schema_files
from edge.contract import (
    MAX_ENTRIES,
    MAX_ZONES,
    Ack,
    AckRecorded,
    ContractError,
    CueCommand,
    Message,
    Metrics,
    Topic,
    TopicLevelError,
    ZoneEnter,
    ZoneOccupancy,
    check_topic_agreement,
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


def _cue_command(**changes: object) -> bytes:
    now = datetime.now(UTC)
    fields: dict[str, object] = {
        "cue_id": str(new_id()),
        "site": "s1",
        "camera": "c1",
        "device": "counter",
        "zone": "10ft",
        "reason": "zone",
        "escalation": 0,
        "track_id": 4,
        "issued_at": now.isoformat(),
        "expires_at": (now + timedelta(seconds=3)).isoformat(),
    }
    return json.dumps(fields | changes).encode()


def _zone(**changes: object) -> bytes:
    fields: dict[str, object] = {
        "site": "s1",
        "camera": "c1",
        "zone": "10ft",
        "radius_ft": 10,
        "count": 1,
        "updated_at": NOW.isoformat(),
    }
    return json.dumps(fields | changes).encode()


def test_a_sound_cue_command_and_zone_are_accepted() -> None:
    assert decode(CueCommand, _cue_command()).device == "counter"
    assert decode(ZoneOccupancy, _zone()).count == 1


@pytest.mark.parametrize(
    ("model", "payload", "problem"),
    [
        (ZoneOccupancy, _zone(count=2**70), "count"),  # killed the SQLite writer
        (ZoneOccupancy, _zone(count=-1), "count"),
        (ZoneOccupancy, _zone(radius_ft=1e308 * 10), "radius_ft"),  # JSON Infinity
        (ZoneOccupancy, _zone(updated_at="9999-12-31T00:00:00Z"), "updated_at"),
        (ZoneOccupancy, _zone(updated_at="2026-12-01T12:00:00"), "updated_at"),  # no zone
        (CueCommand, _cue_command(escalation=2**70), "escalation"),
        (CueCommand, _cue_command(escalation=256), "escalation"),
        (CueCommand, _cue_command(track_id=2**31), "track_id"),  # past PostgreSQL's integer
        (CueCommand, _cue_command(expires_at="2099-01-01T00:00:00Z"), "expires_at"),
        (CueCommand, _cue_command(expires_at=NOW.isoformat()), "expires_at"),  # before issued
        (
            CueCommand,
            _cue_command(issued_at="2099-01-01T00:00:00Z", expires_at="2099-01-01T00:00:03Z"),
            "issued_at",
        ),
        (Metrics, b"", "json"),
    ],
)
def test_values_beyond_the_contracts_bounds_are_refused(
    model: type[Message], payload: bytes, problem: str
) -> None:
    with pytest.raises(ContractError) as err:
        decode(model, payload)
    assert problem in str(err.value).lower()


def _event(**changes: object) -> bytes:
    fields = json.loads(
        encode(
            AckRecorded(
                id=new_id(),
                site="s1",
                camera="c1",
                track_id=4,
                captured_at=NOW,
                cue_id=new_id(),
                device="d",
                via="mqtt",
                cued_at=NOW,
                latency_s=2.0,
                before={"5ft": True},
            )
        )
    )
    return json.dumps(fields | changes).encode()


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"track_id": 2**64}, "track_id"),
        ({"latency_s": 1e12}, "latency_s"),
        ({"distance_ft": 1e6}, "distance_ft"),
        ({"before": {f"z{n}": True for n in range(MAX_ZONES + 1)}}, "before"),
        ({"before": {"a/b": True}}, "before"),
        ({"cued_at": "1970-01-01T00:00:00Z"}, "cued_at"),
    ],
)
def test_an_event_beyond_the_bounds_is_refused(changes: dict[str, object], problem: str) -> None:
    assert decode_event(_event())  # the unchanged event is sound
    with pytest.raises(ContractError) as err:
        decode_event(_event(**changes))
    assert problem in str(err.value).lower()


def test_metrics_mappings_are_bounded_and_keyed_by_names() -> None:
    sound = {
        "site": "s1",
        "camera": "c1",
        "at": NOW.isoformat(),
        "camera_online": True,
        "fps": 10,
        "stage_ms": {"detect": 20.5},
        "outbox_depth": 0,
        "outbox_dropped": 0,
        "frames_dropped": 0,
        "people": 1,
        "refused": {"ack_payload": 3},
    }
    assert decode(Metrics, json.dumps(sound).encode()).fps == 10
    for changes in (
        {"stage_ms": {f"s{n}": 1.0 for n in range(MAX_ENTRIES + 1)}},
        {"refused": {"bad key": 1}},
        {"refused": {"ack_payload": 2**64}},
        {"fps": 1e9},
    ):
        with pytest.raises(ContractError):
            decode(Metrics, json.dumps(sound | changes).encode())


@pytest.mark.parametrize(
    "topic",
    [
        "greetcue/" + "s" * 65 + "/c1/event",  # longer than the site column
        "greetcue/s 1/c1/availability",  # one client made 417 junk cameras this way
        "greetcue/s1/c1/zone/ten feet",
        "greetcue/s1/c$1/metrics",
        "greetcue/s1/cue/wat\u00e7h",
        "greetcue/s1/ack/",
        "greetcue/store-1\n/c1/availability",  # a trailing newline passed a ^...$ match
        "greetcue/s1/c1\n/event",
    ],
)
def test_a_topic_level_that_is_no_name_is_refused(topic: str) -> None:
    with pytest.raises(TopicLevelError, match="not a name"):
        parse_topic(topic, "greetcue")


def _ack(device: str) -> Ack:
    return Ack(cue_id=new_id(), device=device)


@pytest.mark.parametrize(
    ("topic", "message"),
    [
        ("greetcue/s1/c1/event", decode_event(_event())),
        ("greetcue/s1/c1/zone/10ft", decode(ZoneOccupancy, _zone())),
        ("greetcue/s1/cue/counter", decode(CueCommand, _cue_command())),
        ("greetcue/s1/ack/d", _ack("d")),
        ("greetcue/s1/c1/availability", _ack("anything")),  # availability names nothing
    ],
)
def test_a_payload_that_agrees_with_its_topic_passes(topic: str, message: Message) -> None:
    found = parse_topic(topic, "greetcue")
    assert found is not None
    check_topic_agreement(*found, message)


@pytest.mark.parametrize(
    ("topic", "message", "problem"),
    [
        ("greetcue/s2/c1/event", decode_event(_event()), "site"),
        ("greetcue/s1/c2/event", decode_event(_event()), "camera"),
        ("greetcue/s1/c1/zone/5ft", decode(ZoneOccupancy, _zone()), "zone"),
        ("greetcue/s1/c2/zone/10ft", decode(ZoneOccupancy, _zone()), "camera"),
        ("greetcue/s1/cue/other", decode(CueCommand, _cue_command()), "device"),  # forged cue
        ("greetcue/s2/cue/counter", decode(CueCommand, _cue_command()), "site"),
        ("greetcue/s1/ack/d2", _ack("d"), "device"),
        ("greetcue/s1/c1/metrics", _ack("d"), "metrics topic"),  # the wrong kind of payload
    ],
)
def test_a_payload_that_disagrees_with_its_topic_is_refused(
    topic: str, message: Message, problem: str
) -> None:
    found = parse_topic(topic, "greetcue")
    assert found is not None
    with pytest.raises(ContractError, match=problem):
        check_topic_agreement(*found, message)
