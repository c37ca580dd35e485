"""``greetcue bench dashboard``: ingest rate from MQTT into SQLite and PostgreSQL, and the
Acknowledgement page's queries over a large store, in one run.

1. Ingest: see :mod:`edge.cli.bench_ingest`.
2. Queries: a store of ``events`` synthetic events over ``sites`` sites and ``days`` days
   (built once and kept in the cache folder), then the Acknowledgement page's report for the
   filters managers use, timed repeatedly; p50 and p95 per filter; and the printable report of
   the default view (two reports and the PDF page drawn), which has no target of its own.
"""

from __future__ import annotations

import logging
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import platformdirs
from rich.progress import Progress
from sqlalchemy import Engine

from dashboard.analytics import Analytics, Filters, ReportTooLargeError
from dashboard.gc_tuning import tune_gc
from dashboard.reports.figures import gather
from dashboard.reports.pdf import report_pdf
from dashboard.samples import LocalClock
from dashboard.settings import DashboardConfig
from dashboard.store import rollups, sums, writes
from dashboard.store.database import head_revision, open_engine, upgrade
from dashboard.synthetic import visit_events, visits
from edge.cli.bench_ingest import EVENTS_PER_VISIT

QUERY_TARGET_MS = 100.0  # p95 of the Acknowledgement page's queries
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueryFigure:
    """One filter's Acknowledgement report, timed."""

    name: str
    customers: int
    p50_ms: float
    p95_ms: float
    refused: str | None = None  # the report was refused as too large (ReportTooLargeError)


def query_store(events: int, sites: int, days: int, progress: Progress) -> Path:
    """A SQLite store of about ``events`` events (built once, kept in the cache)."""
    cache = Path(platformdirs.user_cache_dir("greetcue")) / "bench"
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"dashboard-{head_revision()}-totalled-{events}-{sites}-{days}.sqlite3"
    if path.exists():
        return path
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    engine = open_engine(f"sqlite:///{partial}")
    upgrade(engine)
    cameras = 2
    per_day = max(1, events // EVENTS_PER_VISIT // (sites * cameras * days))
    total = sites * cameras * days * per_day * EVENTS_PER_VISIT
    task = progress.add_task(f"building a store of {total:,} events", total=total)
    batch: list[writes.Received] = []
    end = _midnight()
    for visit in visits(sites, cameras, days, per_day, end, seed=3):
        batch += [writes.Received(e, visit.start_s) for e in visit_events(visit)]
        if len(batch) >= 20_000:
            with engine.begin() as connection:
                writes.store_events(connection, batch)
            progress.advance(task, len(batch))
            batch = []
    with engine.begin() as connection:
        writes.store_events(connection, batch)
    with engine.connect() as connection:  # rolled up and totalled, as the ingest does
        rollups.catch_up(connection, DashboardConfig().zone_of, LocalClock())
    build_totals(engine, days, progress)
    engine.dispose()
    progress.remove_task(task)
    partial.rename(path)
    return path


def build_totals(engine: Engine, days: int, progress: Progress) -> float:
    """Build the running totals of the loaded hours as the ingest does, a week per
    transaction; how long it took (s)."""
    spec = Analytics(DashboardConfig()).sums_spec
    task = progress.add_task("building the running totals by day", total=days)
    clock, start = LocalClock(), time.perf_counter()
    done = False
    while not done:
        with engine.begin() as connection:
            done = sums.build(connection, spec, clock)
        progress.advance(task, sums.BUILD_DAYS)
    progress.remove_task(task)
    return time.perf_counter() - start


def _midnight() -> float:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today.timestamp()


def query_latency(store: Path, rounds: int, progress: Progress) -> list[QueryFigure]:
    """The Acknowledgement report for the filters a manager uses, ``rounds`` times each."""
    engine = open_engine(f"sqlite:///{store}")
    analytics = Analytics(DashboardConfig(state_dir=store.parent))
    end = _midnight()
    day = timedelta(days=1).total_seconds()
    cases = {
        "all sites, last 7 days (the default)": Filters(end - 7 * day, end),
        "one site, last 7 days": Filters(end - 7 * day, end, site="store-1"),
        "one site and camera, 90 days": Filters(
            end - 90 * day, end, site="store-2", camera="counter-1"
        ),
        "all sites, last 30 days": Filters(end - 30 * day, end),
        "all sites, all 90 days": Filters(end - 90 * day, end),
        "one staff member, 30 days": Filters(end - 30 * day, end, staff="sam"),
    }
    out = time_reports(engine, analytics, cases, rounds, progress)
    engine.dispose()
    return out


def time_reports(
    engine: Engine,
    analytics: Analytics,
    cases: dict[str, Filters],
    rounds: int,
    progress: Progress,
) -> list[QueryFigure]:
    """Each case's Acknowledgement report, timed ``rounds`` times after a first view."""
    task = progress.add_task("Acknowledgement reports", total=len(cases) * rounds)
    tune_gc()  # as `greetcue dashboard` does
    out = []
    for name, filters in cases.items():
        try:
            with engine.connect() as connection:  # a first view fills the page and zone caches
                analytics.report(connection, filters)
        except ReportTooLargeError as exc:
            out.append(QueryFigure(name, 0, float("nan"), float("nan"), str(exc)))
            progress.advance(task, rounds)
            continue
        times, customers = [], 0
        for _ in range(rounds):
            start = time.perf_counter()
            with engine.connect() as connection:
                report = analytics.report(connection, filters)
            times.append((time.perf_counter() - start) * 1000)
            customers = report.overall.customers
            progress.advance(task)
        out.append(
            QueryFigure(name, customers, statistics.median(times), float(np.percentile(times, 95)))
        )
    progress.remove_task(task)
    return out


def report_pdf_latency(store: Path, rounds: int, progress: Progress) -> QueryFigure:
    """The printable report of the default view (``/acks.pdf``: all sites, 7 days), made
    ``rounds`` times: its two reports (the period and the one before) and the page drawn."""
    settings = DashboardConfig(state_dir=store.parent)
    engine = open_engine(f"sqlite:///{store}")
    analytics = Analytics(settings)
    end = _midnight()
    filters = Filters(end - timedelta(days=7).total_seconds(), end)
    task = progress.add_task("printable reports", total=rounds)

    def made() -> int:
        with engine.connect() as connection:
            ack = gather(connection, analytics, settings, filters)
        report_pdf(ack, datetime.now(UTC))
        return ack.report.overall.customers

    made()  # the first loads matplotlib and its fonts, as a dashboard's first report does
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        customers = made()
        times.append((time.perf_counter() - start) * 1000)
        progress.advance(task)
    engine.dispose()
    progress.remove_task(task)
    name = "printable report (PDF), all sites, last 7 days"
    return QueryFigure(name, customers, statistics.median(times), float(np.percentile(times, 95)))
