"""The MQTT contract: every message greetcue sends or takes, and every topic, in one place.

This module is the only thing the dashboard imports from the edge. Publisher and subscriber
build and parse topics here and validate payloads with these models, so they cannot drift;
``greetcue contract schemas`` writes the JSON Schema files integrators read
(``deploy/schemas/``), and a test fails when they are stale.

>>> topic = Topic.EVENT.build(prefix="greetcue", site="store-1", camera="counter-1")
>>> topic
'greetcue/store-1/counter-1/event'
>>> parse_topic(topic, "greetcue")
(<Topic.EVENT: '{prefix}/{site}/{camera}/event'>, {'site': 'store-1', 'camera': 'counter-1'})
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from uuid6 import uuid7

CONTRACT_VERSION = 1
DEFAULT_PREFIX = "greetcue"

# Bounds. Whatever the contract accepts, the dashboard's stores hold (32-bit integer columns
# on PostgreSQL) and a reader can take as physically meaningful; anything else is refused
# before it reaches a database.
MAX_PAYLOAD_BYTES = 64 * 1024  # any payload; an event is well under 2 KiB
NAME_PATTERN = r"^[A-Za-z0-9_.-]+$"
MAX_NAME = 64
MAX_STORED_INT = 2**31 - 1  # a PostgreSQL ``integer``
MAX_TOTAL = 2**53 - 1  # running totals: exact in every JSON reader
MAX_PEOPLE = 1000  # people in one camera's view or zone
MAX_ESCALATION = 255  # a cue's n-th escalation: one per device of the rota
MAX_ZONES = 32  # entries of a per-zone list or mapping
MAX_ENTRIES = 64  # entries of any other mapping (stages, refusal kinds)
MAX_FEET = 1000.0  # distances and speeds, ft and ft/s
MAX_SECONDS = 366 * 24 * 3600.0  # durations and time offsets
MAX_MS = MAX_SECONDS * 1000
MAX_FPS = 1000.0
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
# ``tta_s`` (events and cue commands): the name says time to arrival, and integrators rely on it,
# so it stays; what it holds is the time to the next ring.
TTA_DESCRIPTION = (
    "seconds until the person crosses the next zone ring inward on their current course (the "
    "nearest ring ahead of them, not the counter: time to the next ring, not time to arrival "
    "at the counter); null when they are not heading into a ring"
)
# A cue command lives at most this long: ``cues.expiry_s`` (<= 600), with slack for a sender
# that reads its clock twice.
MAX_CUE_EXPIRY_S = 660.0
MAX_CLOCK_SKEW_S = 300.0  # how far ahead of the receiver a sender's clock may be


def _utc_in_range(value: datetime, info: ValidationInfo) -> datetime:
    """A time from a payload within the sane range, as UTC. Only payloads are checked: the
    edge's own clock may read 1970 until NTP sets it (or a test's clock starts at 0), and its
    events are then refused where they arrive, never where they are made."""
    if info.mode == "json" and not EARLIEST <= value < LATEST:
        raise ValueError(f"must lie in {EARLIEST.year}..{LATEST.year - 1} (UTC)")
    return value.astimezone(UTC)


Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME, pattern=NAME_PATTERN)]
Seconds = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_SECONDS, le=MAX_SECONDS)]
Duration = Annotated[float, Field(allow_inf_nan=False, ge=0, le=MAX_SECONDS)]
Feet = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_FEET, le=MAX_FEET)]
Radius = Annotated[float, Field(allow_inf_nan=False, gt=0, le=MAX_FEET)]
Millis = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_MS, le=MAX_MS)]
Time = Annotated[AwareDatetime, AfterValidator(_utc_in_range)]
TrackId = Annotated[int, Field(ge=0, le=MAX_STORED_INT)]
People = Annotated[int, Field(ge=0, le=MAX_PEOPLE)]
Total = Annotated[int, Field(ge=0, le=MAX_TOTAL)]
Approach = Literal["approaching", "passing", "leaving", "standing", "unknown"]
CueReason = Literal["zone", "waiting"]
Availability = Literal["online", "offline"]


class ContractError(ValueError):
    """A payload or topic does not follow the contract; the message says what is wrong."""


class TopicLevelError(ContractError):
    """A greetcue topic with a level that breaks the name rule (``Name``)."""


def new_id() -> UUID:
    """A UUIDv7: unique, and sortable by creation time (redelivery is harmless by id)."""
    return uuid7()


def utc(wall_s: float) -> datetime:
    """Seconds since the Unix epoch as an aware UTC datetime (ISO-8601 in JSON)."""
    return datetime.fromtimestamp(wall_s, UTC)


class Message(BaseModel):
    """Base of every payload: unknown fields are refused, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class EventBase(Message):
    """Fields every event carries; ``None`` where a field does not apply."""

    id: UUID = Field(description="UUIDv7 of the event; consumers drop repeats by id")
    site: Name
    camera: Name
    track_id: TrackId | None = Field(None, description="the tracked person, within this camera")
    visit_id: UUID | None = Field(
        None,
        description="the customer's visit (UUIDv7): unlike track_id it survives the tracker "
        "losing and finding the person again, so it ties one customer's events together",
    )
    zone: Name | None = Field(None, description="zone the event is about")
    distance_ft: Feet | None = Field(None, description="distance to the counter, feet")
    speed_ftps: Feet | None = Field(None, description="radial speed, ft/s; negative: approaching")
    tta_s: Seconds | None = Field(None, description=TTA_DESCRIPTION)
    captured_at: Time = Field(description="capture time of the frame that caused it")
    published_at: Time | None = Field(
        None,
        description="when the edge emitted it (wrote it to its outbox); a redelivery after an "
        "outage keeps this time, so captured_at to published_at is the edge's own delay",
    )


