"""Customers as the figures see them: *units* (one cue, or one hour of one camera's cues from
the rollups) with their counts, and their acknowledgement latencies and lead times as weighted
*entries*. The Acknowledgement figures are computed the same way from either: a unit of the
raw cues holds one customer and its exact latency, a rollup unit many customers and their
latencies in ``BIN_S`` bins, so both paths give the same counts and percentiles within a bin."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

DENSE_CELLS = 1 << 24  # groups x distinct values counted in one array
BIN_S = 0.1  # latency and lead bins of the rollups: percentiles within BIN_S
Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


@dataclass
class Entries:
    """Weighted values of units: ``value`` for percentiles, ``upper`` to compare with a goal
    or a histogram edge (a bin's upper edge; the value itself for a raw cue)."""

    unit: Ints
    value: Floats
    upper: Floats
    weight: Ints
    bins: Ints | None = None  # the bin of each value (rollups): distinct values in linear time

    def levels(self) -> tuple[Floats, Ints]:
        """The distinct values, ascending, and the index of each entry's value among them."""
        if self.bins is None or not self.bins.size:
            distinct, index = np.unique(self.value, return_inverse=True)
            return distinct, index
        low = int(self.bins.min())
        shifted = self.bins - low
        present = np.flatnonzero(np.bincount(shifted))
        lookup = np.zeros(int(shifted.max()) + 1, np.int64)
        lookup[present] = np.arange(present.size)
        values: Floats = np.round((present + low) * BIN_S, 6)
        return values, lookup[shifted]

    @classmethod
    def empty(cls) -> Entries:
        return cls(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0, np.int64))

    @classmethod
    def exact(cls, values: Floats) -> Entries:
        """One entry per unit with a finite value (raw cues)."""
        units = np.flatnonzero(np.isfinite(values))
        kept = values[units]
        return cls(units, kept, kept, np.ones(units.size, np.int64))

    @classmethod
    def binned(cls, unit: Ints, bins: Ints, counts: Ints) -> Entries:
        """Entries of rollup bins: bin ``k`` holds values in ((k - 1) * BIN_S, k * BIN_S] and
        stands for its upper edge, so a percentile is never below the exact one, and less
        than ``BIN_S`` above it."""
        upper: Floats = np.round(bins * BIN_S, 6)
        return cls(unit, upper, upper, counts, bins)

    @classmethod
    def concat(cls, parts: list[Entries], offsets: Ints) -> Entries:
        """The entries of ``parts``, their units shifted by ``offsets``."""
        binned = all(part.bins is not None for part in parts)
        return cls(
            np.concatenate([p.unit + o for p, o in zip(parts, offsets, strict=True)]),
            np.concatenate([p.value for p in parts]),
            np.concatenate([p.upper for p in parts]),
            np.concatenate([p.weight for p in parts]),
            np.concatenate([p.bins for p in parts if p.bins is not None]) if binned else None,
        )

    def take(self, keep: NDArray[np.bool_], renumber: Ints) -> Entries:
        mask = keep[self.unit]
        bins = None if self.bins is None else self.bins[mask]
        return Entries(
            renumber[self.unit[mask]], self.value[mask], self.upper[mask], self.weight[mask], bins
        )


def summed_bins(group: Ints, bins: Ints, weight: Ints, groups: int) -> tuple[Ints, Ints, Ints]:
    """The (group, bin) cells of weighted binned values, each cell's summed weight, leaving
    out cells that sum to nought (signed weights: a difference of totals)."""
    if not bins.size:
        none = np.zeros(0, np.int64)
        return none, none, none
    low = int(bins.min())
    span = int(bins.max()) - low + 1
    key = group * span + (bins - low)
    if groups * span <= DENSE_CELLS:  # counting: linear in the cells
        dense = np.bincount(key, weights=weight, minlength=groups * span).round()
        keys = np.flatnonzero(dense)
        summed = dense[keys].astype(np.int64)
    else:
        keys, inverse = np.unique(key, return_inverse=True)
        summed = np.bincount(inverse, weights=weight, minlength=keys.size).round().astype(np.int64)
        keys, summed = keys[summed != 0], summed[summed != 0]
    return keys // span, keys % span + low, summed


def bin_of(values: Floats) -> Ints:
    """The rollup bin of each value (see ``Entries.binned``)."""
    return np.ceil(values / BIN_S - 1e-6).astype(np.int64)


