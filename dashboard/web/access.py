"""Request guards: manager session (live in the database) or API token for manager pages and
the API, the device's own key for a staff page (its site comes from the key), CSRF tokens for
forms. Every route states its guard; the route-table
test proves none answers without one."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from dashboard import auth
from dashboard.auth import Principal
from dashboard.live import DeviceId

STAFF_COOKIE = "greetcue_staff"


class LoginRequiredError(Exception):
    """No valid session or token: pages redirect to the login, the API answers 401."""


class ForbiddenError(Exception):
    """Credentials, but not for this (a staff link for another device, a revoked link)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def manager(request: Request) -> Principal:
    """The manager or integration making this request."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
        with request.app.state.engine.connect() as connection:
            row = auth.token_owner(connection, "api", token)
        if row is None:
            raise LoginRequiredError()
        return Principal(row.name, "token")
    session = request.session.get("sid")
    if not isinstance(session, str):
        raise LoginRequiredError()
    with request.app.state.engine.connect() as connection:
        user = auth.session_user(connection, session)
    if user is None:  # logged out (here or everywhere), password changed, user removed
        request.session.clear()
        raise LoginRequiredError()
    return Principal(user, "user")


Manager = Annotated[Principal, Depends(manager)]


def signed_in_manager(who: Manager) -> Principal:
    """A manager signed in on a browser: settings are read and changed by a person with a
    session (and a CSRF token), never by an integration's API token."""
    if who.kind != "user":
        raise ForbiddenError(
            "settings are read and changed by a manager signed in on the Settings page, "
            "not with an API token"
        )
    return who


SignedInManager = Annotated[Principal, Depends(signed_in_manager)]


def csrf_token(request: Request) -> str:
    """The session's CSRF token for forms (made on first use)."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, sent: str | None) -> None:
    """Refuse a form post whose token is not the session's."""
    if not auth.same(sent, request.session.get("csrf")):
        raise ForbiddenError("the form is out of date or came from another site; reload and retry")


def staff_device(request: Request, device: str) -> DeviceId:
    """The device a staff request may act for, with its site: its own key (cookie or
    ``?key=``), live, for this device name."""
    key = request.query_params.get("key") or request.cookies.get(f"{STAFF_COOKIE}_{device}")
    if not key:
        raise ForbiddenError("open the staff link your manager gave you for this device")
    with request.app.state.engine.connect() as connection:
        row = auth.token_owner(connection, "staff", key)
    if row is None:
        raise ForbiddenError(
            "this staff link was revoked or is wrong; ask your manager for a new one"
        )
    if row.name != device or row.site is None:
        raise ForbiddenError("this staff link is for another device")
    return DeviceId(row.site, device)


def wants_json(request: Request) -> bool:
    """API and stream requests get JSON errors; pages get HTML or a redirect."""
    path = request.url.path
    return (
        path.startswith("/api")
        or path.endswith(("/stream", "/ack"))
        or ("application/json" in request.headers.get("accept", ""))
    )


def on_need_login(request: Request, _exc: Any) -> Response:
    """401 for the API, a redirect to the login for pages."""
    if wants_json(request):
        return JSONResponse(
            {"detail": "log in or send an API token"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)


def on_forbidden(request: Request, exc: ForbiddenError) -> Response:
    """403 with the reason."""
    if wants_json(request):
        return JSONResponse({"detail": exc.detail}, status_code=403)
    templates = request.app.state.templates
    page: Response = templates.TemplateResponse(
        request,
        "message.html",
        {"title": "Not allowed", "message": exc.detail},
        status_code=403,
    )
    return page


def on_report_too_large(request: Request, exc: Exception) -> Response:
    """422 with what to narrow: a report over more camera-hours than it may read."""
    if wants_json(request):
        return JSONResponse({"detail": str(exc)}, status_code=422)
    templates = request.app.state.templates
    page: Response = templates.TemplateResponse(
        request, "message.html", {"title": "Too much to show", "message": str(exc)}, status_code=422
    )
    return page