class TrackStart(EventBase):
    """A person is seen for the first time (a new track with a floor position)."""

    type: Literal["track_start"] = "track_start"


class TrackEnd(EventBase):
    """A person is no longer seen."""

    type: Literal["track_end"] = "track_end"
    duration_s: Seconds = Field(description="how long the person was tracked")
    reached: list[Name] = Field(
        max_length=MAX_ZONES, description="zones the person entered during the visit"
    )


class ZoneEnter(EventBase):
    """A person entered a zone (debounced)."""

    type: Literal["zone_enter"] = "zone_enter"
    approach: Approach
    crossed_at: Time = Field(description="capture time of the first frame inside")
    lead_s: Seconds | None = Field(
        None,
        description="ring crossing time minus the zone's cue time: how long before arrival "
        "staff were cued (negative: late); none when the zone gave no cue",
    )
    cue_id: UUID | None = Field(None, description="the cue this zone gave, if any")


class ZoneExit(EventBase):
    """A person left a zone (beyond its radius plus the margin, debounced)."""

    type: Literal["zone_exit"] = "zone_exit"
    approach: Approach
    dwell_s: Seconds = Field(description="time inside the zone")


class CueIssued(EventBase):
    """Staff were cued: a zone's predictive trigger, a waiting customer, or an escalation."""

    type: Literal["cue"] = "cue"
    cue_id: UUID
    device: Name = Field(description="device cued")
    reason: CueReason
    escalation: int = Field(
        ge=0, le=MAX_ESCALATION, description="0: first device of the rota; n: n-th escalation"
    )
    approach: Approach
    expires_at: Time = Field(description="the device cue's MQTT message expiry")


class AckRecorded(EventBase):
    """Staff acknowledged a cue."""

    type: Literal["ack"] = "ack"
    cue_id: UUID
    device: Name = Field(description="device the acknowledgement came from")
    staff: Name | None = None
    via: Literal["button", "mqtt"] = Field(description="GPIO button or the ack topic")
    cued_at: Time = Field(description="when the cue was first issued")
    latency_s: Duration = Field(description="acknowledgement time minus cue time")
    before: dict[Name, bool] = Field(
        max_length=MAX_ZONES,
        description="per zone: whether the ack came before the customer reached it",
    )


class CueUnacknowledged(EventBase):
    """A cued customer left before any acknowledgement (counted apart, never as an ack)."""

    type: Literal["left_unacknowledged"] = "left_unacknowledged"
    cue_id: UUID
    reason: CueReason
    cued_at: Time
    open_s: Duration = Field(description="how long the cue stayed open")


