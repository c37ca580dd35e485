"""The Settings page (goals and dayparts, for signed-in managers only) and the log of every
change made on it. A refused form comes back as typed, with what to fix; nothing is saved."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from dashboard import saved_goals
from dashboard.saved_goals import GoalsConflictError, GoalsInForce
from dashboard.settings import MAX_DAYPARTS
from dashboard.web import access
from dashboard.web.access import SignedInManager
from dashboard.web.goals_form import (
    MAX_FORM_BYTES,
    DaypartRow,
    GoalsEntry,
    GoalsFormError,
    Pairs,
    entry,
    first,
    goals,
)
from dashboard.web.goals_in_force import goals_in_force
from dashboard.web.render import page

router = APIRouter(include_in_schema=False)
LOG_ROWS = 500  # the log page's newest changes
RECENT_ROWS = 5  # the settings page's
MAX_FIELDS = 10_000  # far past the page's own form, short of a parser's worst case


@dataclass(frozen=True)
class PostedForm:
    """A form body read within bounds, or why it was not."""

    form: Pairs | None
    problem: str = ""
    status: int = 200


async def bounded_form(request: Request) -> PostedForm:
    """The posted form, read only up to ``MAX_FORM_BYTES`` (a hostile body is never held
    whole) and only URL-encoded, as the page sends it."""
    too_large = PostedForm(
        None,
        "The form is too large to be the settings page's: reload the page and change the "
        "goals there.",
        413,
    )
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind != "application/x-www-form-urlencoded":
        return PostedForm(None, "Send the goals from the settings page's form.", 415)
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > MAX_FORM_BYTES:
        return too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return too_large
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        return too_large
    return PostedForm(pairs)


Posted = Annotated[PostedForm, Depends(bounded_form)]


def _settings_page(
    request: Request,
    typed: GoalsEntry,
    found: GoalsInForce,
    problems: list[str],
    status: int = 200,
) -> Response:
    with request.app.state.engine.connect() as connection:
        recent = saved_goals.audit_log(connection, RECENT_ROWS)
    spare = max(0, min(len(typed.dayparts) + 2, MAX_DAYPARTS) - len(typed.dayparts))
    context = {
        "form": typed,
        "rows": typed.dayparts + [DaypartRow() for _ in range(spare)],
        "in_force": found,
        "problems": problems,
        "saved": request.query_params.get("saved") == "1" and not problems,
        "changes": recent,
        "hours": [f"{h:02d}:00" for h in range(24)],
    }
    return page(request, "settings.html", context, status)


@router.get("/settings")
def settings_page(request: Request, _who: SignedInManager) -> Response:
    """The goals in force, ready to edit."""
    found, _, _ = goals_in_force(request)
    return _settings_page(request, GoalsEntry.of(found.goals, found.version), found, [])


@router.post("/settings")
def save_settings(request: Request, who: SignedInManager, posted: Posted) -> Response:
    """Check the form, save the goals as the next version and log who changed what; every
    page and API answer uses them from the next request."""
    found, _, _ = goals_in_force(request)
    yaml_goals = request.app.state.settings.goals
    if posted.form is None:
        typed = GoalsEntry.of(found.goals, found.version)
        return _settings_page(request, typed, found, [posted.problem], posted.status)
    access.check_csrf(request, first(posted.form, "csrf"))
    typed = entry(posted.form)
    try:
        wanted = goals(typed)
        based_on = int(typed.based_on) if typed.based_on.isdigit() else -1
        with request.app.state.engine.begin() as connection:
            saved_goals.save(connection, wanted, based_on, who.name, yaml_goals)
    except GoalsFormError as refused:
        return _settings_page(request, typed, found, refused.problems, 400)
    except GoalsConflictError as conflict:
        now = conflict.current
        problem = (
            f"{now.saved_by or 'Someone'} saved other goals while you were editing: they are "
            "shown below now. Make your changes again and save."
        )
        return _settings_page(request, GoalsEntry.of(now.goals, now.version), now, [problem], 409)
    return RedirectResponse("/settings?saved=1", status_code=303)


@router.get("/settings/log")
def settings_log(request: Request, _who: SignedInManager) -> Response:
    """Every change made on the settings page: who, when and what, newest first."""
    with request.app.state.engine.connect() as connection:
        changes = saved_goals.audit_log(connection, LOG_ROWS)
    return page(request, "settings_log.html", {"changes": changes, "limit": LOG_ROWS})
