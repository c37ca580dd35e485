"""Hostile MQTT messages for the fuzzing test: hypothesis strategies over every topic the
dashboard (``<prefix>/#``) and the edge (its site's ``ack/+``, ``homeassistant/status``)
subscribe to.

Each :class:`Shot` says what the hardened contract must do with it: ``REFUSE`` when the
rules of the contract refuse it whatever their bounds (not JSON, unknown or missing fields,
wrong types, integers past 64 bits, negative counts, NaN or infinity, names breaking the name
rule, payload and topic disagreeing, oversized), or ``CONTRACT`` for values at the edge of a
range the contract picks (year 1 or 9999, 1e308, long lists, far-future expiry): the contract's
own decoder decides those (:func:`contract_accepts`).

Payloads are JSON text with markers, filled in when sent (:meth:`Shot.payload`): a fresh
event id (so an event the contract accepts is stored once) and a cue id the edge really
issued (read from its cue topic).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, Literal, TypeVar

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from edge.contract import (
    MAX_PAYLOAD_BYTES,
    Ack,
    AckRecorded,
    ContractError,
    CueCommand,
    CueIssued,
    CueUnacknowledged,
    EventBase,
    Metrics,
    Topic,
    TopicLevelError,
    TrackEnd,
    TrackStart,
    ZoneEnter,
    ZoneExit,
    ZoneOccupancy,
    check_topic_agreement,
    decode,
    decode_availability,
    decode_event,
    new_id,
    parse_topic,
)

PREFIX = "greetcue"
HA_STATUS = "homeassistant/status"
NAME_RULE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
FRESH_ID = "@fresh-id@"  # replaced by a new UUIDv7 at each occurrence
LIVE_CUE = "@live-cue@"  # replaced by a cue id the edge issued (random before the first)
BASE_TIME = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
OVERSIZED = (66_000, 200_000)  # bytes: past any payload limit, a few hundred KB at most

Kind = Literal["event", "availability", "zone", "metrics", "cue", "ack", "nonsense", "ha_status"]
KIND_MIX: tuple[Kind, ...] = ("event", "event", "availability", "zone", "metrics", "cue")
KIND_MIX += ("ack", "ack", "ack", "nonsense", "ha_status")  # the edge's acks: a third


class Verdict(Enum):
    """What the hardened contract does with a message."""

    REFUSE = "refuse"  # refused whatever bounds the contract picks
    CONTRACT = "contract"  # an edge value: the contract's decoder decides


@dataclass(frozen=True)
class Names:
    """The names a run uses: the edge's site and rota, and sites only the fuzzer writes."""

    edge_site: str
    edge_camera: str
    rota: tuple[str, ...]
    fuzz_sites: tuple[str, ...] = ("fuzz-a", "fuzz-b")
    cameras: tuple[str, ...] = ("cam-1", "cam-2")
    zones: tuple[str, ...] = ("10ft", "5ft", "3ft")
    strangers: tuple[str, ...] = ("intruder", "watch-9", "till.2")  # devices on no rota


@dataclass(frozen=True)
class Shot:
    """One hostile message and what the contract must do with it."""

    kind: Kind
    topic: str
    body: str | bytes  # str: JSON text with markers; bytes: sent as they are
    verdict: Verdict
    label: str  # the mutation, for the report
    qos: int
    retain: bool

    def payload(self, live_cue: Callable[[], str]) -> bytes:
        """The bytes to send: markers replaced by fresh ids and a live cue id."""
        if isinstance(self.body, bytes):
            return self.body
        text = self.body
        while FRESH_ID in text:
            text = text.replace(FRESH_ID, str(new_id()), 1)
        while LIVE_CUE in text:
            text = text.replace(LIVE_CUE, live_cue(), 1)
        return text.encode()


# --- the contract's fields by type (a test checks every field of every payload is here) -----

