"""The staff page: a phone or watch gets its device's cues live and acknowledges with a tap.

A device's key arrives once in its link (``?key=``) and is kept in a cookie for that device's
path only; every request is checked against the live (not revoked) key of that device. The key
names the device's site: a page sees, and acknowledges, only its own site's cues.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import BaseModel, Field
from sse_starlette.event import ServerSentEvent
from sse_starlette.sse import EventSourceResponse

from dashboard import roster
from dashboard.live import DeviceId
from dashboard.push import (
    MAX_ENDPOINT,
    PushRefusedError,
    Subscription,
    check_endpoint,
    remove,
    save,
)
from dashboard.staff_words import BY_ZONE, COMING, WAITING
from dashboard.web import access
from dashboard.web.api import PING_S
from edge.contract import Ack, encode

log = logging.getLogger(__name__)
router = APIRouter(prefix="/staff", tags=["staff"])
Device = Annotated[DeviceId, Depends(access.staff_device)]
STATIC = Path(__file__).resolve().parent.parent / "static"
NO_STORE = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


class AckBody(BaseModel):
    """A tap on Acknowledge."""

    cue_id: UUID


class SignIn(BaseModel):
    """Who is on this device: a name on the site's staff list, and their code if they have
    one."""

    staff: str = Field(min_length=1, max_length=64)
    code: str | None = Field(None, max_length=32)


ON_DUTY = "greetcue_on_duty"


def _on_duty_cookie(staff: DeviceId) -> str:
    return f"{ON_DUTY}_{staff.device}"


def _signer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(request.app.state.secret, salt="greetcue-on-duty")


def on_duty(request: Request, staff: DeviceId) -> str | None:
    """Who signed in on this device's page (None: nobody, or a sign-in for another device or
    for someone since taken off the list)."""
    token = request.cookies.get(_on_duty_cookie(staff))
    if not token:
        return None
    try:
        site, device, name = _signer(request).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if DeviceId(str(site), str(device)) != staff:
        return None
    with request.app.state.engine.connect() as connection:
        names = {m.name for m in roster.members(connection, staff.site)}
    return str(name) if name in names else None


def _keeps_a_list(request: Request, staff: DeviceId) -> bool:
    """Whether the device's site keeps a staff list (then its acks need a signed-in name)."""
    with request.app.state.engine.connect() as connection:
        return bool(roster.members(connection, staff.site))


@router.get("/sw.js", include_in_schema=False)
def service_worker() -> Response:
    """The staff page's service worker, served from the scope it controls."""
    return FileResponse(
        STATIC / "staff-sw.js",
        media_type="text/javascript",
        headers={"Service-Worker-Allowed": "/staff/", "Cache-Control": "no-cache"},
    )


@router.get("/{device}", include_in_schema=False)
def page(request: Request, staff: Device) -> Response:
    """The cue page; a link's ``?key=`` moves into a cookie and out of the address bar."""
    device, key = staff.device, request.query_params.get("key")
    if key:
        response: Response = RedirectResponse(f"/staff/{device}", status_code=303)
        response.set_cookie(
            f"{access.STAFF_COOKIE}_{device}",
            key,
            path=f"/staff/{device}",
            httponly=True,
            samesite="strict",
            max_age=400 * 86400,
            secure=request.app.state.settings.security.secure_cookies,
        )
        return response
    with request.app.state.engine.connect() as connection:
        team = roster.members(connection, staff.site)
    context = {
        "device": device,
        "site": staff.site,
        "stream_url": f"/staff/{device}/stream",
        "ack_url": f"/staff/{device}/ack",
        "manifest_url": f"/staff/{device}/manifest.webmanifest",
        "static": "/static",
        "zone_colours": request.app.state.settings.zone_colours,
        "version": request.app.version,
        "push_key": request.app.state.push_key,
        "signin_url": f"/staff/{device}/signin",
        "roster": [{"name": m.name, "code": m.has_code} for m in team],
        "on_duty": on_duty(request, staff),
        "push_url": f"/staff/{device}/push",
        "words": {"coming": COMING, "waiting": WAITING, "by_zone": BY_ZONE},
    }
    page: Response = request.app.state.templates.TemplateResponse(request, "staff.html", context)
    page.headers["Cache-Control"] = "no-store"
    return page


@router.get("/{device}/manifest.webmanifest", include_in_schema=False)
def manifest(staff: Device) -> JSONResponse:
    """Makes the page installable on the home screen."""
    device = staff.device
    icons = [
        {
            "src": f"/static/icons/icon-{size}.png",
            "sizes": f"{size}x{size}",
            "type": "image/png",
            "purpose": "any",
        }
        for size in (192, 512)
    ]
    icons.append(
        {
            "src": "/static/icons/icon-maskable-512.png",
            "sizes": "512x512",
            "type": "image/png",
            "purpose": "maskable",
        }
    )
    body = {
        "name": f"greetcue staff: {device} ({staff.site})",
        "short_name": "greetcue",
        "id": f"/staff/{device}",
        "start_url": f"/staff/{device}",
        "scope": "/staff/",
        "display": "standalone",
        "background_color": "#0b1220",
        "theme_color": "#0b1220",
        "icons": icons,
    }
    return JSONResponse(body, media_type="application/manifest+json")


