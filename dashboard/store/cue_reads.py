"""Reading cue rows fast: the database joins each column's values into one string and NumPy
parses the numbers, so no Python object is made per value. The rules of what counts (an ack
only against an issued cue, once, while it was open) are applied here, for the figures read
from the raw rows and for the rollups alike."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, String, case, cast, func, select

from dashboard.samples import Entries, Floats, Units
from dashboard.store.tables import CueRow

EPS_S = 0.05  # clock rounding between the edge's stamps


@dataclass
class CueColumns:
    """Cue rows as parallel arrays, with their outcome decided."""

    site: NDArray[np.str_]
    camera: NDArray[np.str_]
    waiting: NDArray[np.bool_]
    cued: Floats
    latency: Floats  # NaN unless acknowledged
    acked: NDArray[np.bool_]
    left: NDArray[np.bool_]
    closed: NDArray[np.bool_]  # closed unanswered (its camera went offline)
    lead: Floats
    before: NDArray[np.object_]  # ",5ft,3ft,": zones the ack came before

    def units(self, local_s: Floats) -> Units:
        """One unit per cue, at its local day and minute (``local_s``: local seconds)."""
        return Units(
            site=self.site,
            camera=self.camera,
            waiting=self.waiting,
            local_day=np.floor(local_s / 86400).astype(np.int64),
            local_minute=(np.floor(local_s / 60) % 1440).astype(np.int64),
            customers=np.ones(self.site.size, np.int64),
            acked=self.acked.astype(np.int64),
            left=self.left.astype(np.int64),
            closed=self.closed.astype(np.int64),
            latency=Entries.exact(self.latency),
            lead=Entries.exact(self.lead),
        )


def counted(conditions: list[Any]) -> list[Any]:
    """``conditions`` and those of a counted customer: a cue of a tracked person whose cue
    event arrived."""
    c = CueRow.__table__.c
    return [c.issued.is_(True), c.track_id.is_not(None), c.cued_s.is_not(None), *conditions]


def load_cues(connection: Connection, conditions: list[Any]) -> CueColumns:
    """The counted cue rows matching ``conditions``, in one row of joined columns."""
    c = CueRow.__table__.c
    joined = joiner(connection.dialect.name)
    waiting = case((c.reason == "waiting", "1"), else_="0")
    numbers = [c.cued_s, c.latency_s, c.acked_s, c.left_s, c.lead_s, c.closed_s]
    query = select(
        *(joined(column, ",") for column in (c.site, c.camera, waiting)),
        *(joined(func.coalesce(cast(n, String), "nan"), ",") for n in numbers),
        joined(func.coalesce(c.before, ""), "|"),
        func.count(),
    ).where(*counted(conditions))
    row = connection.execute(query).one()
    if not row[-1]:
        none, flags = np.zeros(0), np.zeros(0, bool)
        text = np.zeros(0, str)
        return CueColumns(
            text, text, flags, none, none, flags, flags, flags, none, np.zeros(0, object)
        )
    reason = np.fromstring(row[2], dtype=np.int8, sep=",")
    cued, latency, acked_s, left_s, lead, closed_s = (np.fromstring(t, sep=",") for t in row[3:9])
    acked = np.isfinite(acked_s) & (acked_s >= cued - EPS_S)
    acked &= ~(np.isfinite(left_s) & (acked_s > left_s + EPS_S))
    return CueColumns(
        site=np.asarray(row[0].split(","), str),
        camera=np.asarray(row[1].split(","), str),
        waiting=reason == 1,
        cued=cued,
        latency=np.where(acked, latency, np.nan),
        acked=acked,
        left=~acked & np.isfinite(left_s),
        closed=~acked & ~np.isfinite(left_s) & np.isfinite(closed_s),
        lead=lead,
        before=np.asarray(row[9].split("|"), object),
    )


def zones_before(before: Iterable[str]) -> Counter[str]:
    """How many of these cues were acknowledged before each zone (``before`` texts
    ",5ft,3ft,")."""
    return Counter(zone for text in before for zone in str(text).split(",") if zone)


def joiner(dialect: str) -> Any:
    """The aggregate that joins a column's values into one string, in the database."""
    if dialect == "postgresql":
        return lambda column, sep: func.string_agg(cast(column, String), sep)
    return lambda column, sep: func.group_concat(column, sep)
