"""Acknowledgement figures, as a drive-thru timer reports greet time: percentiles and the
slowest (averages hide long waits), the share within the daypart's goal, before 5 and 3 ft,
lead time, and customers who left or waited counted apart.

The figures resist gaming: a customer is a cue of a real tracked person whose cue event
arrived; an ack counts only against such a cue, once (the first), and only while the cue
was open (not after the customer left).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, String, and_, case, cast, func, select

from dashboard.settings import DashboardConfig
from dashboard.store.tables import CueRow

HISTOGRAM_EDGES = (0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30, 45, 60)
EPS_S = 0.05  # clock rounding between the edge's stamps
Floats = NDArray[np.float64]


@dataclass(frozen=True)
class Filters:
    """What the manager narrowed the figures to; times are UTC seconds."""

    start_s: float
    end_s: float
    site: str | None = None
    camera: str | None = None
    device: str | None = None
    staff: str | None = None

    def previous(self) -> Filters:
        """The same filters over the period just before, of the same length (last week
        against this week)."""
        length = self.end_s - self.start_s
        return replace(self, start_s=self.start_s - length, end_s=self.start_s)


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


@dataclass
class _Cues:
    """The cue rows in range as parallel arrays."""

    site: NDArray[np.str_]
    camera: NDArray[np.str_]
    waiting: NDArray[np.bool_]
    cued: Floats
    latency: Floats
    acked: NDArray[np.bool_]
    left: NDArray[np.bool_]
    closed: NDArray[np.bool_]  # closed unanswered (its camera went offline)
    lead: Floats
    before: NDArray[np.object_]  # ",5ft,3ft,": zones the ack came before
    goal: Floats = field(default_factory=lambda: np.zeros(0))
    local_day: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    local_minute: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))

    def take(self, mask: NDArray[np.bool_]) -> _Cues:
        return _Cues(**{k: v[mask] for k, v in self.__dict__.items()})


class LocalClock:
    """UTC seconds to a site's local day and minute, vectorised (offsets cached per hour)."""

    def __init__(self) -> None:
        self._offsets: dict[tuple[str, int], float] = {}

    def local_seconds(self, zone: ZoneInfo, utc_s: Floats) -> Floats:
        """``utc_s`` shifted by the zone's UTC offset at each instant."""
        if utc_s.size == 0:
            return utc_s
        hours = np.floor(utc_s / 3600).astype(np.int64)
        unique, inverse = np.unique(hours, return_inverse=True)
        offsets = np.array([self._offset(zone, int(h)) for h in unique])
        shifted: Floats = utc_s + offsets[inverse]
        return shifted

    def _offset(self, zone: ZoneInfo, hour: int) -> float:
        key = (zone.key, hour)
        if key not in self._offsets:
            offset = datetime.fromtimestamp(hour * 3600 + 1800, UTC).astimezone(zone).utcoffset()
            self._offsets[key] = offset.total_seconds() if offset else 0.0
        return self._offsets[key]


