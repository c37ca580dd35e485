"""The goals every page and API answer uses: the saved ones, read anew on each request (one
look-up of the version), so a save on the settings page shows everywhere at once."""

from __future__ import annotations

from fastapi import Request

from dashboard.analytics import Analytics
from dashboard.saved_goals import GoalsCache, GoalsInForce
from dashboard.settings import DashboardConfig


def goals_in_force(request: Request) -> tuple[GoalsInForce, DashboardConfig, Analytics]:
    """The goals in force, the configuration with them, and its ``Analytics``."""
    cache: GoalsCache = request.app.state.goals
    with request.app.state.engine.connect() as connection:
        return cache.current(connection)
