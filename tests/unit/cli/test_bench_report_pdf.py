"""The bench's printable-report figure: it makes the default view's PDF over a store and
counts that view's customers."""

from __future__ import annotations

from pathlib import Path

from rich.progress import Progress

from dashboard.settings import DashboardConfig
from dashboard.store import writes
from dashboard.synthetic import visit_events, visits
from edge.cli.bench_dashboard import _midnight, report_pdf_latency
from tests.support.dashboard_support import migrated_engine


def test_the_report_figure_times_the_default_views_pdf(tmp_path: Path) -> None:
    settings = DashboardConfig(state_dir=tmp_path)
    engine = migrated_engine(settings)
    week = list(visits(sites=2, cameras=1, days=7, per_day=5, end_s=_midnight()))
    with engine.begin() as connection:
        events = [writes.Received(e, v.start_s) for v in week for e in visit_events(v)]
        writes.store_events(connection, events)
    engine.dispose()
    store = Path(settings.database_url().removeprefix("sqlite:///"))
    with Progress(transient=True) as progress:
        figure = report_pdf_latency(store, 2, progress)
    assert figure.customers == len(week)
    assert 0 < figure.p50_ms <= figure.p95_ms