INT_FIELDS = {"track_id", "count", "escalation", "outbox_depth", "outbox_dropped"}
INT_FIELDS |= {"frames_dropped", "people"}
FLOAT_FIELDS = {"distance_ft", "speed_ftps", "tta_s", "duration_s", "lead_s", "dwell_s"}
FLOAT_FIELDS |= {"latency_s", "open_s", "radius_ft", "nearest_ft", "fps"}
FLOAT_FIELDS |= {"latency_ms_p50", "latency_ms_p99"}
NAME_FIELDS = {"site", "camera", "zone", "device", "staff"}
TIME_FIELDS = {"captured_at", "published_at", "crossed_at", "expires_at", "cued_at"}
TIME_FIELDS |= {"updated_at", "at", "issued_at", "acked_at"}
UUID_FIELDS = {"id", "cue_id"}
CHOICE_FIELDS = {"type", "approach", "reason", "via", "camera_online"}
NON_NEGATIVE = {"count", "escalation", "outbox_depth", "outbox_dropped", "frames_dropped"}
NON_NEGATIVE |= {"people", "latency_s", "open_s", "fps"}
NAME_LIST_FIELDS = {"reached"}
MAP_FIELDS = {"before": True, "stage_ms": 1.5, "refused": 3}  # field: a valid value type
ALL_FIELDS = INT_FIELDS | FLOAT_FIELDS | NAME_FIELDS | TIME_FIELDS | UUID_FIELDS
ALL_FIELDS |= CHOICE_FIELDS | NAME_LIST_FIELDS | set(MAP_FIELDS)

EVENT_MODELS: tuple[type[EventBase], ...] = (TrackStart, TrackEnd, ZoneEnter, ZoneExit)
EVENT_MODELS += (CueIssued, AckRecorded, CueUnacknowledged)
PAYLOAD_MODELS = (*EVENT_MODELS, ZoneOccupancy, Metrics, CueCommand, Ack)


# --- valid payloads, the bases every mutation starts from ---------------------------------


def _t(seconds: float = 0.0) -> datetime:
    return BASE_TIME + timedelta(seconds=seconds)


def event_base(model: type, site: str, camera: str, zone: str, device: str) -> dict[str, Any]:
    """A valid event of ``model``'s type with a fresh-id marker."""
    common: dict[str, Any] = {
        "id": new_id(),
        "site": site,
        "camera": camera,
        "track_id": 7,
        "zone": zone,
        "distance_ft": 8.5,
        "speed_ftps": -3.0,
        "tta_s": 1.2,
        "captured_at": _t(),
        "published_at": _t(0.05),
    }
    cue = {"cue_id": new_id(), "approach": "approaching", "reason": "zone"}
    left = {"cue_id": cue["cue_id"], "reason": "zone", "cued_at": _t(-9), "open_s": 9.0}
    extra: dict[type, dict[str, Any]] = {
        TrackStart: {},
        TrackEnd: {"duration_s": 12.0, "reached": ["10ft", zone]},
        ZoneEnter: {"approach": "approaching", "crossed_at": _t(), "lead_s": 2.0},
        ZoneExit: {"approach": "leaving", "dwell_s": 4.0},
        CueIssued: {**cue, "device": device, "escalation": 0, "expires_at": _t(10)},
        AckRecorded: {
            "cue_id": cue["cue_id"],
            "device": device,
            "staff": "sam",
            "via": "mqtt",
            "cued_at": _t(-2),
            "latency_s": 2.0,
            "before": {"5ft": True, "3ft": True},
        },
        CueUnacknowledged: left,
    }
    fields = {**common, **extra[model]}
    dumped = model(**fields).model_dump(mode="json")
    return {**dumped, "id": FRESH_ID} | ({"cue_id": FRESH_ID} if "cue_id" in dumped else {})


def zone_base(site: str, camera: str, zone: str) -> dict[str, Any]:
    """Valid retained occupancy of ``zone``."""
    return ZoneOccupancy(
        site=site, camera=camera, zone=zone, radius_ft=10.0, count=1, nearest_ft=8.0,
        updated_at=_t(),
    ).model_dump(mode="json")  # fmt: skip


