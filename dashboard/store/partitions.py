"""Raw events by month: on PostgreSQL one partition per month (UTC), made ahead of time, and
the retention that drops whole months; on SQLite the same retention deletes rows. The
rollups (``rollups.py``) are kept: figures outlive the events they came from."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, text

from dashboard.store.tables import CueRow, EventRow

AHEAD_MONTHS = 2  # partitions made beyond the current month
log = logging.getLogger(__name__)


def month_start(at_s: float, months: int = 0) -> datetime:
    """The first instant (UTC) of the month ``months`` after the one holding ``at_s``."""
    moment = datetime.fromtimestamp(at_s, UTC)
    index = moment.year * 12 + moment.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def month_starts(low_s: float | None, high_s: float | None) -> list[datetime]:
    """Every month from the one holding ``low_s`` to ``AHEAD_MONTHS`` after now (or after
    ``high_s`` if later)."""
    now = datetime.now(UTC).timestamp()
    first = month_start(min(low_s or now, now))
    last = month_start(max(high_s or now, now), AHEAD_MONTHS)
    out, month = [], first
    while month <= last:
        out.append(month)
        month = month_start(month.timestamp(), 1)
    return out


PARTITION = re.compile(r"events_(default|\d{4}_\d{2})")


def not_a_partition(thing: Any, name: str | None, kind: str, reflected: bool, _to: Any) -> bool:
    """Alembic's ``include_object``: the month partitions are made at run time, not by the
    table models, so comparing models with the database leaves them (and their indexes)
    out."""
    table = thing.table.name if kind == "index" else name
    return not (reflected and table is not None and PARTITION.fullmatch(table))


def _name(month: datetime) -> str:
    return f"events_{month:%Y_%m}"


def create_months(connection: Connection, months: Iterable[datetime]) -> list[str]:
    """Make the partitions of ``months`` that are missing (PostgreSQL); their names."""
    existing = {name for name, _ in _children(connection)}
    made = []
    for month in months:
        name = _name(month)
        if name in existing:
            continue
        upper = month_start(month.timestamp(), 1)
        connection.execute(
            text(
                f"CREATE TABLE {name} PARTITION OF events FOR VALUES FROM "
                f"({month.timestamp():.0f}) TO ({upper.timestamp():.0f})"
            )
        )
        made.append(name)
    return made


def maintain(connection: Connection, retention_months: int, now_s: float) -> list[str]:
    """Partitions for the coming months, and the events (and cue rows) older than
    ``retention_months`` whole months removed (0: keep everything); what it did, in words."""
    done = []
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        done += [f"made {n}" for n in create_months(connection, month_starts(now_s, now_s))]
    if retention_months <= 0:
        return done
    cutoff = month_start(now_s, -retention_months)
    if postgres:
        for name, upper in _partitions(connection):
            if upper <= cutoff.timestamp():
                connection.execute(text(f"DROP TABLE {name}"))
                done.append(f"dropped {name}")
    removed = connection.execute(delete(EventRow).where(EventRow.captured_s < cutoff.timestamp()))
    cues = connection.execute(delete(CueRow).where(CueRow.cued_s < cutoff.timestamp()))
    if removed.rowcount or cues.rowcount:
        done.append(
            f"deleted {removed.rowcount} events and {cues.rowcount} cues before {cutoff:%Y-%m}"
        )
    return done


def _children(connection: Connection) -> list[tuple[str, str]]:
    """The partitions of ``events`` with their bounds (``FOR VALUES FROM (...) TO (...)``,
    or ``DEFAULT``)."""
    rows = connection.execute(
        text(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
            "WHERE p.relname = 'events'"
        )
    ).all()
    return [(str(name), str(bound)) for name, bound in rows]


def _partitions(connection: Connection) -> list[tuple[str, float]]:
    """The monthly partitions of ``events`` with the end of their range."""
    return [
        (name, float(bound.rsplit("TO (", 1)[1].strip("()' ")))
        for name, bound in _children(connection)
        if "TO (" in bound  # the default partition has no range
    ]
