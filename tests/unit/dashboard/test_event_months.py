"""Raw events by month: partitions on PostgreSQL made ahead, a redelivered event still stored
once, and the retention that removes old months while their figures stay."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from dashboard.analytics import Analytics, Filters
from dashboard.store import partitions, writes
from dashboard.synthetic import visit_events, visits
from tests.support.dashboard_support import Dashboard

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC).timestamp()
SEPTEMBER = datetime(2026, 9, 15, tzinfo=UTC).timestamp()


def monthly_visits(end_s: float) -> list[writes.Received]:
    return [
        writes.Received(e, v.start_s)
        for v in visits(1, 1, 1, 20, end_s, seed=2)
        for e in visit_events(v)
    ]


def test_old_months_go_their_figures_stay(dashboard: Dashboard) -> None:
    old, new = monthly_visits(SEPTEMBER), monthly_visits(NOW)
    with dashboard.engine.begin() as connection:
        partitions.maintain(connection, 0, NOW)  # the months ahead, nothing removed
        assert writes.store_events(connection, old + new)
        assert not writes.store_events(connection, old[:5])  # redelivered: stored once
    analytics = Analytics(dashboard.settings)
    september = Filters(SEPTEMBER - 2 * 86400, SEPTEMBER)
    with dashboard.engine.connect() as connection:
        before = analytics.report(connection, september).overall
    with dashboard.engine.begin() as connection:
        done = partitions.maintain(connection, 2, NOW)  # keep October and November
    with dashboard.engine.connect() as connection:
        left = connection.execute(text("SELECT min(captured_s), count(*) FROM events")).one()
        after = analytics.report(connection, september).overall
    assert left[0] >= datetime(2026, 10, 1, tzinfo=UTC).timestamp()
    assert left[1] == len(new)
    assert before.customers == after.customers == 20 and after == before
    assert any("2026_09" in what or "before 2026-10" in what for what in done)


def test_postgresql_keeps_a_partition_per_month(dashboard: Dashboard) -> None:
    if dashboard.engine.dialect.name != "postgresql":
        return  # one table on SQLite: the test above covers its retention
    with dashboard.engine.begin() as connection:
        made = partitions.maintain(connection, 0, NOW)
        writes.store_events(connection, monthly_visits(NOW))
        names = set(
            connection.execute(
                text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                    " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'events'"
                )
            ).scalars()
        )
        in_default = connection.execute(text("SELECT count(*) FROM events_default")).scalar()
    assert {"events_2026_12", "events_2027_01", "events_2027_02"} <= names
    assert all(m.removeprefix("made ") in names for m in made)
    assert in_default == 0