Event = Annotated[
    TrackStart | TrackEnd | ZoneEnter | ZoneExit | CueIssued | AckRecorded | CueUnacknowledged,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


class ZoneOccupancy(Message):
    """Retained state of one zone: who is in it now."""

    site: Name
    camera: Name
    zone: Name
    radius_ft: Radius
    count: People = Field(description="people inside now")
    nearest_ft: Feet | None = Field(None, description="distance of the nearest person inside")
    updated_at: Time


class CueCommand(Message):
    """Sent to a wearable, phone or light on ``<prefix>/<site>/cue/<device>``."""

    cue_id: UUID
    site: Name
    camera: Name
    device: Name
    zone: Name
    reason: CueReason
    escalation: int = Field(ge=0, le=MAX_ESCALATION)
    track_id: TrackId
    distance_ft: Feet | None = None
    tta_s: Seconds | None = Field(None, description=TTA_DESCRIPTION)
    issued_at: Time
    expires_at: Time = Field(
        description=f"ignore the cue after this (stale buzz); after issued_at, by at most "
        f"{MAX_CUE_EXPIRY_S:g} s"
    )

    @model_validator(mode="after")
    def _bounded_life(self, info: ValidationInfo) -> Self:
        life = (self.expires_at - self.issued_at).total_seconds()
        if not 0 < life <= MAX_CUE_EXPIRY_S:
            raise ValueError(
                f"expires_at must lie after issued_at by at most {MAX_CUE_EXPIRY_S:g} s "
                f"(it is {life:g} s)"
            )
        received_s = (info.context or {}).get("received_s")
        if received_s is not None and self.issued_at.timestamp() > received_s + MAX_CLOCK_SKEW_S:
            raise ValueError(
                f"issued_at lies more than {MAX_CLOCK_SKEW_S:g} s after its arrival; check the "
                "sender's clock (NTP)"
            )
        return self


class Ack(Message):
    """An acknowledgement on ``<prefix>/<site>/ack/<device>``, from a staff page, wearable or app;
    ``device`` equals the topic's device level (a broker ACL lets a device write only its own)."""

    cue_id: UUID
    device: Name
    staff: Name | None = None
    acked_at: Time | None = Field(
        None, description="the sender's clock, informational; latency uses the receive time"
    )


class Metrics(Message):
    """Service health every few seconds on ``<prefix>/<site>/<camera>/metrics`` (QoS 0)."""

    site: Name
    camera: Name
    at: Time
    camera_online: bool
    fps: float = Field(ge=0, le=MAX_FPS, allow_inf_nan=False)
    stage_ms: dict[Name, Millis] = Field(
        max_length=MAX_ENTRIES, description="median milliseconds per frame, per stage"
    )
    latency_ms_p50: Millis | None = Field(None, description="frame capture to broker PUBACK")
    latency_ms_p99: Millis | None = None
    outbox_depth: Total
    outbox_dropped: Total = Field(description="events dropped at the outbox bound, total")
    frames_dropped: Total = Field(description="frames the loop was too slow for, total")
    people: People = Field(description="people tracked now")
    refused: dict[Name, Total] = Field(
        default_factory=dict,
        max_length=MAX_ENTRIES,
        description="totals since start of what was refused, by kind: ack_payload (invalid "
        "ack messages), ack_topic_mismatch (an ack whose device differs from its topic's), "
        "ack_not_cued (an ack from a device the cue was never sent to), ack_unmatched (acks "
        "for no open cue), ack_inbox_full (acks past the edge's inbox bound), event_rejected "
        "(events the broker refused for good), handler_error (incoming messages that raised), "
        "ha_status_coalesced / ha_status_ignored (Home Assistant status messages beyond the "
        "one discovery re-send)",
    )


class Topic(StrEnum):
    """Every topic greetcue uses, as a template; build and parse them only here."""

    AVAILABILITY = "{prefix}/{site}/{camera}/availability"
    EVENT = "{prefix}/{site}/{camera}/event"
    ZONE = "{prefix}/{site}/{camera}/zone/{zone}"
    METRICS = "{prefix}/{site}/{camera}/metrics"
    CUE = "{prefix}/{site}/cue/{device}"
    ACK = "{prefix}/{site}/ack/{device}"
    HA_DISCOVERY = "{discovery_prefix}/device/{object_id}/config"
    HA_STATUS = "{discovery_prefix}/status"

    def build(self, **fields: str) -> str:
        """The topic for these names; a name with ``/``, ``+`` or ``#`` is refused."""
        for key, value in fields.items():
            if not value or any(c in value for c in "/+#"):
                raise ContractError(f"{key} {value!r} cannot be a topic level (no / + # or empty)")
        return self.value.format(**fields)

    def filter(self, **fields: str) -> str:
        """A subscription filter: the given names, ``+`` for the rest."""
        names = re.findall(r"{(\w+)}", self.value)
        return self.value.format(**{name: fields.get(name, "+") for name in names})


# A camera may not be called like a topic's fixed level, or its topics would be ambiguous.
RESERVED_CAMERA_NAMES = frozenset({"cue", "ack"})
_PARSED = (Topic.AVAILABILITY, Topic.EVENT, Topic.ZONE, Topic.METRICS, Topic.CUE, Topic.ACK)


_NAME = re.compile(NAME_PATTERN)


def parse_topic(topic: str, prefix: str = DEFAULT_PREFIX) -> tuple[Topic, dict[str, str]] | None:
    """Which greetcue topic this is and its names, or ``None`` for any other topic.
    ``TopicLevelError`` when it has a greetcue topic's shape but a level breaks the name rule
    (too long, or a character other than letters, digits and ``-_.``)."""
    levels = topic.split("/")
    for kind in _PARSED:
        pattern = kind.value.split("/")
        if len(pattern) != len(levels):
            continue
        fields: dict[str, str] = {}
        for want, got in zip(pattern, levels, strict=True):
            if want == "{prefix}":
                if got != prefix:
                    break
            elif want.startswith("{"):
                fields[want[1:-1]] = got
            elif want != got:
                break
        else:
            if fields.get("camera") in RESERVED_CAMERA_NAMES:
                continue
            for key, value in fields.items():
                if len(value) > MAX_NAME or not _NAME.fullmatch(value):
                    raise TopicLevelError(
                        f"the {key} level {value[:MAX_NAME]!r} is not a name "
                        f"(1-{MAX_NAME} letters, digits, - _ .)"
                    )
            return kind, fields
    return None


# The payload fields that must repeat the topic's names, per topic.
_TOPIC_NAMES: dict[Topic, tuple[str, ...]] = {
    Topic.EVENT: ("site", "camera"),
    Topic.ZONE: ("site", "camera", "zone"),
    Topic.METRICS: ("site", "camera"),
    Topic.CUE: ("site", "device"),
    Topic.ACK: ("device",),
}
_TOPIC_PAYLOADS: dict[Topic, tuple[type[BaseModel], ...]] = {
    Topic.EVENT: (EventBase,),
    Topic.ZONE: (ZoneOccupancy,),
    Topic.METRICS: (Metrics,),
    Topic.CUE: (CueCommand,),
    Topic.ACK: (Ack,),
}


def check_topic_agreement(kind: Topic, names: dict[str, str], message: BaseModel) -> None:
    """Refuse a decoded payload that disagrees with the topic it came on.

    ``kind`` and ``names`` are what :func:`parse_topic` returned for the topic, ``message``
    the payload decoded from it. The payload must be that topic's kind of message, and its
    ``site``, ``camera``, ``zone`` and ``device`` (those the topic names) must equal the
    topic's levels: an event on ``<prefix>/store-1/counter-1/event`` is about store-1's
    counter-1, an ack on ``<prefix>/<site>/ack/watch-2`` comes from watch-2. The dashboard
    and the edge both apply this rule, so a broker ACL on topics also binds the payloads.
    Raises ``ContractError`` naming the first disagreement; availability has nothing to check.
    """
    wanted = _TOPIC_PAYLOADS.get(kind)
    if wanted is None:
        return
    if not isinstance(message, wanted):
        raise ContractError(
            f"a {type(message).__name__} payload does not belong on a {kind.name.lower()} topic"
        )
    for key in _TOPIC_NAMES[kind]:
        said = getattr(message, key)
        if said != names[key]:
            raise ContractError(
                f"the payload's {key} {said!r} differs from the topic's {names[key]!r}"
            )


def encode(message: BaseModel) -> bytes:
    """A model as compact JSON bytes (nulls kept: consumers rely on every field)."""
    return message.model_dump_json().encode()


def decode(model: type[Message], payload: bytes, received_s: float | None = None) -> Any:
    """Validate a payload from outside as ``model``; ``ContractError`` says what is wrong.
    ``received_s`` (default: now) is its arrival time, against which a cue command's times
    are checked."""
    context = {"received_s": time.time() if received_s is None else received_s}
    try:
        return model.model_validate_json(payload, context=context)
    except ValidationError as exc:
        raise ContractError(_summary(exc)) from None


def decode_event(payload: bytes) -> Event:
    """Validate an event payload of any type; ``ContractError`` says what is wrong."""
    try:
        return EVENT_ADAPTER.validate_json(payload)
    except ValidationError as exc:
        raise ContractError(_summary(exc)) from None


def decode_availability(payload: bytes) -> Availability:
    """``online`` or ``offline``; anything else is a ``ContractError``."""
    text = payload.decode("utf-8", "replace").strip()
    if text == "online":
        return "online"
    if text == "offline":
        return "offline"
    raise ContractError(f"availability must be 'online' or 'offline', got {text[:40]!r}")


def _summary(exc: ValidationError) -> str:
    """The first few problems, one line each, short enough for a log line."""
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(p) for p in err["loc"]) or "payload"
        parts.append(f"{loc}: {err['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schema of every payload, by file stem, for ``deploy/schemas/``."""
    out: dict[str, dict[str, Any]] = {"event": EVENT_ADAPTER.json_schema()}
    for name, model in (
        ("zone-occupancy", ZoneOccupancy),
        ("cue-command", CueCommand),
        ("ack", Ack),
        ("metrics", Metrics),
    ):
        out[name] = model.model_json_schema()
    out["availability"] = TypeAdapter(Availability).json_schema()
    for name, schema in out.items():
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema.setdefault("title", name)
        schema["x-greetcue-contract-version"] = CONTRACT_VERSION
    return out