def metrics_base(site: str, camera: str) -> dict[str, Any]:
    """A valid metrics report."""
    return Metrics(
        site=site, camera=camera, at=_t(), camera_online=True, fps=9.5,
        stage_ms={"detect": 40.0, "track": 1.0}, latency_ms_p50=30.0, latency_ms_p99=60.0,
        outbox_depth=0, outbox_dropped=0, frames_dropped=0, people=2,
        refused={"ack_payload": 0},
    ).model_dump(mode="json")  # fmt: skip


def cue_base(site: str, camera: str, device: str, zone: str) -> dict[str, Any]:
    """A valid cue command for ``device``."""
    return CueCommand(
        cue_id=new_id(), site=site, camera=camera, device=device, zone=zone, reason="zone",
        escalation=0, track_id=7, distance_ft=9.0, tta_s=1.5, issued_at=_t(),
        expires_at=_t(10),
    ).model_dump(mode="json") | {"cue_id": FRESH_ID}  # fmt: skip


def ack_base(device: str, cue: str) -> dict[str, Any]:
    """A valid-looking ack from ``device`` for ``cue`` (a marker or an id)."""
    return {"cue_id": cue, "device": device, "staff": "sam", "acked_at": _t().isoformat()}


def vary(base: dict[str, Any], variant: int) -> dict[str, Any]:
    """``base`` with some of its values, still valid, picked by ``variant``."""
    choices = {
        "track_id": variant % 5000,
        "distance_ft": (variant % 97) / 10,
        "speed_ftps": -(variant % 61) / 10,
        "staff": f"staff-{variant % 40}",
        "count": variant % 7,
        "people": variant % 9,
    }
    return base | {key: value for key, value in choices.items() if base.get(key) is not None}


# --- strategies -----------------------------------------------------------------------------
# Each strategy is built once (at import, or on first use with these arguments) and drawn from
# many times: making and validating a strategy costs more than a draw, and a run draws tens of
# thousands of times.

H = TypeVar("H", bound=Hashable)


@functools.cache
def _one(options: tuple[H, ...]) -> st.SearchStrategy[H]:
    """``sampled_from(options)``, one strategy per tuple (of strings: ``True`` and ``1`` would
    share a cache entry)."""
    return st.sampled_from(options)


@functools.cache
def _between(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(low, high)


_TOPIC_CHARS = st.characters(
    exclude_categories=("Cc", "Cs", "Co", "Cn"), exclude_characters="/+#\ufeff"
)
junk_level = st.one_of(
    st.text(_TOPIC_CHARS, min_size=1, max_size=24).filter(lambda s: not NAME_RULE.fullmatch(s)),
    st.integers(65, 3000).map(lambda n: "L" * n),  # a valid character, too many of them
    st.just(""),
)
bad_name = st.one_of(
    st.text(_TOPIC_CHARS | st.sampled_from("/ +#\n\x00"), min_size=1, max_size=24).filter(
        lambda s: not NAME_RULE.fullmatch(s)
    ),
    st.just(""),
)
big_int = st.one_of(
    st.integers(63, 300).map(lambda bits: 2**bits),
    st.integers(63, 300).map(lambda bits: -(2**bits) - 1),
)
non_finite = st.sampled_from([float("nan"), float("inf"), float("-inf")])
WRONG_SHAPES: list[Any] = [[], {}, [1, [2, [3]]], {"nested": {"deeper": [None]}}]
not_a_date = st.sampled_from(
    ["yesterday", "2025-13-45T99:99:99Z", "", "0000-00-00T00:00:00Z", "2025-06-01"]
)
variants = st.integers(0, 2**16)
edge_date = st.sampled_from(
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59.999999Z",
        "9999-12-31T23:59:59-14:00",
        "2099-12-31T23:59:59Z",
        "1970-01-01T00:00:00Z",
    ]
)
edge_float = st.sampled_from([1e308, -1e308, 1.7976931348623157e308, 5e-324, 1e20, -1e20])
edge_int = st.sampled_from([2**31, 2**31 - 1, -(2**31) - 1, 2**62, 2**63 - 1, -(2**63)])


families = st.sampled_from(
    [
        "big_int", "negative", "non_finite", "long_name", "bad_name", "wrong_type",
        "unknown_field", "missing_field", "naive_time", "not_a_date", "edge_date",
        "edge_float", "edge_int", "long_list", "deep", "stray_text",
    ]
)  # fmt: skip


