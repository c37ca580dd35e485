"""Writing what arrives: each event once by id, and what it means for its cue, the camera and
the zone. Safe with several ingest workers on one database: an event's effects are applied
only by the worker whose insert created it, and every update is order-independent (the first
ack wins whatever order acks arrive in)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, case, func, select
from sqlalchemy.dialects import postgresql, sqlite

from dashboard.store.tables import AckBeforeRow, CameraRow, CueRow, EventRow, OccupancyRow
from edge.contract import AckRecorded, CueIssued, CueUnacknowledged, Event, ZoneEnter

Row = dict[str, Any]


@dataclass(frozen=True)
class Availability:
    """A camera went online or offline."""

    site: str
    camera: str
    online: bool
    at_s: float


@dataclass(frozen=True)
class MetricsSeen:
    """A camera's latest metrics payload."""

    site: str
    camera: str
    payload: str
    at_s: float


@dataclass(frozen=True)
class Received:
    """A valid event with the time it reached the dashboard."""

    event: Event
    received_s: float


def _insert(connection: Connection, table: Any) -> Any:
    """A dialect insert with ``on_conflict_*`` (SQLite and PostgreSQL spell it alike)."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def event_row(item: Received) -> Row:
    """The ``events`` row of an event."""
    event = item.event
    return {
        "id": str(event.id),
        "type": event.type,
        "site": event.site,
        "camera": event.camera,
        "track_id": event.track_id,
        "zone": event.zone,
        "device": getattr(event, "device", None),
        "staff": getattr(event, "staff", None),
        "cue_id": str(cue) if (cue := getattr(event, "cue_id", None)) else None,
        "captured_s": event.captured_at.timestamp(),
        "received_s": item.received_s,
        "payload": event.model_dump_json(),
    }


def store_events(connection: Connection, items: Sequence[Received]) -> list[Received]:
    """Insert the events not stored yet; apply the effects of those, return them."""
    if not items:
        return []
    unique = {str(item.event.id): item for item in items}
    statement = _insert(connection, EventRow).on_conflict_do_nothing().returning(EventRow.id)
    new_ids = set(connection.scalars(statement, [event_row(i) for i in unique.values()]))
    fresh = [item for key, item in unique.items() if key in new_ids]
    for item in fresh:
        _apply(connection, item.event)
    return fresh


def _apply(connection: Connection, event: Event) -> None:
    if isinstance(event, CueIssued):
        _cue_issued(connection, event)
    elif isinstance(event, ZoneEnter) and event.cue_id is not None:
        _merge_cue(connection, event, {"lead_s": event.lead_s}, {"lead_s": event.lead_s})
    elif isinstance(event, AckRecorded):
        _ack(connection, event)
    elif isinstance(event, CueUnacknowledged):
        left = event.captured_at.timestamp()
        keys = {"left_s": left, "cued_s": event.cued_at.timestamp(), "reason": event.reason}
        _merge_cue(connection, event, keys, {"left_s": left})


def _merge_cue(connection: Connection, event: Any, new: Row, update: Any) -> None:
    """Create the cue's row with ``new`` or, when it exists, set ``update`` on it."""
    values = {"cue_id": str(event.cue_id), "site": event.site, "camera": event.camera}
    values |= {"track_id": event.track_id, "zone": event.zone} | new
    statement = _insert(connection, CueRow).values(**values)
    connection.execute(statement.on_conflict_do_update(index_elements=["cue_id"], set_=update))


def _cue_issued(connection: Connection, event: CueIssued) -> None:
    expires = event.expires_at.timestamp()
    if event.escalation == 0:
        first = {
            "issued": True,
            "reason": event.reason,
            "device": event.device,
            "cued_s": event.captured_at.timestamp(),
            "track_id": event.track_id,
            "zone": event.zone,
        }
        _merge_cue(connection, event, first | {"expires_s": expires}, first)
        return
    table = CueRow.__table__.c
    update = {
        "escalations": func.max(table.escalations, event.escalation)
        if connection.dialect.name == "sqlite"
        else func.greatest(table.escalations, event.escalation),
        "expires_s": expires,
    }
    _merge_cue(connection, event, {"escalations": event.escalation, "expires_s": expires}, update)


def _ack(connection: Connection, event: AckRecorded) -> None:
    acked = event.cued_at.timestamp() + event.latency_s
    ack = {
        "ack_event": str(event.id),
        "acked_s": acked,
        "latency_s": event.latency_s,
        "ack_device": event.device,
        "staff": event.staff,
    }
    column = CueRow.__table__.c
    first = (column.acked_s.is_(None)) | (column.acked_s > acked)
    update: Row = {key: case((first, value), else_=column[key]) for key, value in ack.items()}
    update["acks"] = column.acks + 1
    new = ack | {"acks": 1, "cued_s": event.cued_at.timestamp()}
    _merge_cue(connection, event, new, update)
    rows = [{"event_id": str(event.id), "zone": z, "before": b} for z, b in event.before.items()]
    if rows:
        connection.execute(_insert(connection, AckBeforeRow).on_conflict_do_nothing(), rows)


def store_availability(connection: Connection, item: Availability) -> None:
    """A camera's availability; an older message never overwrites a newer one."""
    values = {"site": item.site, "camera": item.camera, "online": item.online}
    values["changed_s"] = item.at_s
    statement = _insert(connection, CameraRow).values(**values)
    table = CameraRow.__table__.c
    statement = statement.on_conflict_do_update(
        index_elements=["site", "camera"],
        set_={"online": item.online, "changed_s": item.at_s},
        where=table.changed_s <= item.at_s,
    )
    connection.execute(statement)


def store_metrics(connection: Connection, item: MetricsSeen) -> None:
    """A camera's latest metrics (creating the camera, offline-unknown, if new)."""
    values = {"site": item.site, "camera": item.camera, "online": True, "changed_s": item.at_s}
    statement = _insert(connection, CameraRow).values(
        **values, metrics=item.payload, metrics_s=item.at_s
    )
    statement = statement.on_conflict_do_update(
        index_elements=["site", "camera"], set_={"metrics": item.payload, "metrics_s": item.at_s}
    )
    connection.execute(statement)


def store_occupancy(connection: Connection, values: Row) -> None:
    """A zone's retained occupancy; an older message never overwrites a newer one."""
    statement = _insert(connection, OccupancyRow).values(**values)
    keep = {k: v for k, v in values.items() if k not in ("site", "camera", "zone")}
    statement = statement.on_conflict_do_update(
        index_elements=["site", "camera", "zone"],
        set_=keep,
        where=OccupancyRow.__table__.c.updated_s <= values["updated_s"],
    )
    connection.execute(statement)


def known_event_ids(connection: Connection, ids: Sequence[str]) -> set[str]:
    """Which of these event ids are stored (for tests and the bench)."""
    return set(connection.scalars(select(EventRow.id).where(EventRow.id.in_(ids))))


def count_events(connection: Connection) -> int:
    """How many events are stored."""
    return int(connection.scalar(select(func.count()).select_from(EventRow)) or 0)
