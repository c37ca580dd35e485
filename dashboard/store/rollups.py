"""Hourly rollups of the cues, so a report over any range reads one row per camera and hour
instead of every cue: per site, camera and local hour (waiting customers apart), the counts
and the latencies and lead times in 0.1 s bins (``dashboard/samples.py``), and per zone how
many were acknowledged before it.

A rollup is rebuilt from the cue rows, never patched: every transaction that changes a cue
leaves a mark (``mark``), and ``refresh`` rebuilds the hours of the marked cues and removes
the marks it read. The figures are then the ones the raw rows give, whatever order the
events came in. On PostgreSQL one refresh runs at a time (an advisory lock), so two ingest
workers never write an hour from different snapshots."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection, and_, bindparam, case, delete, func, insert, select, text

from dashboard.samples import Entries, Floats, Ints, LocalClock, Units, bin_of
from dashboard.store.cue_reads import CueColumns, joiner, load_cues
from dashboard.store.tables import CueHourRow, CueHourZoneRow, CueRow, RollupDirtyRow

ZoneOf = Callable[[str], ZoneInfo]
LOCK_KEY = 0x6772_6565_7463  # "greetc": the advisory lock of the refresh
PASS_MARKS = 20_000  # marks read by one refresh
CHUNK = 5_000  # values bound in one IN (...)
Bucket = tuple[str, str, float]  # site, camera, UTC start of the local hour


def mark(connection: Connection, cue_ids: Iterable[str]) -> None:
    """Note that these cues changed, in the transaction that changed them."""
    rows = [{"cue_id": cue_id} for cue_id in sorted(set(cue_ids))]
    if rows:
        connection.execute(insert(RollupDirtyRow), rows)


def refresh(connection: Connection, zone_of: ZoneOf, clock: LocalClock, wait: bool = True) -> int:
    """Rebuild the hours of up to ``PASS_MARKS`` marked cues in the caller's transaction;
    how many marks it took (0: nothing to do, or another refresh is running and ``wait`` is
    false)."""
    if connection.dialect.name == "postgresql":
        lock = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
        got = connection.execute(text(f"SELECT {lock}(:key)"), {"key": LOCK_KEY}).scalar()
        if got is False:
            return 0
    d = RollupDirtyRow.__table__.c
    marks = connection.execute(select(d.id, d.cue_id).order_by(d.id).limit(PASS_MARKS)).all()
    if not marks:
        return 0
    cue_ids = sorted({cue_id for _, cue_id in marks})
    touched = [
        _buckets(load_cues(connection, [CueRow.cue_id.in_(part)]), zone_of, clock)[1]
        for part in _chunks(cue_ids)
    ]
    buckets = set().union(*[set(zip(*b, strict=True)) for b in touched])
    if buckets:
        _rebuild(connection, buckets, zone_of, clock)
    for part in _chunks([mark_id for mark_id, _ in marks]):
        connection.execute(delete(RollupDirtyRow).where(d.id.in_(part)))
    return len(marks)


def catch_up(connection: Connection, zone_of: ZoneOf, clock: LocalClock) -> None:
    """Before a report: roll up what is still marked and commit, unless another refresh is
    running (then the report is at most that refresh behind)."""
    if connection.execute(select(RollupDirtyRow.id).limit(1)).first() is None:
        return
    while refresh(connection, zone_of, clock, wait=False):
        connection.commit()
    connection.commit()


def _chunks(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[i : i + CHUNK] for i in range(0, len(values), CHUNK)]


def _buckets(
    cues: CueColumns, zone_of: ZoneOf, clock: LocalClock
) -> tuple[Floats, tuple[Any, Any, Floats]]:
    """Each cue's local seconds, and its bucket as (sites, cameras, UTC starts of the local
    hour; exact integers: time zone offsets are whole seconds)."""
    local = clock.by_site(zone_of, cues.site, cues.cued)
    offset = np.round(local - cues.cued)
    start = np.floor((cues.cued + offset) / 3600) * 3600 - offset
    return local, (cues.site, cues.camera, start)


def _rebuild(
    connection: Connection, buckets: set[Bucket], zone_of: ZoneOf, clock: LocalClock
) -> None:
    """Replace the rollup rows of ``buckets`` by the ones their cue rows give now."""
    c = CueRow.__table__.c
    sites = sorted({site for site, _, _ in buckets})
    starts = [start for _, _, start in buckets]
    cues = load_cues(
        connection,
        [c.site.in_(sites), c.cued_s >= min(starts), c.cued_s < max(starts) + 3600],
    )
    local, (site, camera, start) = _buckets(cues, zone_of, clock)
    keep = np.array([b in buckets for b in zip(site, camera, start, strict=True)], bool)
    units = cues.units(local).take(keep) if keep.size else Units.empty()
    rows, zones = hour_rows(units, start[keep] if keep.size else np.zeros(0), cues.before[keep])
    keys = [{"s": s, "c": cam, "t": t} for s, cam, t in sorted(buckets)]
    for model in (CueHourRow, CueHourZoneRow):
        table = model.__table__
        where = and_(
            table.c.site == bindparam("s"),
            table.c.camera == bindparam("c"),
            table.c.start_s == bindparam("t"),
        )
        connection.execute(delete(model).where(where), keys)
    if rows:
        connection.execute(insert(CueHourRow), rows)
    if zones:
        connection.execute(insert(CueHourZoneRow), zones)


def hour_rows(
    units: Units, start: Floats, before: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rollup rows of one-cue ``units`` starting at ``start``."""
    groups: dict[tuple[str, str, float, bool], list[int]] = defaultdict(list)
    for i, key in enumerate(zip(units.site, units.camera, start, units.waiting, strict=True)):
        groups[(str(key[0]), str(key[1]), float(key[2]), bool(key[3]))].append(i)
    latency, lead = _bins(units.latency, units.size), _bins(units.lead, units.size)
    rows, zones = [], []
    for (site, camera, start_s, waiting), members in groups.items():
        index = np.array(members)
        first = index[0]
        lat, led = _pairs(latency, index), _pairs(lead, index)
        rows.append(
            {
                "site": site,
                "camera": camera,
                "start_s": start_s,
                "waiting": waiting,
                "local_day": int(units.local_day[first]),
                "local_hour": int(units.local_minute[first] // 60),
                "customers": int(units.customers[index].sum()),
                "acknowledged": int(units.acked[index].sum()),
                "left": int(units.left[index].sum()),
                "closed": int(units.closed[index].sum()),
                "latency_bins": lat[0],
                "latency": lat[1],
                "lead_bins": led[0],
                "lead": led[1],
            }
        )
        counts = Counter(
            zone for i in index if units.acked[i] for zone in str(before[i]).split(",") if zone
        )
        zones += [
            {
                "site": site,
                "camera": camera,
                "start_s": start_s,
                "waiting": waiting,
                "zone": zone,
                "acknowledged": n,
            }
            for zone, n in counts.items()
        ]
    return rows, zones


def _bins(entries: Entries, units: int) -> list[Ints]:
    """Each unit's bins (one value per unit at most: raw cues)."""
    out = [np.zeros(0, np.int64)] * units
    for unit, value in zip(entries.unit, bin_of(entries.value), strict=True):
        out[int(unit)] = np.array([value])
    return out


def _pairs(bins: list[Ints], index: Ints) -> tuple[int, str | None]:
    """The bins of the units at ``index`` as (how many distinct, "bin,count,...")."""
    values, counts = np.unique(np.concatenate([bins[i] for i in index]), return_counts=True)
    if not values.size:
        return 0, None
    return int(values.size), ",".join(f"{v},{n}" for v, n in zip(values, counts, strict=True))


def count(connection: Connection, conditions: list[Any]) -> int:
    """How many rollup hours match ``conditions``."""
    query = select(func.count()).select_from(CueHourRow).where(*conditions)
    return int(connection.execute(query).scalar() or 0)


def load(connection: Connection, conditions: list[Any]) -> Units:
    """The rollup hours matching ``conditions`` (on ``cue_hours``) as units."""
    h = CueHourRow.__table__.c
    joined = joiner(connection.dialect.name)
    waiting = case((h.waiting.is_(True), "1"), else_="0")
    numbers = [
        waiting,
        h.local_day,
        h.local_hour,
        h.customers,
        h.acknowledged,
        h.left,
        h.closed,
        h.latency_bins,
        h.lead_bins,
    ]
    query = select(
        joined(h.site, ","),
        joined(h.camera, ","),
        *(joined(n, ",") for n in numbers),
        joined(h.latency, ","),
        joined(h.lead, ","),
        func.count(),
    ).where(*conditions)
    row = connection.execute(query).one()
    if not row[-1]:
        return Units.empty()
    (waits, day, hour, customers, acked, left, closed, latency_bins, lead_bins) = (
        np.fromstring(t, dtype=np.int64, sep=",") for t in row[2:11]
    )
    return Units(
        site=np.asarray(row[0].split(","), str),
        camera=np.asarray(row[1].split(","), str),
        waiting=waits == 1,
        local_day=day,
        local_minute=hour * 60,
        customers=customers,
        acked=acked,
        left=left,
        closed=closed,
        latency=_entries(row[11], latency_bins),
        lead=_entries(row[12], lead_bins),
    )


def _entries(joined: str | None, per_unit: Ints) -> Entries:
    if not joined:
        return Entries.empty()
    pairs = np.fromstring(joined, dtype=np.int64, sep=",").reshape(-1, 2)
    unit = np.repeat(np.arange(per_unit.size), per_unit)
    return Entries.binned(unit, pairs[:, 0], pairs[:, 1])


def before_counts(connection: Connection, conditions: list[Any]) -> dict[str, int]:
    """Customers acknowledged before each zone, over the hours matching ``conditions`` (on
    ``cue_hour_zones``)."""
    z = CueHourZoneRow.__table__.c
    query = (
        select(z.zone, func.sum(z.acknowledged))
        .where(z.waiting.is_(False), *conditions)
        .group_by(z.zone)
    )
    return {zone: int(n) for zone, n in connection.execute(query)}