class Analytics:
    """Runs the Acknowledgement queries for a configuration."""

    def __init__(self, settings: DashboardConfig) -> None:
        self._settings = settings
        self._clock = LocalClock()
        parts = [settings.goals.goal_for(minute) for minute in range(1440)]
        self._goal_by_minute = np.array([part.goal_s for part in parts], float)
        self._daypart_by_minute = np.array([part.name for part in parts])

    def report(self, connection: Connection, filters: Filters) -> Report:
        """The Acknowledgement page's figures for these filters."""
        cues = self._load(connection, filters)
        customers = cues.take(~cues.waiting)
        waiting = cues.take(cues.waiting)
        goals = self._settings.goals
        return Report(
            overall=self._latency(customers),
            waiting=self._latency(waiting),
            before=self._before(customers),
            lead_p50_s=_percentile(customers.lead[np.isfinite(customers.lead)], 50),
            lead_p10_s=_percentile(customers.lead[np.isfinite(customers.lead)], 10),
            histogram=_histogram(customers.latency[customers.acked]),
            by_hour=self._groups(customers, customers.local_minute // 60, lambda h: f"{h:02d}:00"),
            by_day=self._groups(customers, customers.local_day, _day_label),
            by_daypart=self._by_daypart(customers),
            league_sites=self._league(customers, customers.site),
            league_cameras=self._league(customers, _joined(customers.site, customers.camera)),
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

    def _load(self, connection: Connection, filters: Filters) -> _Cues:
        """The cue rows in range, fetched as one row of joined columns: the database joins
        them, NumPy parses the numbers, so no Python object is made per value."""
        c = CueRow.__table__.c
        joined = _joiner(connection.dialect.name)
        waiting = case((c.reason == "waiting", "1"), else_="0")
        columns = [c.site, c.camera, waiting]
        numbers = [c.cued_s, c.latency_s, c.acked_s, c.left_s, c.lead_s, c.closed_s]
        query = select(
            *(joined(column, ",") for column in columns),
            *(joined(func.coalesce(cast(n, String), "nan"), ",") for n in numbers),
            joined(func.coalesce(c.before, ""), "|"),
            func.count(),
        ).where(*_conditions(filters))
        row = connection.execute(query).one()
        if not row[-1]:
            empty = np.zeros(0)
            return _Cues(
                np.zeros(0, str),
                np.zeros(0, str),
                np.zeros(0, bool),
                empty,
                empty,
                np.zeros(0, bool),
                np.zeros(0, bool),
                np.zeros(0, bool),
                empty,
                np.zeros(0, object),
            )
        site, camera = row[0].split(","), row[1].split(",")
        reason = np.fromstring(row[2], dtype=np.int8, sep=",")
        cued, latency, acked_s, left_s, lead, closed_s = (
            np.fromstring(t, sep=",") for t in row[3:9]
        )
        before = row[9].split("|")
        cued_a, acked_at, left_at = cued, acked_s, left_s  # nan where none
        acked = np.isfinite(acked_at) & (acked_at >= cued_a - EPS_S)
        acked &= ~(np.isfinite(left_at) & (acked_at > left_at + EPS_S))
        cues = _Cues(
            site=np.asarray(site, str),
            camera=np.asarray(camera, str),
            waiting=reason == 1,
            cued=cued_a,
            latency=np.where(acked, latency, np.nan),
            acked=acked,
            left=~acked & np.isfinite(left_at),
            closed=~acked & ~np.isfinite(left_at) & np.isfinite(closed_s),
            lead=lead,
            before=np.asarray(before, object),
        )
        self._localise(cues)
        return cues

    def _localise(self, cues: _Cues) -> None:
        local = np.empty_like(cues.cued)
        sites, index = np.unique(cues.site, return_inverse=True)
        zones = np.array([self._settings.zone_of(str(site)).key for site in sites])
        for zone in np.unique(zones):  # a chain has many sites but few time zones
            mask = zones[index] == zone
            local[mask] = self._clock.local_seconds(ZoneInfo(str(zone)), cues.cued[mask])
        cues.local_day = np.floor(local / 86400).astype(np.int64)
        cues.local_minute = (np.floor(local / 60) % 1440).astype(np.int64)
        cues.goal = self._goal_by_minute[cues.local_minute]

    def _latency(self, cues: _Cues) -> Latency:
        return (
            self._figures(cues, np.zeros(cues.cued.size, np.int64))[1][0]
            if cues.cued.size
            else (self._empty())
        )

    def _empty(self) -> Latency:
        return Latency(0, 0, 0, 0, 0, None, None, None, None, None, "none")

    def _figures(self, cues: _Cues, keys: NDArray[Any]) -> tuple[NDArray[Any], list[Latency]]:
        """Figures per distinct key, vectorised: one sort for every group's percentiles."""
        labels, index = np.unique(keys, return_inverse=True)
        groups = labels.size
        count = np.bincount(index, minlength=groups)
        acked = np.bincount(index, weights=cues.acked, minlength=groups).astype(int)
        left = np.bincount(index, weights=cues.left, minlength=groups).astype(int)
        closed_by = np.bincount(index, weights=cues.closed, minlength=groups).astype(int)
        fast = cues.acked & (cues.latency <= cues.goal)
        within = np.bincount(index, weights=fast, minlength=groups)
        group, latency = index[cues.acked], cues.latency[cues.acked]
        order = np.lexsort((latency, group))
        ordered = latency[order]
        starts = np.cumsum(acked) - acked

        def quantile(q: float) -> Floats:
            spot = starts + np.maximum(acked - 1, 0) * q
            low = np.floor(spot).astype(int)
            high = np.minimum(low + 1, starts + np.maximum(acked - 1, 0))
            if ordered.size == 0:
                return np.full(groups, np.nan)
            low, high = np.minimum(low, ordered.size - 1), np.minimum(high, ordered.size - 1)
            value = ordered[low] + (ordered[high] - ordered[low]) * (spot - np.floor(spot))
            return np.where(acked > 0, value, np.nan)

        p50, p90, p99, top = quantile(0.5), quantile(0.9), quantile(0.99), quantile(1.0)
        out = []
        for g in range(groups):
            closed = int(acked[g] + left[g])
            share = float(within[g]) / closed if closed else None
            out.append(
                Latency(
                    customers=int(count[g]),
                    acknowledged=int(acked[g]),
                    left=int(left[g]),
                    closed=int(closed_by[g]),
                    open=int(count[g]) - closed - int(closed_by[g]),
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

    def _groups(self, cues: _Cues, keys: NDArray[Any], label: Any) -> list[dict[str, Any]]:
        labels, figures = self._figures(cues, keys)
        return [
            {"key": label(key.item()), **f.as_dict()}
            for key, f in zip(labels, figures, strict=True)
        ]

    def _by_daypart(self, cues: _Cues) -> list[dict[str, Any]]:
        names = self._daypart_by_minute
        keys = names[cues.local_minute] if cues.cued.size else np.zeros(0, str)
        order = {p.name: i for i, p in enumerate(self._settings.goals.dayparts)}
        groups = self._groups(cues, keys, str)
        return sorted(groups, key=lambda g: order[g["key"]])

    def _league(self, cues: _Cues, keys: NDArray[Any]) -> list[dict[str, Any]]:
        rows = self._groups(cues, keys, str)
        return sorted(rows, key=lambda r: (-(r["within_goal"] or 0), r["p90_s"] or 1e9))

    def _before(self, cues: _Cues) -> dict[str, float | None]:
        acked = cues.before[cues.acked]
        shares: dict[str, float | None] = {}
        for zone in self._settings.goals.before_zones:
            tag = f",{zone},"
            shares[zone] = sum(tag in z for z in acked) / acked.size if acked.size else None
        return shares


def _conditions(filters: Filters) -> list[Any]:
    c = CueRow.__table__.c
    out = [c.issued.is_(True), c.track_id.is_not(None), c.cued_s >= filters.start_s]
    out.append(c.cued_s < filters.end_s)
    if filters.site:
        out.append(c.site == filters.site)
    if filters.camera:
        out.append(c.camera == filters.camera)
    if filters.device:
        out.append((c.device == filters.device) | (c.ack_device == filters.device))
    if filters.staff:
        out.append(c.staff == filters.staff)
    return [and_(*out)]


def _percentile(values: Floats, q: float) -> float | None:
    return float(np.percentile(values, q)) if values.size else None


def _joiner(dialect: str) -> Any:
    """The aggregate that joins a column's values into one string, in the database."""
    if dialect == "postgresql":
        return lambda column, sep: func.string_agg(cast(column, String), sep)
    return lambda column, sep: func.group_concat(column, sep)


def _joined(sites: NDArray[np.str_], cameras: NDArray[np.str_]) -> NDArray[np.str_]:
    """``site/camera`` per row, joining each distinct pair once."""
    pairs, index = np.unique(np.stack([sites, cameras]), axis=1, return_inverse=True)
    names = np.array([f"{site}/{camera}" for site, camera in pairs.T])
    joined: NDArray[np.str_] = names[index.ravel()] if sites.size else np.zeros(0, str)
    return joined


def _number(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def _histogram(latencies: Floats) -> list[dict[str, Any]]:
    edges = [*HISTOGRAM_EDGES, np.inf]
    counts, _ = np.histogram(latencies, bins=edges)
    return [
        {"from_s": lo, "to_s": None if np.isinf(hi) else hi, "count": int(n)}
        for lo, hi, n in zip(edges[:-1], edges[1:], counts, strict=True)
    ]


def _day_label(day: int) -> str:
    return str(np.datetime64(day, "D"))
