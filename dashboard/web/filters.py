"""Query-string filters (site, camera, device, staff, date range) read and checked once for
every page and API call. Dates are the site's local dates (the default time zone when no site
is chosen); the default range is the last 7 days. A bad value is refused up front with a 422
in FastAPI's validation format, naming the parameter."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, NoReturn
from zoneinfo import ZoneInfo

from fastapi import Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError

from dashboard.analytics import Filters
from edge.contract import Name

NAME: TypeAdapter[str] = TypeAdapter(Name)
DEFAULT_DAYS = 7
FIRST_DATE = date(2000, 1, 1)  # before any greetcue event
LAST_DATE = date(2199, 12, 31)  # far ahead, yet a day later is still a date everywhere


def refuse(key: str, value: str, message: str) -> NoReturn:
    """A 422 naming query parameter ``key``, its value (shortened) and the fix."""
    raise RequestValidationError(
        [{"loc": ("query", key), "msg": message, "type": "value_error", "input": value[:40]}]
    )


def _name(value: str | None, key: str) -> str | None:
    if not value:
        return None
    try:
        return NAME.validate_python(value)
    except ValidationError:
        refuse(key, value, f"{key}: {value[:40]!r} is not a name (1-64 letters, digits, _ . -)")


def _date(value: str | None, key: str) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        refuse(key, value, f"{key}: {value[:20]!r} is not a date (YYYY-MM-DD)")
    if not FIRST_DATE <= day <= LAST_DATE:
        refuse(key, value, f"{key}: {day} is outside {FIRST_DATE} to {LAST_DATE}")
    return day


def read_filters(
    request: Request,
    site: Annotated[str | None, Query(description="site name")] = None,
    camera: Annotated[str | None, Query(description="camera name")] = None,
    device: Annotated[str | None, Query(description="device cued or acknowledging")] = None,
    staff: Annotated[str | None, Query(description="staff member")] = None,
    start: Annotated[str | None, Query(description="first local date, YYYY-MM-DD")] = None,
    end: Annotated[str | None, Query(description="last local date, YYYY-MM-DD")] = None,
) -> Filters:
    """The filters of this request, validated (a 422 names the bad one)."""
    settings = request.app.state.settings
    if staff and not settings.privacy.per_person:
        refuse("staff", staff, "figures per person are off on this dashboard (privacy.per_person)")
    site = _name(site, "site")
    zone = settings.zone_of(site or "")
    last = _date(end, "end") or datetime.now(zone).date()
    first = _date(start, "start") or max(last - timedelta(days=DEFAULT_DAYS - 1), FIRST_DATE)
    if first > last:
        refuse("start", str(start), f"start {first} is after end {last}; swap them")
    return Filters(
        start_s=datetime.combine(first, time(0), zone).timestamp(),
        end_s=datetime.combine(last + timedelta(days=1), time(0), zone).timestamp(),
        site=site,
        camera=_name(camera, "camera"),
        device=_name(device, "device"),
        staff=_name(staff, "staff"),
    )


def as_query(filters: Filters, zone_name: str) -> dict[str, str]:
    """The filters as the form shows them (local dates)."""
    zone = ZoneInfo(zone_name)
    out = {
        "start": datetime.fromtimestamp(filters.start_s, zone).date().isoformat(),
        "end": (datetime.fromtimestamp(filters.end_s, zone) - timedelta(days=1)).date().isoformat(),
    }
    for key in ("site", "camera", "device", "staff"):
        value = getattr(filters, key)
        out[key] = value or ""
    return out
