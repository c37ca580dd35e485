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

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection, and_, bindparam, case, delete, func, insert, select, text

from dashboard.samples import Entries, Floats, Ints, LocalClock, Units, bin_of
from dashboard.store import staging
from dashboard.store.cue_reads import CueColumns, joiner, load_cues, zones_before
from dashboard.store.tables import CueHourRow, CueHourZoneRow, CueRow, RollupDirtyRow

ZoneOf = Callable[[str], ZoneInfo]
LOCK_KEY = 0x6772_6565_7463  # "greetc": the advisory lock of the refresh
PASS_MARKS = 20_000  # marks read by one refresh
CHUNK = 5_000  # values bound in one IN (...)
Bucket = tuple[str, str, float]  # site, camera, UTC start of the local hour
# What a rebuild made: its cues as one-cue units, their hours' UTC starts, the zone rows
Rebuilt = Callable[[Units, Floats, list[dict[str, Any]]], None]
# Told of the hours about to be rebuilt; gives what to call with what they became
Observer = Callable[[Connection, set[Bucket]], Rebuilt]


def mark(connection: Connection, cue_ids: Iterable[str]) -> None:
    """Note that these cues changed, in the transaction that changed them."""
    distinct = sorted(set(cue_ids))
    if not distinct:
        return
    if connection.dialect.name == "postgresql":  # by COPY: binding each id cost more
        staging.copy_rows(connection, "rollup_dirty", ["cue_id"], [(i,) for i in distinct])
    else:
        connection.execute(insert(RollupDirtyRow), [{"cue_id": i} for i in distinct])


def refresh(
    connection: Connection,
    zone_of: ZoneOf,
    clock: LocalClock,
    wait: bool = True,
    observe: Observer | None = None,
) -> int:
    """Rebuild the hours of up to ``PASS_MARKS`` marked cues in the caller's transaction,
    telling ``observe``; how many marks it took (0: nothing to do, or another refresh is
    running and ``wait`` is false)."""
    if connection.dialect.name == "postgresql":
        lock = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
        got = connection.execute(text(f"SELECT {lock}(:key)"), {"key": LOCK_KEY}).scalar()
        if got is False:
            return 0
    d = RollupDirtyRow.__table__.c
    marks = connection.execute(select(d.id, d.cue_id).order_by(d.id).limit(PASS_MARKS)).all()
    if not marks:
        return 0
    buckets: set[Bucket] = set()
    for part in chunks(sorted({cue_id for _, cue_id in marks})):
        _, keys = _buckets(load_cues(connection, [CueRow.cue_id.in_(part)]), zone_of, clock)
        buckets.update(zip(*keys, strict=True))
    if buckets:
        rebuilt = observe(connection, buckets) if observe else None
        made = _rebuild(connection, buckets, zone_of, clock)
        if rebuilt:
            rebuilt(*made)
    for part in chunks([mark_id for mark_id, _ in marks]):
        connection.execute(delete(RollupDirtyRow).where(d.id.in_(part)))
    return len(marks)


def catch_up(
    connection: Connection, zone_of: ZoneOf, clock: LocalClock, observe: Observer | None = None
) -> None:
    """Before a report: roll up what is still marked and commit, unless another refresh is
    running (then the report is at most that refresh behind)."""
    if connection.execute(select(RollupDirtyRow.id).limit(1)).first() is None:
        return
    while refresh(connection, zone_of, clock, wait=False, observe=observe):
        connection.commit()
    connection.commit()


