"""Running totals of the hourly rollups by chain day, so a chain's report over whole days reads
two rows per store camera (its totals at the range's last day less those before its first)
instead of one row per camera and hour: a chain's year is 4.4 million hours, but 2,000 rows
here. The chain's figures by local hour are running totals too (24 keys), its by-day figures
one row per day, and the zones acknowledged before are totals per zone.

The totals follow the hours exactly: when the rollup refresh rebuilds an hour, the difference
between the hour's old and new rows is added to every total from that day on, in the same
transaction. ``within_goal`` counts depend on the goals, so the totals carry the goals they
were counted with; after a change of goals ``build`` makes them again from the hours, a few
days per call, and until it is done reports read the hours."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection, delete, func, insert, select, text, tuple_, update

from dashboard.samples import Entries, Floats, Ints, LocalClock, Units, bin_of, summed_bins
from dashboard.store import rollups
from dashboard.store.sum_reads import latest_query
from dashboard.store.tables import (
    CueHourRow,
    CueHourZoneRow,
    DaySumRow,
    SumKeyRow,
    SumRow,
    SumStateRow,
)

FOREVER = 2**31 - 1  # ``through_day`` once built: every later day is kept up as it comes
BUILD_DAYS = 7  # days one ``build`` call adds
CHUNK = 500  # keys bound in one IN (...)
DAY_S = 86400.0
Key = tuple[str, str, bool]  # level, key, waiting
Histogram = dict[int, int]  # bin -> customers


@dataclass(frozen=True)
class SumsSpec:
    """What the totals are counted with: the chain's time zone (its days are theirs), the goal
    of each local minute, and the goals as text (a change rebuilds the totals)."""

    zone: ZoneInfo
    goal_by_minute: Floats
    goals: str


@dataclass
class Sums:
    """Counts and binned latencies and leads of some customers; signed, so a difference of
    totals is a ``Sums`` too."""

    customers: int = 0
    acknowledged: int = 0
    left: int = 0
    closed: int = 0
    within_goal: int = 0
    latency: Histogram = field(default_factory=dict)
    lead: Histogram = field(default_factory=dict)

    def plus(self, other: Sums) -> Sums:
        return Sums(
            self.customers + other.customers,
            self.acknowledged + other.acknowledged,
            self.left + other.left,
            self.closed + other.closed,
            self.within_goal + other.within_goal,
            _merged(self.latency, other.latency),
            _merged(self.lead, other.lead),
        )

    def columns(self) -> dict[str, Any]:
        """The row's counted columns."""
        return {
            "customers": self.customers,
            "acknowledged": self.acknowledged,
            "left": self.left,
            "closed": self.closed,
            "within_goal": self.within_goal,
            "latency_bins": len(self.latency),
            "latency": _text(self.latency),
            "lead_bins": len(self.lead),
            "lead": _text(self.lead),
        }

    @classmethod
    def of_row(cls, row: Any) -> Sums:
        return cls(
            row.customers,
            row.acknowledged,
            row.left,
            row.closed,
            row.within_goal,
            _histogram(row.latency),
            _histogram(getattr(row, "lead", None)),
        )


def _merged(a: Histogram, b: Histogram) -> Histogram:
    out = dict(a)
    for k, n in b.items():
        total = out.get(k, 0) + n
        if total:
            out[k] = total
        else:
            out.pop(k, None)
    return out


def _text(histogram: Histogram) -> str | None:
    return ",".join(f"{k},{n}" for k, n in sorted(histogram.items())) or None


def _histogram(joined: str | None) -> Histogram:
    if not joined:
        return {}
    values = [int(v) for v in joined.split(",")]
    return dict(zip(values[::2], values[1::2], strict=True))


# --- days of the chain --------------------------------------------------------------------


def chain_days(clock: LocalClock, zone: ZoneInfo, utc_s: Floats) -> Ints:
    """The chain's local day of each instant."""
    return np.floor(clock.local_seconds(zone, utc_s) / DAY_S + 1e-9).astype(np.int64)


def day_start(zone: ZoneInfo, day: int) -> float:
    """UTC seconds of the chain's local midnight starting ``day``."""
    when = date(1970, 1, 1) + timedelta(days=day)
    return datetime.combine(when, time(0), zone).timestamp()


