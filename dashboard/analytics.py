"""Acknowledgement figures, as a drive-thru timer reports greet time: percentiles and the
slowest (averages hide long waits), the share within the daypart's goal, before 5 and 3 ft,
lead time, and customers who left or waited counted apart.

The figures resist gaming: a customer is a cue of a real tracked person whose cue event
arrived; an ack counts only against such a cue, once (the first), and only while the cue
was open (not after the customer left).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, and_

from dashboard.samples import Entries, Ints, LocalClock, Units, weighted_quantiles
from dashboard.settings import DashboardConfig
from dashboard.store import rollups, sum_reads, sums
from dashboard.store.cue_reads import load_cues, zones_before
from dashboard.store.tables import CueHourRow, CueHourZoneRow, CueRow

by_key = itemgetter("key")
READ_DAYS = 14  # rollup hours read per query: PostgreSQL joins a column into at most 1 GB
HISTOGRAM_EDGES = (0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30, 45, 60)


@dataclass(frozen=True)
class Filters:
    """What the manager narrowed the figures to; times are UTC seconds."""

    start_s: float
    end_s: float
    site: str | None = None
    camera: str | None = None
    device: str | None = None
    staff: str | None = None

    def slices(self, length_s: float) -> list[Filters]:
        """The range cut into consecutive pieces of at most ``length_s``."""
        starts = np.arange(self.start_s, self.end_s, length_s)
        return [replace(self, start_s=s, end_s=min(s + length_s, self.end_s)) for s in starts]

    @property
    def span(self) -> tuple[float, float]:
        return self.start_s, self.end_s

    def previous(self) -> Filters:
        """The same filters over the period just before, of the same length (last week
        against this week)."""
        length = self.end_s - self.start_s
        return replace(self, start_s=self.start_s - length, end_s=self.start_s)


class ReportTooLargeError(ValueError):
    """The filters cover more camera-hours than one report may read."""


@dataclass(frozen=True)
class Latency:
    """Acknowledgement latency of a group of customers."""

    customers: int
    acknowledged: int
    left: int
    closed: int  # closed unanswered: their camera went offline
    open: int
    p50_s: float | None
    p90_s: float | None
    p99_s: float | None
    slowest_s: float | None
    within_goal: float | None  # share of closed cues (acked + left) acked within the goal
    rag: str  # green / amber / red / none

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return self.__dict__.copy()


@dataclass(frozen=True)
class Report:
    """Everything the Acknowledgement page shows."""

    overall: Latency
    waiting: Latency
    before: dict[str, float | None]
    lead_p50_s: float | None
    lead_p10_s: float | None
    histogram: list[dict[str, Any]]
    by_hour: list[dict[str, Any]]
    by_day: list[dict[str, Any]]
    by_daypart: list[dict[str, Any]]
    league_sites: list[dict[str, Any]]
    league_cameras: list[dict[str, Any]]
    goals: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        out = self.__dict__.copy()
        out["overall"], out["waiting"] = self.overall.as_dict(), self.waiting.as_dict()
        return out


class Analytics:
    """Runs the Acknowledgement queries for a configuration: from the hourly rollups, or from
    the raw cue rows when the filters name a device or a staff member (the rollups are kept
    per site, camera and hour only)."""

    def __init__(self, settings: DashboardConfig) -> None:
        self._settings = settings
        self._clock = LocalClock()
        parts = [settings.goals.goal_for(minute) for minute in range(1440)]
        self._goal_by_minute = np.array([part.goal_s for part in parts], float)
        self._daypart_by_minute = np.array([part.name for part in parts])
        self.sums_spec = sums.SumsSpec(
            ZoneInfo(settings.timezone), self._goal_by_minute, settings.goals.model_dump_json()
        )

    def report(self, connection: Connection, filters: Filters) -> Report:
        """The Acknowledgement page's figures for these filters."""
        if filters.device or filters.staff:
            units, before = self.raw_units(connection, filters)
        else:
            observe = sums.observer(self.sums_spec, self._clock)
            rollups.catch_up(connection, self._settings.zone_of, self._clock, observe)
            chain = not (filters.site or filters.camera)
            days = sums.whole_days(self.sums_spec, *filters.span) if chain else None
            if days and sums.built(connection, self.sums_spec):
                hours_of_day, by_day, cameras, before = sum_reads.report_units(connection, *days)
                return self.figures(hours_of_day, before, by_day, cameras)
            hours = rollups.count(connection, _hours(CueHourRow.__table__.c, filters))
            if hours > self._settings.report_max_hours:
                raise ReportTooLargeError(
                    f"these dates and sites cover {hours:,} camera-hours; one report reads at "
                    f"most {self._settings.report_max_hours:,} (report_max_hours): choose fewer "
                    "days or one site"
                )
            units = Units.concat(
                [
                    rollups.load(connection, _hours(CueHourRow.__table__.c, part))
                    for part in filters.slices(READ_DAYS * 86400.0)
                ]
            )
            before = rollups.before_counts(connection, _hours(CueHourZoneRow.__table__.c, filters))
        return self.figures(units, before)

    def raw_units(self, connection: Connection, filters: Filters) -> tuple[Units, dict[str, int]]:
        """Every cue in range as a unit of one customer, and the acknowledged customers by
        zone they were acknowledged before."""
        cues = load_cues(connection, _conditions(filters))
        local = self._clock.by_site(self._settings.zone_of, cues.site, cues.cued)
        units = cues.units(local)
        return units, dict(zones_before(cues.before[cues.acked & ~cues.waiting]))

    def figures(
        self,
        units: Units,
        before: dict[str, int],
        days: Units | None = None,
        per_camera: Units | None = None,
    ) -> Report:
        """The report of these units; the by-day figures from ``days`` and the league tables
        from ``per_camera`` when given (the chain's totals), else from ``units`` too."""
        customers = units.take(~units.waiting)
        waiting = units.take(units.waiting)
        daily = customers if days is None else days.take(~days.waiting)
        league = customers if per_camera is None else per_camera.take(~per_camera.waiting)
        goals = self._settings.goals
        leads = customers.lead
        lead = weighted_quantiles(np.zeros(leads.unit.size, np.int64), leads, 1, (0.5, 0.1))
        acked = int(customers.acked.sum())
        cameras = self._league(league, _joined(league.site, league.camera))
        return Report(
            overall=self._latency(customers),
            waiting=self._latency(waiting),
            before={z: before.get(z, 0) / acked if acked else None for z in goals.before_zones},
            lead_p50_s=_number(lead[0][0]),
            lead_p10_s=_number(lead[1][0]),
            histogram=_histogram(customers.latency),
            by_hour=self._groups(customers, customers.local_minute // 60, lambda h: f"{h:02d}:00"),
            by_day=self._groups(daily, daily.local_day, _day_label),
            by_daypart=self._by_daypart(customers),
            league_sites=self._league(league, league.site, cameras),
            league_cameras=cameras,
            goals=[
                {
                    "name": p.name,
                    "start": p.start.isoformat("minutes"),
                    "end": p.end.isoformat("minutes"),
                    "goal_s": p.goal_s,
                }
                for p in goals.dayparts
            ],
        )

    def _latency(self, units: Units) -> Latency:
        if not units.size:
            return Latency(0, 0, 0, 0, 0, None, None, None, None, None, "none")
        return self._figures(units, np.zeros(units.size, np.int64))[1][0]

    def _figures(self, units: Units, keys: NDArray[Any]) -> tuple[NDArray[Any], list[Latency]]:
        """Figures per distinct key, vectorised: one sort for every group's percentiles."""
        labels, index = np.unique(keys, return_inverse=True)
        groups = labels.size

        def total(values: NDArray[Any]) -> Ints:
            return np.bincount(index, weights=values, minlength=groups).astype(np.int64)

        count, acked = total(units.customers), total(units.acked)
        left, closed_by = total(units.left), total(units.closed)
        entries = units.latency
        group = index[entries.unit]
        if units.within is None:
            goal = self._goal_by_minute[units.local_minute[entries.unit]]
            fast = entries.weight * (entries.upper <= goal + 1e-9)
            within = np.bincount(group, weights=fast, minlength=groups)
        else:
            within = np.bincount(index, weights=units.within, minlength=groups)
        p50, p90, p99, top = weighted_quantiles(group, entries, groups, (0.5, 0.9, 0.99, 1.0))
        out = []
        for g in range(groups):
            answered = int(acked[g] + left[g])
            share = float(within[g]) / answered if answered else None
            out.append(
                Latency(
                    customers=int(count[g]),
                    acknowledged=int(acked[g]),
                    left=int(left[g]),
                    closed=int(closed_by[g]),
                    open=int(count[g]) - answered - int(closed_by[g]),
                    p50_s=_number(p50[g]),
                    p90_s=_number(p90[g]),
                    p99_s=_number(p99[g]),
                    slowest_s=_number(top[g]),
                    within_goal=share,
                    rag=self.rag(share),
                )
            )
        return labels, out

    def rag(self, share: float | None) -> str:
        """Green / amber / red against the service-level target."""
        if share is None:
            return "none"
        goals = self._settings.goals
        share += 1e-9  # 7 of 10 is 70 %, whatever the float sums say
        if share >= goals.service_level:
            return "green"
        return "amber" if share >= goals.service_level - goals.amber_margin else "red"

    def _groups(self, units: Units, keys: NDArray[Any], label: Any) -> list[dict[str, Any]]:
        labels, figures = self._figures(units, keys)
        return [
            {"key": label(key.item()), **f.as_dict()}
            for key, f in zip(labels, figures, strict=True)
        ]

    def _by_daypart(self, units: Units) -> list[dict[str, Any]]:
        names = self._daypart_by_minute
        keys = names[units.local_minute] if units.size else np.zeros(0, str)
        order = {p.name: i for i, p in enumerate(self._settings.goals.dayparts)}
        groups = self._groups(units, keys, str)
        return sorted(groups, key=lambda g: order[g["key"]])

    def _league(
        self, units: Units, keys: NDArray[Any], cameras: list[dict[str, Any]] | None = None
    ) -> list[dict[str, Any]]:
        """The groups ranked, best first. Sites with one camera each (most stores) are their
        cameras' rows under the site's name: ``cameras`` saves figuring them twice."""
        if cameras is not None and len(cameras) == np.unique(keys).size:
            rows = sorted(({**r, "key": r["key"].split("/", 1)[0]} for r in cameras), key=by_key)
        else:
            rows = self._groups(units, keys, str)
        return sorted(rows, key=lambda r: (-(r["within_goal"] or 0), r["p90_s"] or 1e9))


def _conditions(filters: Filters) -> list[Any]:
    c = CueRow.__table__.c
    out = [c.cued_s >= filters.start_s, c.cued_s < filters.end_s]
    if filters.site:
        out.append(c.site == filters.site)
    if filters.camera:
        out.append(c.camera == filters.camera)
    if filters.device:
        out.append((c.device == filters.device) | (c.ack_device == filters.device))
    if filters.staff:
        out.append(c.staff == filters.staff)
    return [and_(*out)]


def _hours(c: Any, filters: Filters) -> list[Any]:
    """The rollup hours of these filters (a site and a camera, no device or staff)."""
    out = [c.start_s >= filters.start_s, c.start_s < filters.end_s]
    if filters.site:
        out.append(c.site == filters.site)
    if filters.camera:
        out.append(c.camera == filters.camera)
    return out


def _joined(sites: NDArray[np.str_], cameras: NDArray[np.str_]) -> NDArray[np.str_]:
    """``site/camera`` per row, joining each distinct pair once."""
    pairs, index = np.unique(np.stack([sites, cameras]), axis=1, return_inverse=True)
    names = np.array([f"{site}/{camera}" for site, camera in pairs.T])
    joined: NDArray[np.str_] = names[index.ravel()] if sites.size else np.zeros(0, str)
    return joined


def _number(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def _histogram(latencies: Entries) -> list[dict[str, Any]]:
    """Acknowledged customers by latency, each bar (from, to]: the first from 0 inclusive."""
    edges = [*HISTOGRAM_EDGES, np.inf]
    bars = np.maximum(np.searchsorted(edges, latencies.upper, side="left") - 1, 0)
    counts = np.bincount(bars, weights=latencies.weight, minlength=len(edges) - 1)
    return [
        {"from_s": lo, "to_s": None if np.isinf(hi) else hi, "count": int(n)}
        for lo, hi, n in zip(edges[:-1], edges[1:], counts, strict=True)
    ]


def _day_label(day: int) -> str:
    return str(np.datetime64(day, "D"))
