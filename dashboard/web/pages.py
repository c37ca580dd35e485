"""Manager pages, server-rendered: login, overview, acknowledgement, event log, devices."""

from __future__ import annotations

import time
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine

from dashboard import auth, queries
from dashboard.analytics import Filters
from dashboard.devices import qr_svg, statuses
from dashboard.logins import LoginGuard, LoginRefusedError
from dashboard.web import access
from dashboard.web.access import Manager
from dashboard.web.api import event_types, reports, staff_links, staff_url
from dashboard.web.api import overview as overview_data
from dashboard.web.filters import as_query, read_filters
from dashboard.web.render import page as _page

router = APIRouter(include_in_schema=False)
Filtered = Annotated[Filters, Depends(read_filters)]


CHOICES_S = 60.0  # filter choices change rarely; reading them scans the cue table


def _choices(request: Request) -> dict[str, list[str]]:
    state = request.app.state
    cached = getattr(state, "choices", None)
    if cached is None or time.monotonic() - cached[0] > CHOICES_S:
        with state.engine.connect() as connection:
            cached = (time.monotonic(), queries.choices(connection))
        state.choices = cached
    found: dict[str, list[str]] = cached[1]
    return found


def _safe_next(target: str | None) -> str:
    """Only same-site paths after a login (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


@router.get("/trust")
def trust(request: Request) -> Response:
    """How to trust this dashboard's certificate authority on a phone (no login: a phone comes
    here before anything else)."""
    ca = request.app.state.settings.listen.tls_ca
    details = None
    if ca is not None:
        from dashboard.tls import fingerprint

        details = {"fingerprint": fingerprint(ca)}
    return _page(request, "trust.html", {"ca": details})


@router.get("/trust/greetcue-ca.crt")
def trust_download(request: Request) -> Response:
    """The authority's certificate in DER, as phones install it."""
    ca = request.app.state.settings.listen.tls_ca
    if ca is None:
        return Response("this dashboard offers no certificate authority\n", status_code=404)
    from dashboard.tls import ca_der

    return Response(
        ca_der(ca),
        media_type="application/x-x509-ca-cert",
        headers={"Content-Disposition": 'attachment; filename="greetcue-ca.crt"'},
    )


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    return _page(request, "login.html", {"next": _safe_next(next), "error": None})


def _start_session(engine: Engine, username: str, password: str, lifetime_s: float) -> str | None:
    """On the login threads: a new session id if the password is right, else None."""
    with engine.begin() as connection:
        if not auth.check_password(connection, username, password):
            return None
        return auth.start_session(connection, username, lifetime_s)


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    access.check_csrf(request, csrf)
    state = request.app.state
    guard: LoginGuard = state.logins
    lifetime_s = state.settings.security.session_hours * 3600
    try:
        ticket = guard.reserve(request.client.host if request.client else "-", username)
        work = partial(_start_session, state.engine, username, password, lifetime_s)
        session = await guard.check(ticket, work)
    except LoginRefusedError as refused:
        context = {"next": next, "error": refused.message}
        page = _page(request, "login.html", context, status=refused.status)
        page.headers["Retry-After"] = str(int(refused.wait_s) + 1)
        return page
    if session is None:
        error = "wrong user name or password"
        return _page(request, "login.html", {"next": next, "error": error}, status=401)
    request.session.clear()
    request.session.update({"sid": session, "user": username})
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, _who: Manager, csrf: Annotated[str, Form()] = "") -> Response:
    """End this session: a copy of its cookie stops working too."""
    access.check_csrf(request, csrf)
    session = request.session.get("sid")
    if isinstance(session, str):  # a session, not an API token
        with request.app.state.engine.begin() as connection:
            auth.end_session(connection, session)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.post("/logout/everywhere")
def logout_everywhere(
    request: Request, who: Manager, csrf: Annotated[str, Form()] = ""
) -> Response:
    """End every session of this manager, on every browser."""
    access.check_csrf(request, csrf)
    with request.app.state.engine.begin() as connection:
        auth.end_sessions(connection, who.name)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/")
def overview(request: Request, _who: Manager, site: str | None = None) -> Response:
    context = overview_data(request, _who, site) | {"site": site or ""}
    return _page(request, "overview.html", context | {"choices": _choices(request)})


@router.get("/acks")
def acks(request: Request, who: Manager, filters: Filtered) -> Response:
    report, previous = reports(request, filters)
    zone = request.app.state.settings.zone_of(filters.site or "").key
    return _page(
        request,
        "acks.html",
        {
            "report": report.as_dict(),
            "previous": previous,
            "form": as_query(filters, zone),
            "zone": zone,
            "choices": _choices(request),
        },
    )


@router.get("/events")
def events(
    request: Request,
    _who: Manager,
    filters: Filtered,
    type: Annotated[list[str] | None, Query()] = None,
) -> Response:
    with request.app.state.engine.connect() as connection:
        rows = queries.events(connection, filters, event_types(type), limit=500)
    zone = request.app.state.settings.zone_of(filters.site or "").key
    return _page(
        request,
        "events.html",
        {
            "events": rows,
            "form": as_query(filters, zone),
            "zone": zone,
            "choices": _choices(request),
            "types": queries.EVENT_TYPES,
            "query": request.url.query,
        },
    )


def _devices(request: Request, who: Manager, made: dict[str, str] | None) -> Response:
    """The Devices page: every live link's status, and the link just made (with its QR)."""
    links = [(link.device, link.site or "", link.created_s) for link in staff_links(request, who)]
    with request.app.state.engine.connect() as connection:
        rows = statuses(connection, links, request.app.state.hub)
    listen = request.app.state.settings.listen
    return _page(
        request,
        "devices.html",
        {
            "devices": rows,
            "made": made,
            "choices": _choices(request),
            "public_url": listen.public_url,
            "opened_at": str(request.base_url).rstrip("/"),
        },
    )


@router.get("/devices")
def devices(request: Request, who: Manager) -> Response:
    return _devices(request, who, None)


@router.post("/devices")
def make_link(
    request: Request,
    who: Manager,
    device: Annotated[str, Form(pattern=r"^[A-Za-z0-9_.-]{1,64}$")],
    site: Annotated[str, Form(pattern=r"^[A-Za-z0-9_.-]{1,64}$")],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    access.check_csrf(request, csrf)
    with request.app.state.engine.begin() as connection:
        key = auth.issue_token(connection, "staff", device, site)
    url = staff_url(request, device, key)
    return _devices(request, who, {"device": device, "site": site, "url": url, "qr": qr_svg(url)})


@router.post("/devices/{site}/{device}/revoke")
def revoke_link(
    request: Request, _who: Manager, site: str, device: str, csrf: Annotated[str, Form()] = ""
) -> Response:
    access.check_csrf(request, csrf)
    with request.app.state.engine.begin() as connection:
        auth.revoke(connection, "staff", device, site)
    return RedirectResponse("/devices", status_code=303)
