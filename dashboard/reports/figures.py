"""One report's figures, in the words a store manager reads first: this period against the
one before, with the percentile names only as detail. The PDF and the e-mail say the same
lines, so they are made once, here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection

from dashboard.analytics import Analytics, Filters, Latency, Report
from dashboard.settings import DashboardConfig

RAG_WORDS = {"green": "on target", "amber": "near target", "red": "below target"}
NO_DATA = "no data"


@dataclass(frozen=True)
class Acknowledgement:
    """A report and what it is about: the figures for the filters and the overall figures of
    the period of the same length just before."""

    filters: Filters
    report: Report
    previous: Latency
    scope: str  # "All sites", a site's title, or a site / camera
    first: date  # local dates, both included
    last: date
    zone: str  # the time zone the dates and hours are in
    target: float  # the service-level target (share)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def period(self) -> str:
        """The period in words: 'Fri 4 Dec 2026' or 'Mon 30 Nov - Sun 6 Dec 2026'."""
        return period_words(self.first, self.last)

    @property
    def before(self) -> str:
        """The previous period in words, as a comparison reads: 'the day before'."""
        if self.days == 1:
            return "the day before"
        return "the week before" if self.days == 7 else f"the {self.days} days before"


@dataclass(frozen=True)
class Line:
    """One figure: plain words, this period, the period before, and the detail."""

    label: str
    value: str
    previous: str
    detail: str
    rag: str = "none"  # the service level's colour; none for the others


def gather(
    connection: Connection, analytics: Analytics, settings: DashboardConfig, filters: Filters
) -> Acknowledgement:
    """The report for ``filters`` and the period before it, from the store."""
    report = analytics.report(connection, filters)
    previous = analytics.report(connection, filters.previous()).overall
    zone = settings.zone_of(filters.site or "")
    first = datetime.fromtimestamp(filters.start_s, zone).date()
    last = (datetime.fromtimestamp(filters.end_s, zone) - timedelta(days=1)).date()
    return Acknowledgement(
        filters=filters,
        report=report,
        previous=previous,
        scope=scope_words(settings, filters),
        first=first,
        last=max(first, last),
        zone=zone.key,
        target=settings.goals.service_level,
    )


def scope_words(settings: DashboardConfig, filters: Filters) -> str:
    """Whom the report is about: the site's title, narrowed by camera and device."""
    if filters.site is None:
        words = "All sites"
    else:
        site = settings.sites.get(filters.site)
        words = (site.title if site else None) or filters.site
    for narrowed in (filters.camera, filters.device, filters.staff):
        if narrowed:
            words += f" / {narrowed}"
    return words


def period_words(first: date, last: date) -> str:
    """Local dates as people write them on a report."""
    if first == last:
        return _day(first, year=True)
    return f"{_day(first, year=first.year != last.year)} \N{EN DASH} {_day(last, year=True)}"


def _day(day: date, year: bool) -> str:
    words = f"{day:%a} {day.day} {day:%b}"
    return f"{words} {day.year}" if year else words


def seconds(value: float | None) -> str:
    return NO_DATA if value is None else f"{value:.1f} s"


def share(value: float | None) -> str:
    return NO_DATA if value is None else f"{value * 100:.0f} %"


def lines(ack: Acknowledgement) -> list[Line]:
    """The headline figures, plain words first."""
    now, before = ack.report.overall, ack.previous
    target = f"target {ack.target * 100:.0f} %"
    level = f"service level; {target}" + (f", {RAG_WORDS[now.rag]}" if now.rag in RAG_WORDS else "")
    return [
        Line("Customers", f"{now.customers:,}", f"{before.customers:,}", "cued as they approached"),
        Line("Typical wait", seconds(now.p50_s), seconds(before.p50_s), "p50: half waited less"),
        Line("9 in 10 customers within", seconds(now.p90_s), seconds(before.p90_s), "p90"),
        Line(
            "Acknowledged within the goal",
            share(now.within_goal),
            share(before.within_goal),
            level,
            now.rag,
        ),
        Line(
            "Left before anyone acknowledged",
            f"{now.left:,}",
            f"{before.left:,}",
            "counted apart: never in the waits",
        ),
    ]


def detail_words(ack: Acknowledgement) -> str:
    """The percentiles and the slowest, for readers who want them."""
    now = ack.report.overall
    return (
        f"p50 {seconds(now.p50_s)}, p90 {seconds(now.p90_s)}, p99 {seconds(now.p99_s)}, "
        f"slowest {seconds(now.slowest_s)}; {now.acknowledged:,} of {now.customers:,} acknowledged"
    )