def whole_days(spec: SumsSpec, start_s: float, end_s: float) -> tuple[int, int] | None:
    """The chain days ``[first, last)`` of a range that starts and ends at chain midnights."""
    first, last = round(start_s), round(end_s)
    days = chain_days(LocalClock(), spec.zone, np.array([start_s, end_s], float))
    if day_start(spec.zone, int(days[0])) != first or day_start(spec.zone, int(days[1])) != last:
        return None
    return int(days[0]), int(days[1])


# --- keeping the totals up ----------------------------------------------------------------


def built(connection: Connection, spec: SumsSpec) -> bool:
    """Whether the totals are whole for these goals (reports may read them)."""
    return _state(connection) == (spec.goals, FOREVER)


def changed(
    connection: Connection,
    spec: SumsSpec,
    clock: LocalClock,
    old: tuple[Units, Floats, Any],
    new: tuple[Units, Floats, Any],
) -> None:
    """Add the difference of some hours' ``new`` and ``old`` rows (units, starts, zone rows)
    to the totals, for the days already built with these goals."""
    state = _state(connection)
    if state is not None and state[0] == spec.goals:
        _add(connection, spec, clock, [(old, -1), (new, 1)], state[1])


def build(
    connection: Connection, spec: SumsSpec, clock: LocalClock, days: int = BUILD_DAYS
) -> bool:
    """Make the totals of up to ``days`` more days from the hours (all of them again after a
    change of goals); True once they are whole."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": rollups.LOCK_KEY})
    h = CueHourRow.__table__.c
    state = _state(connection)
    if state is None or state[0] != spec.goals:
        for table in (SumRow, SumKeyRow, DaySumRow, SumStateRow):
            connection.execute(delete(table))
        first = connection.execute(select(func.min(h.start_s))).scalar()
        state = (spec.goals, FOREVER if first is None else _day(clock, spec, first) - 1)
        connection.execute(
            insert(SumStateRow), {"id": 1, "goals": state[0], "through_day": state[1]}
        )
    through = state[1]
    if through == FOREVER:
        return True
    newest = connection.execute(select(func.max(h.start_s))).scalar()
    last = through if newest is None else _day(clock, spec, newest)
    z = CueHourZoneRow.__table__.c
    for day in range(through + 1, min(through + days, last) + 1):
        begin, end = day_start(spec.zone, day), day_start(spec.zone, day + 1)
        hours = rollups.load_hours(connection, [h.start_s >= begin, h.start_s < end])
        zones = zone_rows(connection, [z.start_s >= begin, z.start_s < end])
        _add(connection, spec, clock, [((*hours, zones), 1)], day)
        through = day
    done = through >= last
    connection.execute(update(SumStateRow).values(through_day=FOREVER if done else through))
    return done


def _state(connection: Connection) -> tuple[str, int] | None:
    """The goals the totals were counted with and the last day in them."""
    t = SumStateRow.__table__.c
    row = connection.execute(select(t.goals, t.through_day)).first()
    return None if row is None else (str(row[0]), int(row[1]))


def zone_rows(connection: Connection, conditions: list[Any]) -> list[dict[str, Any]]:
    """The ``cue_hour_zones`` rows matching ``conditions``, as the rollups make them."""
    query = select(CueHourZoneRow.__table__).where(*conditions)
    return [dict(row._mapping) for row in connection.execute(query)]


def observer(spec: SumsSpec, clock: LocalClock) -> rollups.Observer:
    """What keeps the totals up while the rollup refresh rebuilds hours."""

    def observe(connection: Connection, buckets: set[rollups.Bucket]) -> rollups.Rebuilt:
        old = _hours_of(connection, buckets)

        def rebuilt(units: Units, starts: Floats, zones: list[dict[str, Any]]) -> None:
            changed(connection, spec, clock, old, (units, starts, zones))

        return rebuilt

    return observe


def forgetting(connection: Connection, buckets: set[rollups.Bucket]) -> rollups.Rebuilt:
    """An observer for a refresh that does not know the goals: the totals it cannot keep up
    are dropped (reports read the hours until they are built again)."""
    connection.execute(delete(SumStateRow))
    return lambda *_: None


def _hours_of(connection: Connection, buckets: set[rollups.Bucket]) -> tuple[Units, Floats, Any]:
    """The hour rows and zone rows of ``buckets`` as they are now."""
    sites = sorted({site for site, _, _ in buckets})
    starts = [start for _, _, start in buckets]
    h, z = CueHourRow.__table__.c, CueHourZoneRow.__table__.c
    units, start = rollups.load_hours(
        connection, [h.site.in_(sites), h.start_s >= min(starts), h.start_s <= max(starts)]
    )
    pairs = zip(units.site.tolist(), units.camera.tolist(), start.tolist(), strict=True)
    keep = [b in buckets for b in pairs]
    window = [z.site.in_(sites), z.start_s >= min(starts), z.start_s <= max(starts)]
    zones = [
        r
        for r in zone_rows(connection, window)
        if (r["site"], r["camera"], r["start_s"]) in buckets
    ]
    mask = np.array(keep, bool)
    return units.take(mask), start[mask], zones


def _day(clock: LocalClock, spec: SumsSpec, utc_s: float) -> int:
    return int(chain_days(clock, spec.zone, np.array([utc_s], float))[0])


def _add(
    connection: Connection,
    spec: SumsSpec,
    clock: LocalClock,
    parts: Sequence[tuple[tuple[Units, Floats, Any], int]],
    through: int,
) -> None:
    """Add each part's units (hours, or the cues of rebuilt hours), times its sign, to the
    totals of the days up to ``through``."""
    units = Units.concat([hours for (hours, _, _), _ in parts])
    starts = np.concatenate([starts for (_, starts, _), _ in parts])
    sign = np.concatenate([np.full(hours.size, s, np.int64) for (hours, _, _), s in parts])
    days = chain_days(clock, spec.zone, starts)
    keep = days <= through
    units, sign, days = units.take(keep), sign[keep], days[keep]
    latency = units.latency = _binned(units.latency)  # the goal meets a bin's upper edge
    goal = spec.goal_by_minute[units.local_minute]
    fast = latency.weight * (latency.upper <= goal[latency.unit] + 1e-9)
    within = np.bincount(latency.unit, weights=fast, minlength=units.size).astype(np.int64)
    waiting = units.waiting.tolist()
    sites = [f"{a}/{b}" for a, b in zip(units.site.tolist(), units.camera.tolist(), strict=True)]
    hours = [f"{m // 60:02d}" for m in units.local_minute.tolist()]
    totals: dict[Key, dict[int, Sums]] = defaultdict(dict)
    for level, names in (("site", sites), ("hour", hours)):
        keys = [(level, n, w, d) for n, w, d in zip(names, waiting, days.tolist(), strict=True)]
        for (lvl, name, w, day), sums in _grouped(keys, units, sign, within).items():
            if lvl == "site":  # the league tables show no lead times
                sums.lead = {}
            totals[(lvl, name, w)][day] = sums
    for (lvl, name, w, day), sums in _zone_sums(clock, spec, parts, through).items():
        totals[(lvl, name, w)][day] = sums
    local = units.local_day.tolist()
    by_day = _grouped(list(zip(waiting, days.tolist(), local, strict=True)), units, sign, within)
    _accumulate(connection, totals)
    _add_days(connection, by_day)


def _binned(entries: Entries) -> Entries:
    """Entries in rollup bins, as the hours hold them (a cue's exact value into its bin)."""
    return Entries.binned(entries.unit, bin_of(entries.value), entries.weight)


def _grouped(
    keys: list[tuple[Any, ...]], units: Units, sign: Ints, within: Ints
) -> dict[tuple[Any, ...], Sums]:
    """The signed ``Sums`` of the units under each distinct key (one per unit)."""
    index: dict[tuple[Any, ...], int] = {}
    group = np.array([index.setdefault(key, len(index)) for key in keys], np.int64)
    n = len(index)

    def total(values: Ints) -> list[int]:
        summed = np.bincount(group, weights=values * sign, minlength=n)
        return [int(v) for v in summed.round()]

    counts = [
        total(values) for values in (units.customers, units.acked, units.left, units.closed, within)
    ]
    latency, lead = (_histograms(e, group, sign, n) for e in (units.latency, units.lead))
    customers, acked, left, closed, fast = counts
    return {
        key: Sums(customers[g], acked[g], left[g], closed[g], fast[g], latency[g], lead[g])
        for key, g in index.items()
    }


def _histograms(entries: Entries, group: Ints, sign: Ints, groups: int) -> list[Histogram]:
    """Per group, the signed customers of each bin of ``entries``."""
    out: list[Histogram] = [{} for _ in range(groups)]
    bins = entries.bins if entries.bins is not None else bin_of(entries.value)
    weight = entries.weight * sign[entries.unit]
    cells = summed_bins(group[entries.unit], bins, weight, groups)
    for g, b, n in zip(*(cell.tolist() for cell in cells), strict=True):
        out[g][b] = n
    return out


def _zone_sums(
    clock: LocalClock,
    spec: SumsSpec,
    parts: Sequence[tuple[tuple[Units, Floats, Any], int]],
    through: int,
) -> dict[tuple[str, str, bool, int], Sums]:
    """Customers acknowledged before each zone, signed, by zone and day."""
    out: dict[tuple[str, str, bool, int], Sums] = defaultdict(Sums)
    for (_, _, rows), sign in parts:
        days = chain_days(clock, spec.zone, np.array([r["start_s"] for r in rows], float))
        for row, day in zip(rows, days.tolist(), strict=True):
            if day <= through and not row["waiting"]:
                key = ("zone", str(row["zone"]), False, day)
                out[key] = out[key].plus(Sums(acknowledged=sign * int(row["acknowledged"])))
    return out


def _accumulate(connection: Connection, totals: dict[Key, dict[int, Sums]]) -> None:
    """Add each key's day changes to its running totals from that day on."""
    if not totals:
        return
    s = SumRow.__table__.c
    first = min(min(days) for days in totals.values())
    keys = sorted(totals)
    stored: dict[Key, dict[int, Sums]] = defaultdict(dict)
    for part in rollups.chunks(keys, CHUNK):
        query = select(SumRow).where(_keyed(s, part), s.day >= first)
        for row in connection.execute(query):
            stored[(row.level, row.key, row.waiting)][row.day] = Sums.of_row(row)
    bases = {key: sums for key, sums in latest(connection, keys, first)}
    rows = []
    for key, changes in totals.items():
        mine = stored.get(key, {})
        running, carried = bases.get(key, Sums()), Sums()
        for day in sorted(set(mine) | set(changes)):
            running = mine.get(day, running)
            carried = carried.plus(changes.get(day, Sums()))
            level, name, waiting = key
            rows.append(
                {"level": level, "key": name, "waiting": waiting, "day": day}
                | running.plus(carried).columns()
            )
    for part in rollups.chunks(keys, CHUNK):
        connection.execute(delete(SumRow).where(_keyed(s, part), s.day >= first))
    connection.execute(insert(SumRow), rows)
    known = set(stored) | set(bases)  # a key has rows as long as it is listed
    fresh = [{"level": a, "key": b, "waiting": c} for a, b, c in keys if (a, b, c) not in known]
    if fresh:
        connection.execute(insert(SumKeyRow), fresh)


def _add_days(connection: Connection, by_day: dict[tuple[bool, int, int], Sums]) -> None:
    if not by_day:
        return
    d = DaySumRow.__table__.c
    keys = sorted(by_day)
    rows = []
    for part in rollups.chunks(keys, CHUNK):
        where = tuple_(d.waiting, d.day, d.local_day).in_(part)
        old = {
            (r.waiting, r.day, r.local_day): Sums.of_row(r)
            for r in connection.execute(select(DaySumRow).where(where))
        }
        connection.execute(delete(DaySumRow).where(where))
        for key in part:
            sums = old.get(key, Sums()).plus(by_day[key])
            columns = sums.columns()
            del columns["lead_bins"], columns["lead"]
            rows.append({"waiting": key[0], "day": key[1], "local_day": key[2]} | columns)
    connection.execute(insert(DaySumRow), rows)


def _keyed(c: Any, keys: Sequence[Key]) -> Any:
    return tuple_(c.level, c.key, c.waiting).in_(list(keys))


def latest(connection: Connection, keys: Sequence[Key], before: int) -> list[tuple[Key, Sums]]:
    """Each key's totals at its last day before ``before`` (keys with none are left out)."""
    out = []
    for part in rollups.chunks(list(keys), CHUNK):
        for row in connection.execute(latest_query(_keyed(SumKeyRow.__table__.c, part), before)):
            out.append(((row.level, row.key, row.waiting), Sums.of_row(row)))
    return out