def chunks(values: Sequence[Any], size: int = CHUNK) -> list[Sequence[Any]]:
    """``values`` in pieces of at most ``size`` (values bound in one IN (...))."""
    return [values[i : i + size] for i in range(0, len(values), size)]


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
) -> tuple[Units, Floats, list[dict[str, Any]]]:
    """Replace the rollup rows of ``buckets`` by the ones their cue rows give now; those cues
    as one-cue units, the start of each one's hour, and the zone rows made."""
    c = CueRow.__table__.c
    sites = sorted({site for site, _, _ in buckets})
    starts = [start for _, _, start in buckets]
    cues = load_cues(
        connection,
        [c.site.in_(sites), c.cued_s >= min(starts), c.cued_s < max(starts) + 3600],
    )
    local, (site, camera, start) = _buckets(cues, zone_of, clock)
    keep = np.array([b in buckets for b in zip(site, camera, start, strict=True)], bool)
    units = cues.units(local).take(keep)
    rows, zones = hour_rows(units, start[keep], cues.before[keep])
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
    return units, start[keep], zones


def hour_rows(
    units: Units, start: Floats, before: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rollup rows of one-cue ``units`` starting at ``start``."""
    groups: dict[tuple[str, str, float, bool], list[int]] = defaultdict(list)
    for i, at in enumerate(zip(units.site, units.camera, start, units.waiting, strict=True)):
        groups[(str(at[0]), str(at[1]), float(at[2]), bool(at[3]))].append(i)
    group_of = np.zeros(units.size, np.int64)
    for g, members in enumerate(groups.values()):
        group_of[members] = g
    latency = _binned(units.latency, group_of, len(groups))
    lead = _binned(units.lead, group_of, len(groups))
    rows, zones = [], []
    for g, ((site, camera, start_s, waiting), members) in enumerate(groups.items()):
        index = np.array(members)
        key: dict[str, Any] = {
            "site": site,
            "camera": camera,
            "start_s": start_s,
            "waiting": waiting,
        }
        rows.append(
            key
            | {
                "local_day": int(units.local_day[index[0]]),
                "local_hour": int(units.local_minute[index[0]] // 60),
                "customers": int(units.customers[index].sum()),
                "acknowledged": int(units.acked[index].sum()),
                "left": int(units.left[index].sum()),
                "closed": int(units.closed[index].sum()),
                "latency_bins": latency[g][0],
                "latency": latency[g][1],
                "lead_bins": lead[g][0],
                "lead": lead[g][1],
            }
        )
        counts = zones_before(before[index[units.acked[index] > 0]])
        zones += [key | {"zone": zone, "acknowledged": n} for zone, n in counts.items()]
    return rows, zones


def _binned(entries: Entries, group_of: Ints, groups: int) -> list[tuple[int, str | None]]:
    """Per group, its entries' bins as (how many distinct, "bin,count,...")."""
    out: list[tuple[int, str | None]] = [(0, None)] * groups
    pairs, counts = np.unique(
        np.stack([group_of[entries.unit], bin_of(entries.value)]), axis=1, return_counts=True
    )
    for g in np.unique(pairs[0]):
        mine = pairs[0] == g
        text = ",".join(f"{b},{n}" for b, n in zip(pairs[1][mine], counts[mine], strict=True))
        out[int(g)] = (int(mine.sum()), text)
    return out


def count(connection: Connection, conditions: list[Any]) -> int:
    """How many rollup hours match ``conditions``."""
    query = select(func.count()).select_from(CueHourRow).where(*conditions)
    return int(connection.execute(query).scalar() or 0)


def load(connection: Connection, conditions: list[Any]) -> Units:
    """The rollup hours matching ``conditions`` (on ``cue_hours``) as units."""
    return load_hours(connection, conditions)[0]


def load_hours(connection: Connection, conditions: list[Any]) -> tuple[Units, Floats]:
    """The rollup hours matching ``conditions`` as units, and the UTC start of each."""
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
        joined(h.start_s, ","),
        func.count(),
    ).where(*conditions)
    row = connection.execute(query).one()
    if not row[-1]:
        return Units.empty(), np.zeros(0)
    (waits, day, hour, customers, acked, left, closed, latency_bins, lead_bins) = (
        np.fromstring(t, dtype=np.int64, sep=",") for t in row[2:11]
    )
    units = Units(
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
    return units, np.fromstring(row[13], dtype=np.float64, sep=",")


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
