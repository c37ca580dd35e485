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
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from uuid6 import uuid7

CONTRACT_VERSION = 1
DEFAULT_PREFIX = "greetcue"

Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Seconds = Annotated[float, Field(allow_inf_nan=False)]
Feet = Annotated[float, Field(allow_inf_nan=False)]
Approach = Literal["approaching", "passing", "leaving", "standing", "unknown"]
CueReason = Literal["zone", "waiting"]
Availability = Literal["online", "offline"]


class ContractError(ValueError):
    """A payload or topic does not follow the contract; the message says what is wrong."""


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
    track_id: int | None = Field(None, description="the tracked person, within this camera")
    zone: Name | None = Field(None, description="zone the event is about")
    distance_ft: Feet | None = Field(None, description="distance to the counter, feet")
    speed_ftps: Feet | None = Field(None, description="radial speed, ft/s; negative: approaching")
    tta_s: Seconds | None = Field(None, description="seconds until the next zone ring is crossed")
    captured_at: AwareDatetime = Field(description="capture time of the frame that caused it")
    published_at: AwareDatetime | None = Field(
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
    reached: list[Name] = Field(description="zones the person entered during the visit")


class ZoneEnter(EventBase):
    """A person entered a zone (debounced)."""

    type: Literal["zone_enter"] = "zone_enter"
    approach: Approach
    crossed_at: AwareDatetime = Field(description="capture time of the first frame inside")
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
    escalation: int = Field(ge=0, description="0: first device of the rota; n: n-th escalation")
    approach: Approach
    expires_at: AwareDatetime = Field(description="the device cue's MQTT message expiry")


class AckRecorded(EventBase):
    """Staff acknowledged a cue."""

    type: Literal["ack"] = "ack"
    cue_id: UUID
    device: Name = Field(description="device the acknowledgement came from")
    staff: Name | None = None
    via: Literal["button", "mqtt"] = Field(description="GPIO button or the ack topic")
    cued_at: AwareDatetime = Field(description="when the cue was first issued")
    latency_s: Seconds = Field(ge=0, description="acknowledgement time minus cue time")
    before: dict[Name, bool] = Field(
        description="per zone: whether the ack came before the customer reached it"
    )


class CueUnacknowledged(EventBase):
    """A cued customer left before any acknowledgement (counted apart, never as an ack)."""

    type: Literal["left_unacknowledged"] = "left_unacknowledged"
    cue_id: UUID
    reason: CueReason
    cued_at: AwareDatetime
    open_s: Seconds = Field(ge=0, description="how long the cue stayed open")


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
    radius_ft: Feet
    count: int = Field(ge=0, description="people inside now")
    nearest_ft: Feet | None = Field(None, description="distance of the nearest person inside")
    updated_at: AwareDatetime


class CueCommand(Message):
    """Sent to a wearable, phone or light on ``<prefix>/<site>/cue/<device>``."""

    cue_id: UUID
    site: Name
    camera: Name
    device: Name
    zone: Name
    reason: CueReason
    escalation: int = Field(ge=0)
    track_id: int
    distance_ft: Feet | None = None
    tta_s: Seconds | None = None
    issued_at: AwareDatetime
    expires_at: AwareDatetime = Field(description="ignore the cue after this (stale buzz)")


class Ack(Message):
    """An acknowledgement on ``<prefix>/<site>/ack/<device>``, from a staff page, wearable or app;
    ``device`` equals the topic's device level (a broker ACL lets a device write only its own)."""

    cue_id: UUID
    device: Name
    staff: Name | None = None
    acked_at: AwareDatetime | None = Field(
        None, description="the sender's clock, informational; latency uses the receive time"
    )


class Metrics(Message):
    """Service health every few seconds on ``<prefix>/<site>/<camera>/metrics`` (QoS 0)."""

    site: Name
    camera: Name
    at: AwareDatetime
    camera_online: bool
    fps: float = Field(ge=0)
    stage_ms: dict[str, float] = Field(description="median milliseconds per frame, per stage")
    latency_ms_p50: float | None = Field(None, description="frame capture to broker PUBACK")
    latency_ms_p99: float | None = None
    outbox_depth: int = Field(ge=0)
    outbox_dropped: int = Field(ge=0, description="events dropped at the outbox bound, total")
    frames_dropped: int = Field(ge=0, description="frames the loop was too slow for, total")
    people: int = Field(ge=0, description="people tracked now")
    refused: dict[str, int] = Field(
        default_factory=dict,
        description="totals since start of what was refused, by kind: ack_payload (invalid "
        "ack messages), ack_unmatched (acks for no open cue), event_rejected (events the "
        "broker refused for good), handler_error (incoming messages that raised)",
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


def parse_topic(topic: str, prefix: str = DEFAULT_PREFIX) -> tuple[Topic, dict[str, str]] | None:
    """Which greetcue topic this is and its names, or ``None`` for any other topic."""
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
            return kind, fields
    return None


def encode(message: BaseModel) -> bytes:
    """A model as compact JSON bytes (nulls kept: consumers rely on every field)."""
    return message.model_dump_json().encode()


def decode(model: type[Message], payload: bytes) -> Any:
    """Validate a payload from outside as ``model``; ``ContractError`` says what is wrong."""
    try:
        return model.model_validate_json(payload)
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
