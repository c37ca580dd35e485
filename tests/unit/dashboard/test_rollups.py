"""The hourly rollups give the figures the raw cue rows give: counts exact, percentiles never
below the exact ones and less than a 0.1 s bin above them, whatever order the events came in
and in every site's own time zone (half-hour offsets included)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dashboard import analytics as analytics_module
from dashboard.analytics import Analytics, Filters, Report, ReportTooLargeError
from dashboard.settings import Site
from dashboard.store import writes
from dashboard.synthetic import visit_events, visits
from dashboard.web.app import create_app
from edge.contract import Event
from tests.support.dashboard_support import Dashboard

END = datetime(2026, 11, 21, tzinfo=UTC).timestamp()
PERCENTILES = ("p50_s", "p90_s", "p99_s", "slowest_s")
BIN_S = 0.1


def assert_close(rolled: dict[str, Any], exact: dict[str, Any], where: str) -> None:
    """Counts and shares equal, percentiles within one bin above."""
    for key, value in exact.items():
        if key in PERCENTILES and value is not None:
            assert 0 <= rolled[key] - value < BIN_S + 1e-9, (where, key, rolled[key], value)
        elif isinstance(value, float):
            assert rolled[key] == pytest.approx(value), (where, key)
        else:
            assert rolled[key] == value, (where, key)


def assert_same_figures(rolled: Report, exact: Report) -> None:
    assert rolled.overall.customers > 100
    assert_close(rolled.overall.as_dict(), exact.overall.as_dict(), "overall")
    assert_close(rolled.waiting.as_dict(), exact.waiting.as_dict(), "waiting")
    assert rolled.before == pytest.approx(exact.before)
    assert rolled.histogram == exact.histogram
    for lead in ("lead_p50_s", "lead_p10_s"):
        assert 0 <= getattr(rolled, lead) - getattr(exact, lead) < BIN_S + 1e-9
    for name in ("by_hour", "by_day", "by_daypart", "league_sites", "league_cameras"):
        rows, truth = getattr(rolled, name), getattr(exact, name)
        assert [r["key"] for r in rows] == [t["key"] for t in truth], name
        for row, true in zip(rows, truth, strict=True):
            assert_close(row, true, f"{name} {row['key']}")


@pytest.mark.parametrize("read_days", [14, 0.3], ids=["one-read", "read-in-slices"])
def test_rollups_match_the_raw_cues_whatever_the_order(
    dashboard: Dashboard, read_days: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(analytics_module, "READ_DAYS", read_days)  # a chain's year: slices
    settings = dashboard.settings.model_copy(
        update={"sites": {"store-2": Site(timezone="Asia/Kolkata")}}
    )
    events = [e for v in visits(2, 2, 3, 40, END, seed=5) for e in visit_events(v)]
    random.Random(3).shuffle(events)  # acks before their cues, outcomes before entries
    for start in range(0, len(events), 500):
        dashboard.store(events[start : start + 500])
    with dashboard.engine.begin() as connection:  # a camera stops with cues still open
        writes.close_cues(connection, "store-1", "counter-2", END - 3 * 3600, "camera_offline")
    analytics = Analytics(settings)
    for filters in (
        Filters(END - 3 * 86400, END),
        Filters(END - 2 * 86400, END, site="store-2"),
        Filters(END - 3 * 86400, END, site="store-1", camera="counter-2"),
    ):
        with dashboard.engine.connect() as connection:
            rolled = analytics.report(connection, filters)
            exact = analytics.figures(*analytics.raw_units(connection, filters))
        assert_same_figures(rolled, exact)


def test_a_late_ack_updates_the_hour_it_belongs_to(dashboard: Dashboard) -> None:
    events = [e for v in visits(1, 1, 1, 30, END, seed=9) for e in visit_events(v)]
    acks: list[Event] = [e for e in events if e.type == "ack"]
    dashboard.store([e for e in events if e.type != "ack"])
    analytics = Analytics(dashboard.settings)
    filters = Filters(END - 86400, END)
    with dashboard.engine.connect() as connection:
        before = analytics.report(connection, filters).overall
    dashboard.store(acks)  # hours later
    with dashboard.engine.connect() as connection:
        after = analytics.report(connection, filters)
        exact = analytics.figures(*analytics.raw_units(connection, filters))
    assert before.acknowledged == 0 and after.overall.acknowledged == len(acks) > 0
    assert_close(after.overall.as_dict(), exact.overall.as_dict(), "overall")


def test_a_report_over_too_many_camera_hours_is_refused_with_what_to_narrow(
    dashboard: Dashboard,
) -> None:
    events = [e for v in visits(2, 2, 2, 20, END, seed=4) for e in visit_events(v)]
    dashboard.store(events)
    hours = {(v.site, v.camera, v.start_s // 3600) for v in visits(2, 2, 2, 20, END, seed=4)}
    tight = dashboard.settings.model_copy(update={"report_max_hours": len(hours) - 1})
    with (
        dashboard.engine.connect() as connection,
        pytest.raises(
            ReportTooLargeError, match=f"cover {len(hours):,} camera-hours.*choose fewer days"
        ),
    ):
        Analytics(tight).report(connection, Filters(END - 2 * 86400, END))
    with dashboard.engine.connect() as connection:  # one site is within the limit
        site = Analytics(tight).report(connection, Filters(END - 2 * 86400, END, site="store-1"))
    assert site.overall.customers == 2 * 2 * 20
    with TestClient(create_app(tight, dashboard.engine, ingest=False)) as client:
        answer = client.get(
            "/api/acks",
            params={"start": "2026-11-19", "end": "2026-11-20"},
            headers=dashboard.bearer(),
        )
    assert answer.status_code == 422
    assert "camera-hours" in answer.json()["detail"]