_WRONG_SHAPES: dict[type, st.SearchStrategy[Any]] = {}


def _wrong_shapes(value: object) -> st.SearchStrategy[Any]:
    """Values of another shape than ``value``'s."""
    kind = type(value)
    if kind not in _WRONG_SHAPES:
        _WRONG_SHAPES[kind] = st.sampled_from([s for s in WRONG_SHAPES if type(s) is not kind])
    return _WRONG_SHAPES[kind]


unknown_keys = st.sampled_from(["extra", "admin", "__proto__", "expires", "site "])
unknown_values = st.sampled_from([True, 1, "x", None, {"a": 1}])


def mutated(draw: st.DrawFn, base: dict[str, Any]) -> tuple[str, Verdict, str]:
    """A mutation of a valid payload: (JSON text, verdict, label)."""
    data = dict(base)
    family = draw(families)
    present = sorted(data)
    if draw(_between(0, 49)) == 0:  # past every size limit (brokers drop it): rare
        family = "oversized"

    def pick(fields: set[str]) -> str | None:
        keys = tuple(key for key in present if key in fields)
        return draw(_one(keys)) if keys else None

    verdict, key = Verdict.REFUSE, None
    if family == "big_int" and (key := pick(INT_FIELDS)):
        data[key] = draw(big_int)
    elif family == "negative" and (key := pick(NON_NEGATIVE)):
        data[key] = -draw(_between(1, 2**31))
    elif family == "non_finite" and (key := pick(FLOAT_FIELDS | {"stage_ms"})):
        value = draw(non_finite)
        data[key] = {"detect": value} if key == "stage_ms" else value
    elif family == "long_name" and (key := pick(NAME_FIELDS)):
        data[key] = "n" * draw(_between(65, 5000))
    elif family == "bad_name" and (key := pick(NAME_FIELDS | NAME_LIST_FIELDS)):
        name = draw(bad_name)
        data[key] = [name] if key in NAME_LIST_FIELDS else name
    elif family == "wrong_type" and (key := pick(ALL_FIELDS)):
        data[key] = draw(_wrong_shapes(data[key]))
    elif family == "unknown_field":
        key = draw(unknown_keys)
        data[key] = draw(unknown_values)
    elif family == "missing_field" and (key := pick(_required(data))):
        del data[key]
    elif family == "naive_time" and (key := pick(TIME_FIELDS)):
        data[key] = "2025-06-01T12:00:00"
    elif family == "not_a_date" and (key := pick(TIME_FIELDS)):
        data[key] = draw(not_a_date)
    elif family == "edge_date" and (key := pick(TIME_FIELDS)):
        data[key], verdict = draw(edge_date), Verdict.CONTRACT
    elif family == "edge_float" and (key := pick(FLOAT_FIELDS - NON_NEGATIVE)):
        data[key], verdict = draw(edge_float), Verdict.CONTRACT
    elif family == "edge_int" and (key := pick(INT_FIELDS - NON_NEGATIVE)):
        data[key], verdict = draw(edge_int), Verdict.CONTRACT
    elif family == "long_list" and (key := pick(NAME_LIST_FIELDS | set(MAP_FIELDS))):
        size = draw(_between(50, 6000))
        if key in NAME_LIST_FIELDS:
            data[key] = ["10ft"] * size
        else:
            data[key] = {f"k{i}": MAP_FIELDS[key] for i in range(size)}
        verdict = Verdict.CONTRACT
    elif family == "deep" and (key := pick(ALL_FIELDS)):
        depth = draw(_between(100, 5000))
        return _splice(data, key, "[" * depth + "]" * depth), verdict, f"deep {key}"
    elif family == "oversized":
        key = draw(_one(tuple(sorted(NAME_FIELDS & set(present))) or ("padding",)))
        data[key] = "o" * draw(_between(*OVERSIZED))
    elif family == "stray_text":
        text = json.dumps(data)
        return text[: draw(_between(0, len(text) - 1))], verdict, "truncated JSON"
    else:  # the family does not apply to this payload: add a field the contract does not know
        family, key = "unknown_field", "unexpected"
        data[key] = 1
    return json.dumps(data), verdict, f"{family} {key}"


