"""Jinja2 filters: times in the site's time zone, seconds and shares as people read them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi.templating import Jinja2Templates

from dashboard.settings import DashboardConfig


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
        "local_time": local_time,
        "local_iso": local_iso,
        "seconds": seconds,
        "share": share,
        "feet": feet,
    }
    templates.env.filters.update(filters)
    templates.env.globals["zone_name"] = lambda site: settings.zone_of(site).key
