"""A chain report over whole days, read from the running totals, is the report the hourly
rollups give: after events in any order, late acknowledgements, stores in other time zones
and a change of goals."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time
from typing import Any

import pytest
from sqlalchemy import Connection

from dashboard import analytics as analytics_module
from dashboard.analytics import Analytics, Filters, Report
from dashboard.samples import LocalClock
from dashboard.settings import DashboardConfig, Daypart, Goals, Site
from dashboard.store import rollups, sums
from dashboard.store.tables import CueHourRow, CueHourZoneRow
from dashboard.synthetic import visit_events, visits
from edge.contract import Event
from tests.support.dashboard_support import Dashboard

END = datetime(2026, 11, 21, tzinfo=UTC).timestamp()
DAY = 86400.0


def from_hours(analytics: Analytics, connection: Connection, filters: Filters) -> Report:
    """The report read from the hourly rollups alone."""
    hours = analytics_module._hours  # the rollup conditions of the filters
    units = rollups.load(connection, hours(CueHourRow.__table__.c, filters))
    before = rollups.before_counts(connection, hours(CueHourZoneRow.__table__.c, filters))
    return analytics.figures(units, before)


def build(dashboard: Dashboard, analytics: Analytics) -> int:
    """Build the totals to the end, a few days per call as the ingest does; how many calls."""
    calls = 0
    while True:
        calls += 1
        with dashboard.engine.begin() as connection:
            if sums.build(connection, analytics.sums_spec, LocalClock(), days=2):
                return calls


def from_totals(
    analytics: Analytics, connection: Connection, filters: Filters, monkeypatch: pytest.MonkeyPatch
) -> Report:
    """The report, checked to read no range of hourly rollups (rolling up late changes reads
    the hours they changed)."""

    def refuse(*_: Any) -> None:
        raise AssertionError("a whole-day chain report read the hourly rollups")

    with monkeypatch.context() as patch:
        patch.setattr(rollups, "load", refuse)
        patch.setattr(rollups, "count", refuse)
        return analytics.report(connection, filters)


def chain(dashboard: Dashboard) -> DashboardConfig:
    """Two stores, one in another time zone, with a goal between two 0.1 s bins."""
    goals = Goals(dayparts=[Daypart(name="all", start=time(0), end=time(0), goal_s=3.55)])
    return dashboard.settings.model_copy(
        update={"sites": {"store-2": Site(timezone="Asia/Kolkata")}, "goals": goals}
    )


def test_totals_give_the_hours_report_for_every_whole_day_range(
    dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    analytics = Analytics(chain(dashboard))
    events = [e for v in visits(2, 2, 6, 30, END, seed=8) for e in visit_events(v)]
    random.Random(4).shuffle(events)
    late = [e for e in events if e.type == "ack"][::3]
    dashboard.store([e for e in events if e not in late])
    with dashboard.engine.connect() as connection:  # roll the hours up, then total them
        rollups.catch_up(connection, analytics._settings.zone_of, LocalClock())
    assert build(dashboard, analytics) > 2  # six days, two a call
    dashboard.store(list[Event](late))  # acknowledged days late, rolled up by the report
    ranges = [(END - 6 * DAY, END), (END - 3 * DAY, END - DAY), (END - DAY, END + 3 * DAY)]
    for start, end in ranges:
        filters = Filters(start, end)
        with dashboard.engine.connect() as connection:
            totals = from_totals(analytics, connection, filters, monkeypatch)
            hours = from_hours(analytics, connection, filters)
        assert totals.overall.customers > 50
        assert totals.as_dict() == hours.as_dict(), (start, end)


def test_a_range_not_on_chain_midnights_or_one_store_reads_the_hours(
    dashboard: Dashboard,
) -> None:
    analytics = Analytics(chain(dashboard))
    events = [e for v in visits(2, 1, 2, 20, END, seed=3) for e in visit_events(v)]
    dashboard.store(events)
    with dashboard.engine.connect() as connection:
        rollups.catch_up(connection, analytics._settings.zone_of, LocalClock())
    build(dashboard, analytics)
    for filters in (Filters(END - 2 * DAY + 3600, END), Filters(END - 2 * DAY, END, "store-1")):
        assert sums.whole_days(analytics.sums_spec, *filters.span) is None or filters.site
        with dashboard.engine.connect() as connection:
            report = analytics.report(connection, filters)
            assert report.as_dict() == from_hours(analytics, connection, filters).as_dict()


def test_new_goals_make_the_totals_again_and_until_then_reports_read_the_hours(
    dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = chain(dashboard)
    events = [e for v in visits(2, 1, 3, 30, END, seed=6) for e in visit_events(v)]
    dashboard.store(events)
    old = Analytics(settings)
    with dashboard.engine.connect() as connection:
        rollups.catch_up(connection, settings.zone_of, LocalClock())
    build(dashboard, old)
    goals = Goals(
        dayparts=[
            Daypart(name="morning", start=time(0), end=time(12), goal_s=2.5),
            Daypart(name="afternoon", start=time(12), end=time(0), goal_s=9.0),
        ]
    )
    new = Analytics(settings.model_copy(update={"goals": goals}))
    filters = Filters(END - 3 * DAY, END)
    with dashboard.engine.connect() as connection:
        assert not sums.built(connection, new.sums_spec)
        before_build = new.report(connection, filters)
        assert before_build.as_dict() == from_hours(new, connection, filters).as_dict()
        with_old_goals = from_totals(old, connection, filters, monkeypatch)
    build(dashboard, new)
    with dashboard.engine.connect() as connection:
        assert sums.built(connection, new.sums_spec)
        assert not sums.built(connection, old.sums_spec)
        rebuilt = from_totals(new, connection, filters, monkeypatch)
    assert rebuilt.as_dict() == before_build.as_dict()
    assert rebuilt.overall.within_goal != with_old_goals.overall.within_goal


def test_a_refresh_that_cannot_keep_the_totals_up_drops_them(dashboard: Dashboard) -> None:
    analytics = Analytics(chain(dashboard))
    events = [e for v in visits(1, 1, 2, 20, END, seed=2) for e in visit_events(v)]
    acks = [e for e in events if e.type == "ack"]
    dashboard.store([e for e in events if e.type != "ack"])
    with dashboard.engine.connect() as connection:
        rollups.catch_up(connection, analytics._settings.zone_of, LocalClock())
    build(dashboard, analytics)
    dashboard.store(list[Event](acks))
    with dashboard.engine.begin() as connection:  # an ingest without the goals
        rollups.refresh(
            connection, analytics._settings.zone_of, LocalClock(), True, sums.forgetting
        )
    filters = Filters(END - 2 * DAY, END)
    with dashboard.engine.connect() as connection:
        assert not sums.built(connection, analytics.sums_spec)
        report = analytics.report(connection, filters)
        assert report.overall.acknowledged == len(acks) > 0
        assert report.as_dict() == from_hours(analytics, connection, filters).as_dict()