def _splice(data: dict[str, Any], key: str, raw: str) -> str:
    """``data`` as JSON with ``raw`` (JSON text) as the value of ``key``."""
    return json.dumps({**data, key: "@splice@"}).replace('"@splice@"', raw)


# Fields some payload model may go without (read off the contract, so a new optional field
# such as visit_id is never taken for a required one); an event without a type is refused
# anyway, but the type is what picks the model.
_MODELS = (TrackStart, TrackEnd, ZoneEnter, ZoneExit, CueIssued, AckRecorded, CueUnacknowledged)
_OPTIONAL = {
    name
    for model in (*_MODELS, ZoneOccupancy, CueCommand, Ack, Metrics)
    for name, field in model.model_fields.items()
    if not field.is_required()
} | {"type"}


def _required(data: dict[str, Any]) -> set[str]:
    """Keys whose removal makes the payload invalid in every payload model."""
    return set(data) - _OPTIONAL


small_junk = st.one_of(
    st.just(b""),
    st.binary(min_size=1, max_size=64).filter(lambda b: not _utf8(b)),
    st.sampled_from([b"null", b"[]", b"0", b'"online"', b"true", b"{", b"\xef\xbb\xbf{}"]),
    st.text(max_size=200).map(str.encode),
)
oversized_junk = st.one_of(
    st.integers(*OVERSIZED).map(lambda n: b"\xff" * n),
    st.integers(*OVERSIZED).map(lambda n: b'{"site": "' + b"a" * n + b'"}'),
)
raw_junk = st.one_of(*[small_junk] * 9, oversized_junk)


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _valid_text(text: str) -> bool:
    """Whether this availability payload says online or offline (after stripping)."""
    try:
        decode_availability(text.encode())
    except ContractError:
        return False
    return True


availability_junk = st.one_of(
    st.sampled_from(["ONLINE", "Offline", "on line", "online!", "1", "true", "null", '"online"']),
    st.text(max_size=80),
).filter(lambda s: not _valid_text(s))
status_junk = st.one_of(small_junk, availability_junk.map(str.encode))


def payload_for(draw: st.DrawFn, base: dict[str, Any]) -> tuple[str | bytes, Verdict, str]:
    """A mutated ``base``, or raw junk (no JSON object at all)."""
    if draw(_between(0, 9)) == 0:
        raw = draw(raw_junk)
        return raw, Verdict.REFUSE, f"raw {len(raw)} bytes"
    return mutated(draw, base)


@st.composite
def shots(draw: st.DrawFn, names: Names) -> Shot:
    """One hostile message on a topic the dashboard or the edge subscribes to."""
    kind = draw(_one(KIND_MIX))
    qos, retain = draw(_between(0, 1)), draw(_between(0, 9)) == 0
    site = draw(_one((*names.fuzz_sites, names.edge_site)))
    camera = draw(_one(names.cameras))
    zone, device = draw(_one(names.zones)), draw(_one(names.strangers))
    junk = draw(_between(0, 5)) == 0  # a topic level breaking the name rule
    if junk:
        level = draw(junk_level)
        if kind in ("event", "availability", "metrics", "zone"):
            site, camera = draw(_one(((level, camera), (site, level))))
        zone, device = (level, device) if kind == "zone" else (zone, level)
    retain = retain and site != names.edge_site  # retained only where the edge never writes
    if kind == "ha_status":
        retain = False
        body: str | bytes = draw(status_junk)
        if draw(_between(0, 19)) == 0:
            body = b"online"  # Home Assistant's birth message, flooded
        return Shot(kind, HA_STATUS, body, Verdict.REFUSE, "ha status", qos, retain)
    if kind == "nonsense":
        return nonsense(draw, names, qos, retain)
    if kind == "ack":
        return ack_shot(draw, names, device, junk, qos)
    if kind == "availability":
        topic = _fmt(Topic.AVAILABILITY, site=site, camera=camera)
        if junk:
            return Shot(kind, topic, b"online", Verdict.REFUSE, "online, bad level", qos, retain)
        body = draw(status_junk)
        return Shot(kind, topic, body, Verdict.REFUSE, "availability junk", qos, retain)
    return state_shot(draw, kind, names, site, camera, zone, device, junk, qos, retain)


