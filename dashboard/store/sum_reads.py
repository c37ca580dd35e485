"""Reading the running totals of ``dashboard/store/sums.py`` for a chain report: each key's
totals at the range's last day less those before its first, netted per key, as the units
the figures are computed from."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, and_, func, select

from dashboard.samples import Entries, Ints, Units, summed_bins
from dashboard.store.tables import DaySumRow, SumKeyRow, SumRow


def latest_query(which: Any, before: int, columns: Sequence[str] | None = None) -> Any:
    """The row of each key (of ``which``, on ``cue_sum_keys``) at its last day before
    ``before``: the keys drive, so each finds its row by index."""
    s, k = SumRow.__table__.c, SumKeyRow.__table__.c
    inner = SumRow.__table__.alias("inner")
    last_day = (
        select(func.max(inner.c.day))
        .where(
            inner.c.level == k.level,
            inner.c.key == k.key,
            inner.c.waiting == k.waiting,
            inner.c.day < before,
        )
        .scalar_subquery()
    )
    joined = and_(s.level == k.level, s.key == k.key, s.waiting == k.waiting, s.day == last_day)
    picked = [SumRow] if columns is None else [s[name] for name in columns]
    return (
        select(*picked).select_from(SumKeyRow.__table__.join(SumRow.__table__, joined)).where(which)
    )


COUNTED = ("customers", "acknowledged", "left", "closed", "within_goal", "latency_bins", "latency")
READ = ("key", "waiting", *COUNTED, "lead_bins", "lead")  # columns of a total a report reads
READ_DAY = ("local_day", "waiting", *COUNTED)
Columns = dict[str, Sequence[Any]]


def report_units(
    connection: Connection, first: int, last: int
) -> tuple[Units, Units, Units, dict[str, int]]:
    """For the chain days ``[first, last)``: units per local hour of the chain, per local day
    and per store camera (each a difference of totals, so its counts are signed), and the
    customers acknowledged before each zone."""
    bounds = ((last, 1), (first, -1))

    def totals(level: str, bound: int) -> Columns:
        k = SumKeyRow.__table__.c
        which = k.level == level
        if level == "site":  # the league tables: customers not waiting
            which = and_(which, k.waiting.is_(False))
        return _columns(connection.execute(latest_query(which, bound, READ)).all(), READ)

    def differences(level: str) -> Units:
        both = [totals(level, bound) for bound, _ in bounds]
        units = Units.concat([_units(t, s, level) for t, (_, s) in zip(both, bounds, strict=True)])
        keys = [f"{k}|{w}" for t in both for k, w in zip(t["key"], t["waiting"], strict=True)]
        return _netted(units, np.array(keys, str))

    before: dict[str, int] = defaultdict(int)
    for bound, sign in bounds:
        zones = totals("zone", bound)
        for zone, acknowledged in zip(zones["key"], zones["acknowledged"], strict=True):
            before[zone] += sign * acknowledged
    d = DaySumRow.__table__.c
    query = select(*(d[name] for name in READ_DAY)).where(d.day >= first, d.day < last)
    days = _columns(connection.execute(query).all(), READ_DAY)
    return (
        differences("hour"),
        _units(days, 1, "day"),
        differences("site"),
        {zone: n for zone, n in before.items() if n},
    )


def _netted(units: Units, keys: NDArray[np.str_]) -> Units:
    """One unit per distinct key, with the counts and bins of its units summed (totals at the
    last day less those before the first: half the entries, none of them zero)."""
    names, first, index = np.unique(keys, return_index=True, return_inverse=True)
    n = names.size

    def total(values: Ints) -> Ints:
        return np.bincount(index, weights=values, minlength=n).round().astype(np.int64)

    within = None if units.within is None else total(units.within)
    return Units(
        site=units.site[first],
        camera=units.camera[first],
        waiting=units.waiting[first],
        local_day=units.local_day[first],
        local_minute=units.local_minute[first],
        customers=total(units.customers),
        acked=total(units.acked),
        left=total(units.left),
        closed=total(units.closed),
        latency=_net_entries(units.latency, index, n),
        lead=_net_entries(units.lead, index, n),
        within=within,
    )


def _net_entries(entries: Entries, index: Ints, units: int) -> Entries:
    """The binned entries summed per unit (``index`` maps the old units to the new)."""
    if entries.bins is None:
        return entries.take(np.ones(index.size, bool), index)
    return Entries.binned(*summed_bins(index[entries.unit], entries.bins, entries.weight, units))


def _columns(rows: Sequence[Any], names: Sequence[str]) -> Columns:
    """Rows as a column of values per name."""
    values = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return dict(zip(names, values, strict=True))


def _units(columns: Columns, sign: int, level: str) -> Units:
    """Totals (``level``: hour, site or day) as units, their counts times ``sign``."""
    n = len(columns["waiting"])
    site, camera = np.full(n, "", object), np.full(n, "", object)
    minute, day = np.zeros(n, np.int64), np.zeros(n, np.int64)
    if level == "site":
        pairs = [key.split("/", 1) for key in columns["key"]]
        site[:], camera[:] = [p[0] for p in pairs], [p[1] for p in pairs]
    elif level == "hour":
        minute = np.array(columns["key"], np.int64).reshape(n) * 60
    else:
        day = np.array(columns["local_day"], np.int64).reshape(n)

    def column(name: str) -> Ints:
        return np.array(columns[name], np.int64).reshape(n) * sign

    return Units(
        site=site.astype(str),
        camera=camera.astype(str),
        waiting=np.array(columns["waiting"], bool).reshape(n),
        local_day=day,
        local_minute=minute,
        customers=column("customers"),
        acked=column("acknowledged"),
        left=column("left"),
        closed=column("closed"),
        latency=_entries(columns, "latency", sign),
        lead=_entries(columns, "lead", sign) if level != "day" else Entries.empty(),
        within=column("within_goal"),
    )


def _entries(columns: Columns, name: str, sign: int) -> Entries:
    joined = ",".join(text for text in columns[name] if text)
    if not joined:
        return Entries.binned(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    pairs = np.fromstring(joined, dtype=np.int64, sep=",").reshape(-1, 2)
    per_row = np.array(columns[f"{name}_bins"], np.int64)
    unit = np.repeat(np.arange(per_row.size), per_row)
    return Entries.binned(unit, pairs[:, 0], pairs[:, 1] * sign)