@dataclass
class Units:
    """Groups of customers with what the figures group them by."""

    site: NDArray[np.str_]
    camera: NDArray[np.str_]
    waiting: NDArray[np.bool_]
    local_day: Ints
    local_minute: Ints
    customers: Ints
    acked: Ints
    left: Ints
    closed: Ints  # closed unanswered: their camera went offline
    latency: Entries = field(default_factory=Entries.empty)
    lead: Entries = field(default_factory=Entries.empty)
    within: Ints | None = None  # acknowledged within the goal, when counted ahead (sums)

    @classmethod
    def empty(cls) -> Units:
        none = np.zeros(0, np.int64)
        text = np.zeros(0, str)
        return cls(text, text, np.zeros(0, bool), none, none, none, none, none, none)

    @property
    def size(self) -> int:
        return int(self.site.size)

    @classmethod
    def concat(cls, parts: list[Units]) -> Units:
        """The units of ``parts`` one after the other."""
        if not parts:
            return cls.empty()
        offsets = np.cumsum([0] + [part.size for part in parts[:-1]])
        columns = {
            k: np.concatenate([getattr(part, k) for part in parts])
            for k, v in parts[0].__dict__.items()
            if isinstance(v, np.ndarray)
        }
        latency = Entries.concat([part.latency for part in parts], offsets)
        lead = Entries.concat([part.lead for part in parts], offsets)
        return cls(**columns, latency=latency, lead=lead)

    def take(self, keep: NDArray[np.bool_]) -> Units:
        """The units where ``keep`` holds, with their entries."""
        renumber = np.cumsum(keep) - 1
        columns = {k: v[keep] for k, v in self.__dict__.items() if isinstance(v, np.ndarray)}
        latency, lead = self.latency.take(keep, renumber), self.lead.take(keep, renumber)
        return Units(**columns, latency=latency, lead=lead)


def weighted_quantiles(
    group: Ints, entries: Entries, groups: int, qs: tuple[float, ...]
) -> list[Floats]:
    """Per group, each ``qs`` quantile of its weighted values, interpolated between order
    statistics as ``numpy.percentile`` does (NaN for an empty group). Equal values of a group
    are counted together first (a rollup's values are few distinct bins), so the cost grows
    with the distinct (group, value) pairs rather than with the customers."""
    weights = entries.weight
    totals = np.bincount(group, weights=weights, minlength=groups).astype(np.int64)
    if weights.size == 0:
        return [np.full(groups, np.nan) for _ in qs]
    distinct, index = entries.levels()
    _, level, counts = summed_bins(group, index, weights, groups)  # in group, then value order
    ordered, cumulative = distinct[level], np.cumsum(counts)
    before = np.cumsum(totals) - totals
    last = np.maximum(totals - 1, 0)

    def ranked(rank: Ints) -> Floats:
        where = np.searchsorted(cumulative, before + rank, side="right")
        picked: Floats = ordered[np.minimum(where, ordered.size - 1)]
        return picked

    out = []
    for q in qs:
        spot = last * q
        low = np.floor(spot).astype(np.int64)
        high = np.minimum(low + 1, last)
        value = ranked(low) + (ranked(high) - ranked(low)) * (spot - low)
        out.append(np.where(totals > 0, value, np.nan))
    return out


class LocalClock:
    """UTC seconds to a site's local seconds, vectorised (offsets cached per hour)."""

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

    def by_site(self, zone_of: Any, sites: NDArray[np.str_], utc_s: Floats) -> Floats:
        """Local seconds of each ``utc_s`` in its site's time zone (``zone_of(site)``)."""
        local = np.empty_like(utc_s)
        names, index = np.unique(sites, return_inverse=True)
        zones = np.array([zone_of(str(site)).key for site in names])
        for zone in np.unique(zones):  # a chain has many sites but few time zones
            mask = zones[index] == zone
            local[mask] = self.local_seconds(ZoneInfo(str(zone)), utc_s[mask])
        return local

    def _offset(self, zone: ZoneInfo, hour: int) -> float:
        key = (zone.key, hour)
        if key not in self._offsets:
            offset = datetime.fromtimestamp(hour * 3600 + 1800, UTC).astimezone(zone).utcoffset()
            self._offsets[key] = offset.total_seconds() if offset else 0.0
        return self._offsets[key]
