"""The JSON API: everything the pages show, for integrations (OpenAPI at ``/docs``)."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sse_starlette.sse import EventSourceResponse

from dashboard import auth, queries
from dashboard.analytics import Filters, Report
from dashboard.camera_health import warnings
from dashboard.web import access
from dashboard.web.access import Manager
from dashboard.web.filters import read_filters, refuse
from dashboard.web.goals_in_force import goals_in_force
from edge.contract import Name

router = APIRouter(prefix="/api", tags=["api"])
Filtered = Annotated[Filters, Depends(read_filters)]
Types = Annotated[list[str] | None, Query(description="event types to keep")]
PING_S = 15


def event_types(types: list[str] | None) -> list[str] | None:
    for kind in types or []:
        if kind not in queries.EVENT_TYPES:
            refuse("type", kind, f"type {kind[:30]!r} is not one of {queries.EVENT_TYPES}")
    return types or None


@router.get("/overview", summary="Cameras, zones now, latest events, ingest health")
def overview(request: Request, _who: Manager, site: str | None = None) -> dict[str, Any]:
    settings, state = request.app.state.settings, request.app.state
    filters = read_filters(request, site=site, start=None, end=None)
    with state.engine.connect() as connection:
        cameras = queries.cameras(connection, filters.site)
        recent = queries.events(
            connection,
            Filters(0, time.time() + 86400, site=filters.site),
            limit=settings.recent_events,
        )
    now_s = time.time()
    for camera in cameras:
        camera["warnings"] = warnings(camera, now_s, settings.camera_health)
    stats = state.ingest.stats if state.ingest else None
    return {
        "today": today(request, filters.site),
        "cameras": cameras,
        "events": recent,
        "ingest": None
        if stats is None
        else {
            "connected": stats.connected,
            "received": stats.received,
            "stored": stats.stored,
            "duplicates": stats.duplicates,
            "refused": dict(stats.refused),
            "lag_s": stats.lag_s,
        },
    }


WAITING_NOW_S = 3600.0  # an open cue older than this is no customer waiting now


def today(request: Request, site: str | None) -> dict[str, Any]:
    """Today so far (the site's day, or the default time zone's for the chain): the figures of
    the whole, per site, and the customers waiting now (open cues, oldest first)."""
    settings, state = request.app.state.settings, request.app.state
    day = datetime.now(settings.zone_of(site or "")).date().isoformat()
    filters = read_filters(request, site=site, start=day, end=day)
    _, _, analytics = goals_in_force(request)
    with state.engine.connect() as connection:
        report = analytics.report(connection, filters)
        waiting = queries.open_cues(connection, time.time() - WAITING_NOW_S, site)
    return {
        "day": day,
        "overall": report.overall.as_dict(),
        "sites": report.league_sites,
        "waiting_now": waiting,
    }


@router.get("/acks", summary="Acknowledgement figures for the filters")
def acks(request: Request, _who: Manager, filters: Filtered) -> dict[str, Any]:
    report, previous = reports(request, filters)
    return {"filters": filters.__dict__, **report.as_dict(), "previous": previous}


def reports(request: Request, filters: Filters) -> tuple[Report, dict[str, Any]]:
    """The figures for the filters, and the previous period's overall figures beside them."""
    _, _, analytics = goals_in_force(request)
    with request.app.state.engine.connect() as connection:
        report = analytics.report(connection, filters)
        before = analytics.report(connection, filters.previous())
    return report, before.overall.as_dict()


REPORT_FIELDS = (
    "section",
    "key",
    "customers",
    "acknowledged",
    "left",
    "closed",
    "open",
    "within_goal",
    "p50_s",
    "p90_s",
    "p99_s",
    "slowest_s",
)


