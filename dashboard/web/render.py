"""Manager pages from templates, and the Jinja2 filters they use: times in the site's time
zone, seconds, shares and spans of time as people read them."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from dashboard.settings import DashboardConfig
from dashboard.web import access
from dashboard.web.goals_in_force import goals_in_force


def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    """A manager page: the template with what every page shows (the goals in force)."""
    found, settings, _ = goals_in_force(request)
    base = {
        "csrf": access.csrf_token(request),
        "user": request.session.get("user"),
        "nav": request.url.path,
        "goals": found.goals,
        "per_person": settings.privacy.per_person,
        "now_s": time.time(),
    }
    answer: Response = request.app.state.templates.TemplateResponse(
        request, name, base | context, status_code=status
    )
    return answer


def span(seconds: float) -> str:
    """A length of time as people say it: 45 s, 12 min, 2 h 5 min, 3 days 4 h (the Overview's
    script says it the same way as it ticks)."""
    s = max(0, int(seconds))
    minutes, hours, days = s // 60, s // 3600, s // 86400
    if s < 60:
        return f"{s} s"
    if minutes < 60:
        return f"{minutes} min"
    if hours < 24:
        return f"{hours} h" + (f" {minutes % 60} min" if minutes % 60 else "")
    return f"{days} day{'' if days == 1 else 's'}" + (f" {hours % 24} h" if hours % 24 else "")


def install_filters(templates: Jinja2Templates, settings: DashboardConfig) -> None:
    """Add the filters the templates use."""

    def local_time(utc_s: float | None, site: str = "", fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
        if utc_s is None:
            return "-"
        return datetime.fromtimestamp(utc_s, settings.zone_of(site)).strftime(fmt)

    def local_iso(value: str | None, site: str = "") -> str:
        if not value:
            return "-"
        return local_time(datetime.fromisoformat(value).timestamp(), site, "%H:%M:%S")

    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f} s"

    def share(value: float | None) -> str:
        return "-" if value is None else f"{value * 100:.0f} %"

    def feet(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f} ft"

    filters: dict[str, Any] = {
        "span": span,
        "local_time": local_time,
        "local_iso": local_iso,
        "seconds": seconds,
        "share": share,
        "feet": feet,
    }
    templates.env.filters.update(filters)
    templates.env.globals["zone_name"] = lambda site: settings.zone_of(site).key
