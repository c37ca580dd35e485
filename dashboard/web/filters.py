"""Query-string filters (site, camera, device, staff, date range) read and checked once for
every page and API call. Dates are the site's local dates (the default time zone when no site
is chosen); the default range is the last 7 days."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Annotated

from fastapi import HTTPException, Query, Request

from dashboard.analytics import Filters

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
DEFAULT_DAYS = 7


def _name(value: str | None, key: str) -> str | None:
    if not value:
        return None
    if not NAME.match(value):
        raise HTTPException(422, f"{key}: {value[:40]!r} is not a name (letters, digits, _ . -)")
    return value


def _date(value: str | None, key: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"{key}: {value[:20]!r} is not a date (YYYY-MM-DD)") from None


def read_filters(
    request: Request,
    site: Annotated[str | None, Query(description="site name")] = None,
    camera: Annotated[str | None, Query(description="camera name")] = None,
    device: Annotated[str | None, Query(description="device cued or acknowledging")] = None,
    staff: Annotated[str | None, Query(description="staff member")] = None,
    start: Annotated[str | None, Query(description="first local date, YYYY-MM-DD")] = None,
    end: Annotated[str | None, Query(description="last local date, YYYY-MM-DD")] = None,
) -> Filters:
    """The filters of this request, validated (422 names the bad one)."""
    settings = request.app.state.settings
    site = _name(site, "site")
    zone = settings.zone_of(site) if site else settings.zone_of("")
    today = datetime.now(zone).date()
    last = _date(end, "end") or today
    first = _date(start, "start") or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise HTTPException(422, f"start {first} is after end {last}; swap them")
    start_s = datetime.combine(first, time(0), zone).timestamp()
    end_s = datetime.combine(last + timedelta(days=1), time(0), zone).timestamp()
    return Filters(
        start_s=start_s,
        end_s=end_s,
        site=site,
        camera=_name(camera, "camera"),
        device=_name(device, "device"),
        staff=_name(staff, "staff"),
    )


def as_query(filters: Filters, zone_name: str) -> dict[str, str]:
    """The filters as the form shows them (local dates)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(zone_name)
    out = {
        "start": datetime.fromtimestamp(filters.start_s, zone).date().isoformat(),
        "end": (datetime.fromtimestamp(filters.end_s, zone) - timedelta(days=1)).date().isoformat(),
    }
    for key in ("site", "camera", "device", "staff"):
        value = getattr(filters, key)
        out[key] = value or ""
    return out