def _fmt(template: Topic, **names: str) -> str:
    """The topic with these levels, however broken (``Topic.build`` refuses empty ones)."""
    return template.value.format(prefix=PREFIX, **names)


def _topic(kind: Kind, site: str, camera: str, zone: str, device: str) -> str:
    if kind == "event":
        return _fmt(Topic.EVENT, site=site, camera=camera)
    if kind == "zone":
        return _fmt(Topic.ZONE, site=site, camera=camera, zone=zone)
    if kind == "metrics":
        return _fmt(Topic.METRICS, site=site, camera=camera)
    return _fmt(Topic.CUE, site=site, device=device)


def state_shot(
    draw: st.DrawFn,
    kind: Kind,
    names: Names,
    site: str,
    camera: str,
    zone: str,
    device: str,
    junk: bool,
    qos: int,
    retain: bool,
) -> Shot:
    """An event, zone, metrics or cue message: mutated, or valid but disagreeing with its
    topic, or (cue) forged with a far-future expiry."""
    topic = _topic(kind, site, camera, zone, device)
    base_site = names.fuzz_sites[0] if junk else site  # the payload stays valid
    base_camera = names.cameras[0] if junk else camera
    base_zone = names.zones[0] if junk else zone
    base_device = names.rota[0] if junk else device
    if kind == "event":
        model = draw(_one(EVENT_MODELS))
        base = event_base(model, base_site, base_camera, base_zone, base_device)
    elif kind == "zone":
        base = zone_base(base_site, base_camera, base_zone)
    elif kind == "metrics":
        base = metrics_base(base_site, base_camera)
    else:
        base = cue_base(base_site, base_camera, base_device, base_zone)
    base = vary(base, draw(variants))
    special = draw(_between(0, 5))
    body: str | bytes
    if junk:  # a valid payload under a level that breaks the name rule
        body, verdict, label = json.dumps(base), Verdict.REFUSE, "valid payload, bad level"
    elif special == 0:
        body, verdict, label = disagreeing(draw, kind, base, names)
    elif special == 1 and kind == "cue":
        base["device"] = names.rota[0]  # names the counter, far in the future
        base["expires_at"] = "2099-12-31T23:59:59Z"
        agree = device == names.rota[0]
        verdict = Verdict.CONTRACT if agree else Verdict.REFUSE
        body, label = json.dumps(base), "forged cue, expires 2099"
    else:
        body, verdict, label = payload_for(draw, base)
    if verdict is Verdict.CONTRACT and junk:
        verdict = Verdict.REFUSE
    return Shot(kind, topic, body, verdict, label, qos, retain)


def disagreeing(
    draw: st.DrawFn, kind: Kind, base: dict[str, Any], names: Names
) -> tuple[str, Verdict, str]:
    """A valid payload naming another site, camera, zone or device than its topic."""
    others = {
        "site": [*names.fuzz_sites, names.edge_site],
        "camera": [*names.cameras, names.edge_camera],
        "zone": list(names.zones),
        "device": [*names.rota, *names.strangers],
    }
    in_topic = {"event": ["site", "camera"], "zone": ["site", "camera", "zone"]}
    in_topic |= {"metrics": ["site", "camera"], "cue": ["site", "device"]}
    key = draw(_one(tuple(in_topic[kind])))
    base[key] = draw(_one(tuple(v for v in others[key] if v != base[key])))
    return json.dumps(base), Verdict.REFUSE, f"{key} differs from the topic"


