"""Goals saved on the settings page. They live in the database, not the YAML, so a save
reaches every process at once (the web server, separate ingest workers, reports) without a
restart; the YAML's goals stay in force until the first save. Each save is a new version,
written with the audit log entry that says who changed what."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, func, insert, select
from sqlalchemy.exc import IntegrityError

from dashboard.analytics import Analytics
from dashboard.settings import DashboardConfig, Daypart, Goals
from dashboard.store.tables import AuditRow, GoalsRow

log = logging.getLogger("greetcue.dashboard")
DEFAULTS = 0  # the version of the YAML's goals


@dataclass(frozen=True)
class GoalsInForce:
    """The goals every figure uses now, and where they come from."""

    goals: Goals
    version: int  # DEFAULTS: the YAML's
    saved_s: float | None = None
    saved_by: str | None = None


class GoalsConflictError(Exception):
    """Someone saved goals since the form was opened: saving would undo their change."""

    def __init__(self, current: GoalsInForce) -> None:
        super().__init__(
            f"goals were saved by {current.saved_by} since (version {current.version})"
        )
        self.current = current


def version(connection: Connection) -> int:
    """The version in force: one indexed look-up, cheap enough for every request."""
    found = connection.execute(select(func.max(GoalsRow.version))).scalar()
    return int(found or DEFAULTS)


def in_force(connection: Connection, defaults: Goals) -> GoalsInForce:
    """The newest saved goals, else ``defaults`` (the YAML's). Saved goals that no longer pass
    this version's checks give way to the YAML's, with a warning."""
    table = GoalsRow.__table__.c
    query = select(*table).order_by(table.version.desc()).limit(1)
    saved = connection.execute(query).first()
    if saved is None:
        return GoalsInForce(defaults, DEFAULTS)
    try:
        goals = Goals.model_validate_json(saved.goals)
    except ValidationError as exc:
        log.warning(
            "the goals saved by %s (version %d) fail today's checks, so the configuration "
            "file's are used; save them again on the settings page: %s",
            saved.saved_by,
            saved.version,
            exc,
        )
        return GoalsInForce(defaults, saved.version)
    return GoalsInForce(goals, saved.version, saved.saved_s, saved.saved_by)


def save(connection: Connection, goals: Goals, based_on: int, who: str, defaults: Goals) -> int:
    """Put ``goals`` in force as the version after ``based_on`` (the one the manager saw) and
    log the change; the version now in force. ``GoalsConflictError`` when another save came
    first; saving what is in force changes nothing and logs nothing."""
    current = in_force(connection, defaults)
    if current.version != based_on:
        raise GoalsConflictError(current)
    summary = changes(current.goals, goals)
    if not summary:
        return current.version
    now = time.time()
    try:
        connection.execute(
            insert(GoalsRow).values(
                version=based_on + 1, goals=goals.model_dump_json(), saved_s=now, saved_by=who
            )
        )
    except IntegrityError:  # another save took this version between the check and here
        raise GoalsConflictError(current) from None
    before = current.goals.model_dump_json() if current.version != DEFAULTS else None
    connection.execute(
        insert(AuditRow).values(
            at_s=now,
            who=who,
            what="goals",
            summary="; ".join(summary),
            before=before,
            after=goals.model_dump_json(),
        )
    )
    return based_on + 1


def changes(old: Goals, new: Goals) -> list[str]:
    """What differs, in the words of the settings page."""
    out = []
    if old.service_level != new.service_level:
        out.append(f"target {_percent(old.service_level)} → {_percent(new.service_level)}")
    if old.amber_margin != new.amber_margin:
        out.append(f"amber margin {_points(old.amber_margin)} → {_points(new.amber_margin)} points")
    if old.before_zones != new.before_zones:
        out.append(
            f"'before' zones {', '.join(old.before_zones) or 'none'} → "
            f"{', '.join(new.before_zones) or 'none'}"
        )
    was = {part.name: part for part in old.dayparts}
    now = {part.name: part for part in new.dayparts}
    for name, part in now.items():
        if name not in was:
            out.append(f"daypart {name} added ({_span(part)}, goal {part.goal_s:g} s)")
        elif was[name] != part:
            out.append(
                f"daypart {name}: {_span(was[name])}, goal {was[name].goal_s:g} s → "
                f"{_span(part)}, goal {part.goal_s:g} s"
            )
    out += [f"daypart {name} removed" for name in was if name not in now]
    return out


def audit_log(connection: Connection, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` changes, newest first."""
    table = AuditRow.__table__.c
    columns = (table.at_s, table.who, table.what, table.summary)
    query = select(*columns).order_by(table.at_s.desc(), table.id.desc()).limit(limit)
    return [dict(row._mapping) for row in connection.execute(query)]


class GoalsCache:
    """The configuration in force (the YAML's with the saved goals) and its ``Analytics``,
    made again only when the goals version changes."""

    def __init__(self, settings: DashboardConfig) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._cached = (
            DEFAULTS,
            GoalsInForce(settings.goals, DEFAULTS),
            settings,
            Analytics(settings),
        )

    def current(self, connection: Connection) -> tuple[GoalsInForce, DashboardConfig, Analytics]:
        """The goals in force, the configuration with them and its ``Analytics``."""
        wanted = version(connection)
        if self._cached[0] != wanted:
            with self._lock:
                if self._cached[0] != wanted:
                    found = in_force(connection, self._settings.goals)
                    config = self._settings.model_copy(update={"goals": found.goals})
                    self._cached = (found.version, found, config, Analytics(config))
        _, found, config, analytics = self._cached
        return found, config, analytics


def _percent(share: float) -> str:
    return f"{share * 100:g} %"


def _points(share: float) -> str:
    return f"{share * 100:g}"


def _span(part: Daypart) -> str:
    end = part.end.isoformat("minutes") if part.end.hour or part.end.minute else "midnight"
    return f"{part.start.isoformat('minutes')} to {end}"