@router.get(
    "/acks.csv",
    summary="The Acknowledgement report as CSV: overall, previous period, by daypart, stores",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def acks_csv(request: Request, _who: Manager, filters: Filtered) -> StreamingResponse:
    report, previous = reports(request, filters)
    data = report.as_dict()
    rows = [{"section": "overall", "key": "this period", **data["overall"]}]
    rows.append({"section": "overall", "key": "previous period", **previous})
    for section in ("by_daypart", "by_day", "league_sites", "league_cameras"):
        rows += [{"section": section, **row} for row in data[section]]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, REPORT_FIELDS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    name = f"greetcue-acknowledgement-{filters.site or 'all'}.csv"
    return StreamingResponse(
        iter([buffer.getvalue()]),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/events", summary="Stored events, newest first")
def events(
    request: Request,
    _who: Manager,
    filters: Filtered,
    type: Types = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
    before_s: Annotated[float | None, Query(description="page: older than this")] = None,
) -> list[dict[str, Any]]:
    with request.app.state.engine.connect() as connection:
        found = queries.events(connection, filters, event_types(type), limit, before_s)
    return [_team_only(request, event) for event in found]


def _team_only(request: Request, event: dict[str, Any]) -> dict[str, Any]:
    """The event without who acknowledged it, unless figures per person are on."""
    if request.app.state.settings.privacy.per_person or event.get("staff") is None:
        return event
    return {**event, "staff": None}


CSV_FIELDS = (
    "captured_at",
    "type",
    "site",
    "camera",
    "track_id",
    "zone",
    "distance_ft",
    "speed_ftps",
    "tta_s",
    "cue_id",
    "device",
    "staff",
    "latency_s",
    "lead_s",
    "id",
)


@router.get(
    "/events.csv",
    summary="The event log as CSV (UTC times)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def events_csv(
    request: Request, _who: Manager, filters: Filtered, type: Types = None
) -> StreamingResponse:
    kinds = event_types(type)

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        with request.app.state.engine.connect() as connection:
            for n, event in enumerate(queries.all_events(connection, filters, kinds)):
                writer.writerow(_team_only(request, event))
                if n % 1000 == 999:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue()

    name = f"greetcue-events-{filters.site or 'all'}.csv"
    return StreamingResponse(
        rows(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/live", summary="Server-sent events: new events, zones, cameras")
async def live(request: Request, _who: Manager) -> EventSourceResponse:
    async def updates() -> AsyncIterator[dict[str, str]]:
        async for update in request.app.state.hub.stream():
            data = _team_only(request, update.data) if update.kind == "event" else update.data
            yield {"event": update.kind, "data": json.dumps(data)}

    return EventSourceResponse(updates(), ping=PING_S)


class StaffLinkRequest(BaseModel):
    """A new staff link for a device (replaces its previous link)."""

    device: Name
    site: Name


class StaffLink(BaseModel):
    """A device's staff link; the key is shown only when it is made."""

    device: str
    site: str | None
    created_s: float
    url: str | None = Field(None, description="only in the answer that made it")


def _csrf_for_session(request: Request, who: auth.Principal, sent: str | None) -> None:
    if who.kind == "user":  # a browser: ambient cookie, so the form token must match
        access.check_csrf(request, sent)


@router.get("/staff-links", summary="Devices with a live staff link, by site")
def staff_links(request: Request, _who: Manager) -> list[StaffLink]:
    with request.app.state.engine.connect() as connection:
        rows = auth.live_tokens(connection, "staff")
    return [StaffLink(device=name, site=site, created_s=at) for name, site, at in rows]


def staff_url(request: Request, device: str, key: str) -> str:
    """The link a staff member opens on their phone or watch."""
    base = request.app.state.settings.listen.public_url or str(request.base_url)
    return auth.staff_link(base, device, key)


@router.post("/staff-links", summary="Make a staff link (revokes that site's device's old one)")
def make_staff_link(
    request: Request,
    who: Manager,
    body: StaffLinkRequest,
    x_csrf_token: Annotated[str | None, Header()] = None,
) -> StaffLink:
    _csrf_for_session(request, who, x_csrf_token)
    with request.app.state.engine.begin() as connection:
        key = auth.issue_token(connection, "staff", body.device, body.site)
    return StaffLink(
        device=body.device,
        site=body.site,
        created_s=time.time(),
        url=staff_url(request, body.device, key),
    )


@router.delete("/staff-links/{site}/{device}", summary="Revoke a site's device's staff link")
def revoke_staff_link(
    request: Request,
    who: Manager,
    site: str,
    device: str,
    x_csrf_token: Annotated[str | None, Header()] = None,
) -> dict[str, int]:
    _csrf_for_session(request, who, x_csrf_token)
    with request.app.state.engine.begin() as connection:
        return {"revoked": auth.revoke(connection, "staff", device, site)}