def ack_shot(draw: st.DrawFn, names: Names, device: str, junk: bool, qos: int) -> Shot:
    """An ack the edge must refuse: malformed, for no open cue, from a device on no rota (for
    a cue it really issued), or naming another device than its topic."""
    site = draw(_one((names.edge_site, names.edge_site, *names.fuzz_sites)))
    if not junk and draw(st.booleans()):
        device = draw(_one(names.rota))  # the rota's own device, for no open cue
    topic = _fmt(Topic.ACK, site=site, device=device)
    on_rota = device in names.rota
    cue = FRESH_ID if on_rota else draw(_one((LIVE_CUE, FRESH_ID)))
    base = vary(ack_base(device if not junk else names.strangers[0], cue), draw(variants))
    choice = draw(_between(0, 3))
    body: str | bytes
    if choice == 0:
        base["device"] = draw(_one(tuple(d for d in names.rota if d != device) or ("x",)))
        body, verdict, label = json.dumps(base), Verdict.REFUSE, "device differs from the topic"
    elif choice == 1:
        body, verdict, label = json.dumps(base), Verdict.CONTRACT, "ack for no cue sent to it"
    else:
        body, verdict, label = payload_for(draw, base)
    label += ", live cue" if cue == LIVE_CUE else ""
    return Shot("ack", topic, body, verdict, label, qos, False)


@functools.cache
def _nonsense(names: Names) -> tuple[st.SearchStrategy[list[str]], st.SearchStrategy[Any]]:
    """The levels of a topic that is no greetcue topic, and its payloads."""
    level = st.one_of(
        junk_level,
        st.sampled_from(["event", "zone", "cue", "ack", "metrics", "availability", "status"]),
        st.sampled_from([*names.fuzz_sites, *names.cameras]),
    )
    base = event_base(TrackStart, names.fuzz_sites[0], names.cameras[0], "10ft", "x")
    return st.lists(level, min_size=1, max_size=8), st.one_of(small_junk, st.just(json.dumps(base)))


def nonsense(draw: st.DrawFn, names: Names, qos: int, retain: bool) -> Shot:
    """A topic under the prefix that is no greetcue topic, with any payload."""
    levels_of, bodies = _nonsense(names)
    levels = draw(levels_of)
    topic = "/".join([PREFIX, *levels])
    while greetcue_shaped(topic):
        topic += "/extra"
    body = draw(bodies)
    return Shot("nonsense", topic, body, Verdict.REFUSE, f"{len(levels)} levels", qos, retain)


def generate(names: Names, count: int, per_example: int = 10) -> list[Shot]:
    """``count`` shots, the same on every run (derandomized, no example database); each
    hypothesis example draws ``per_example`` of them (far less overhead than one each)."""
    found: list[Shot] = []
    batches = count // per_example + 1

    @settings(
        max_examples=batches + batches // 4,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(st.lists(shots(names), min_size=per_example, max_size=per_example))
    def collect(batch: list[Shot]) -> None:
        found.extend(batch)

    collect()
    if len(found) < count:
        raise AssertionError(f"hypothesis generated {len(found)} shots, {count} wanted")
    return found[:count]


# --- what the contract says about a message -------------------------------------------------

_DECODERS: dict[Topic, Callable[[bytes], Any]] = {
    Topic.EVENT: decode_event,
    Topic.AVAILABILITY: decode_availability,
    Topic.ZONE: lambda raw: decode(ZoneOccupancy, raw),
    Topic.METRICS: lambda raw: decode(Metrics, raw),
    Topic.CUE: lambda raw: decode(CueCommand, raw),
    Topic.ACK: lambda raw: decode(Ack, raw),
}


def greetcue_shaped(topic: str) -> bool:
    """Whether ``topic`` has the shape of a greetcue topic (even with levels the name rule
    refuses)."""
    try:
        return parse_topic(topic, PREFIX) is not None
    except TopicLevelError:
        return True


def contract_accepts(topic: str, payload: bytes) -> bool:
    """Whether the contract takes ``payload`` on ``topic``: its levels, its size, the
    payload's own decoder and the payload agreeing with the topic."""
    try:
        found = parse_topic(topic, PREFIX)
    except TopicLevelError:
        return False
    if found is None or len(payload) > MAX_PAYLOAD_BYTES:
        return False
    kind, names = found
    try:
        message = _DECODERS[kind](payload)
        if kind is not Topic.AVAILABILITY:
            check_topic_agreement(kind, names, message)
    except (ContractError, UnicodeDecodeError):
        return False
    return True
