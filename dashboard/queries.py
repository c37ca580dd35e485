"""What the overview and the event log read: cameras, zones now, events, filter choices."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Select, select

from dashboard.analytics import Filters
from dashboard.store.tables import CameraRow, CueRow, EventRow, OccupancyRow

EVENT_TYPES = (
    "track_start",
    "track_end",
    "zone_enter",
    "zone_exit",
    "cue",
    "ack",
    "left_unacknowledged",
)


def cameras(connection: Connection, site: str | None = None) -> list[dict[str, Any]]:
    """Every camera with its availability, latest metrics, zones now and when it last said
    anything (``seen_s``)."""
    query = select(*CameraRow.__table__.c).order_by(CameraRow.site, CameraRow.camera)
    if site:
        query = query.where(CameraRow.site == site)
    zones: dict[tuple[str, str], list[dict[str, Any]]] = {}
    zone_query = select(*OccupancyRow.__table__.c).order_by(OccupancyRow.radius_ft.desc())
    for zone in connection.execute(zone_query):
        zones.setdefault((zone.site, zone.camera), []).append(
            {
                "zone": zone.zone,
                "radius_ft": zone.radius_ft,
                "count": zone.count,
                "nearest_ft": zone.nearest_ft,
                "updated_s": zone.updated_s,
            }
        )
    out = []
    for row in connection.execute(query):
        metrics = json.loads(row.metrics) if row.metrics else None
        here = zones.get((row.site, row.camera), [])
        heard = [row.changed_s, row.metrics_s or 0, *(zone["updated_s"] for zone in here)]
        out.append(
            {
                "site": row.site,
                "camera": row.camera,
                "online": row.online,
                "changed_s": row.changed_s,
                "seen_s": max(heard),
                "metrics": metrics,
                "zones": here,
            }
        )
    return out


def _event_query(filters: Filters, types: list[str] | None) -> Select[Any]:
    e = EventRow.__table__.c
    query = select(e.payload, e.received_s).where(
        e.captured_s >= filters.start_s, e.captured_s < filters.end_s
    )
    for column, value in (
        ("site", filters.site),
        ("camera", filters.camera),
        ("device", filters.device),
        ("staff", filters.staff),
    ):
        if value:
            query = query.where(e[column] == value)
    if types:
        query = query.where(e.type.in_(types))
    return query.order_by(e.captured_s.desc())


def events(
    connection: Connection,
    filters: Filters,
    types: list[str] | None = None,
    limit: int = 200,
    before_s: float | None = None,
) -> list[dict[str, Any]]:
    """Stored events newest first, as sent (plus when they arrived)."""
    query = _event_query(filters, types)
    if before_s is not None:
        query = query.where(EventRow.__table__.c.captured_s < before_s)
    rows = connection.execute(query.limit(limit))
    return [json.loads(payload) | {"received_s": at} for payload, at in rows]


def all_events(
    connection: Connection, filters: Filters, types: list[str] | None = None
) -> Iterator[dict[str, Any]]:
    """Every matching event, newest first, streamed from the database."""
    rows = connection.execution_options(yield_per=2000).execute(_event_query(filters, types))
    for payload, at in rows:
        yield json.loads(payload) | {"received_s": at}


def choices(connection: Connection) -> dict[str, list[str]]:
    """The values each filter can take, from what is stored."""
    c = CueRow.__table__.c
    out = {
        "site": [s for (s,) in connection.execute(select(CameraRow.site).distinct())],
        "camera": [s for (s,) in connection.execute(select(CameraRow.camera).distinct())],
        "device": [s for (s,) in connection.execute(select(c.device).distinct()) if s],
        "staff": [s for (s,) in connection.execute(select(c.staff).distinct()) if s],
    }
    return {key: sorted(set(values)) for key, values in out.items()}


def open_cues(connection: Connection, since_s: float, site: str | None) -> list[dict[str, Any]]:
    """Cues still open (no ack, the customer not seen leaving, not closed) issued since
    ``since_s``: the customers waiting now, oldest first."""
    c = CueRow.__table__.c
    query = select(c.site, c.camera, c.zone, c.reason, c.cued_s).where(
        c.issued.is_(True),
        c.cued_s >= since_s,
        c.acked_s.is_(None),
        c.left_s.is_(None),
        c.closed_s.is_(None),
    )
    if site:
        query = query.where(c.site == site)
    rows = connection.execute(query.order_by(c.cued_s).limit(100))
    return [dict(r._mapping) for r in rows]