@router.get("/{device}/stream", include_in_schema=False)
async def stream(request: Request, staff: Device) -> EventSourceResponse:
    """This device's cues as server-sent events; ``hello`` carries what is pending now."""
    hub = request.app.state.hub

    async def updates() -> AsyncIterator[dict[str, str]]:
        listening = hub.stream(staff)
        hello = {"pending": hub.pending(staff), "server_time": datetime.now(UTC).isoformat()}
        yield {"event": "hello", "data": json.dumps(hello)}
        async for update in listening:
            yield {"event": update.kind, "data": json.dumps(update.data)}

    return EventSourceResponse(updates(), ping=PING_S, ping_message_factory=_ping, headers=NO_STORE)


def _ping() -> ServerSentEvent:
    """A named ping the page can see (comments are invisible to it): silence means stalled."""
    return ServerSentEvent(event="ping", data="{}")


class Unsubscribe(BaseModel):
    """A browser subscription to forget."""

    endpoint: str = Field(min_length=1, max_length=MAX_ENDPOINT)


def _same_page(x_requested_with: str | None) -> None:
    if x_requested_with != "greetcue":  # a cross-site form cannot set this header
        raise HTTPException(403, "send X-Requested-With: greetcue")


@router.post("/{device}/push", summary="Alert this device with its screen off (Web Push)")
def subscribe(
    request: Request,
    staff: Device,
    body: Subscription,
    x_requested_with: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Keep this browser's push subscription for the device: its cues are pushed to it."""
    _same_page(x_requested_with)
    settings = request.app.state.settings.push
    if not settings.enabled:
        raise HTTPException(404, "Web Push is turned off on this dashboard (push.enabled)")
    try:
        check_endpoint(body.endpoint, settings.endpoint_hosts)
    except PushRefusedError as exc:
        log.warning("push subscription of %s refused: %s", staff, exc)
        raise HTTPException(422, str(exc)) from None
    save(request.app.state.engine, staff, body, settings.per_device)
    return {"ok": True}


@router.delete("/{device}/push", summary="Stop alerting this device with its screen off")
def unsubscribe(
    request: Request,
    staff: Device,
    body: Unsubscribe,
    x_requested_with: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    _same_page(x_requested_with)
    return {"ok": remove(request.app.state.engine, staff, body.endpoint)}


@router.post("/{device}/signin", summary="Sign in on this device with a name on the staff list")
def sign_in(
    request: Request,
    staff: Device,
    body: SignIn,
    x_requested_with: Annotated[str | None, Header()] = None,
) -> Response:
    """Check the name (and code) against the site's staff list; the page's acks then carry it."""
    _same_page(x_requested_with)
    with request.app.state.engine.connect() as connection:
        try:
            roster.sign_in(connection, staff.site, body.staff, body.code)
        except roster.RosterError as exc:
            log.warning("staff sign-in on %s refused: %s", staff, exc)
            raise HTTPException(403, str(exc)) from None
    response = JSONResponse({"ok": True, "staff": body.staff})
    response.set_cookie(
        _on_duty_cookie(staff),
        _signer(request).dumps([staff.site, staff.device, body.staff]),
        path=f"/staff/{staff.device}",
        httponly=True,
        samesite="strict",
        max_age=16 * 3600,  # a shift: sign in again the next day
        secure=request.app.state.settings.security.secure_cookies,
    )
    return response


@router.post("/{device}/ack", summary="Acknowledge a cue from the staff page")
def acknowledge(
    request: Request,
    staff: Device,
    body: AckBody,
    x_requested_with: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Publish the ack on this device's ack topic at its own site; the edge answers with the
    ack event."""
    _same_page(x_requested_with)
    hub, ingest = request.app.state.hub, request.app.state.ingest
    cue = next((c for c in hub.pending(staff) if c["cue_id"] == str(body.cue_id)), None)
    if cue is None:
        raise HTTPException(409, "this cue is no longer open (acknowledged, expired or gone)")
    who = on_duty(request, staff)
    if who is None and _keeps_a_list(request, staff):
        raise HTTPException(403, "sign in with your name first (this store keeps a staff list)")
    ack = Ack(cue_id=body.cue_id, device=staff.device, staff=who, acked_at=datetime.now(UTC))
    topic = request.app.state.settings.broker.ack_topic(staff.site, staff.device)
    if ingest is None or not ingest.publish_ack(topic, encode(ack)):
        raise HTTPException(503, "the broker is not reachable; not sent, try again")
    issued = datetime.fromisoformat(cue["issued_at"])
    return {"ok": True, "latency_s": (datetime.now(UTC) - issued).total_seconds()}
