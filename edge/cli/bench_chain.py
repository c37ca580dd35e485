"""``greetcue bench dashboard --chain``: the Acknowledgement report over a chain's year, on
PostgreSQL. A synthetic chain of ``stores`` stores, one counter camera each, open 08-20 UTC,
about 41 customers an hour (180 million customers over 1,000 stores and a year), is loaded
straight into the hourly rollups the ingest maintains, in their own format: each hour is one
of ``TEMPLATES`` hours made from synthetic customers (``dashboard.synthetic``'s latency, lead
and leaving distributions) by the rollup code itself. The raw cues of the last two days are
loaded too, and the running totals by day are built from the hours as the ingest builds them.
Then the report for the default view, 90 days and one year over every store is timed
``rounds`` times each."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import psycopg
from rich.progress import Progress
from sqlalchemy import Engine

from dashboard.analytics import Analytics, Filters
from dashboard.samples import Entries, Units
from dashboard.settings import DashboardConfig
from dashboard.store import rollups
from dashboard.store.tables import CueHourRow
from dashboard.synthetic import ZONES, Visit, visits
from edge.cli.bench_dashboard import QueryFigure, time_reports

TEMPLATES = 4000
PER_HOUR = 41.0
OPEN_HOURS = range(8, 20)
DAY_S = 86400.0
TARGET_MS = 200.0


def hour_templates(rng: np.random.Generator, count: int) -> list[dict[str, Any]]:
    """``count`` rollup hours of synthetic customers, made by the rollup code."""
    out = []
    for _ in range(count):
        n = int(rng.poisson(PER_HOUR))
        left = rng.random(n) < 0.06
        latency = np.where(left, np.nan, rng.lognormal(np.log(4.0), 0.6, n))
        units = Units(
            site=np.full(n, "s"),
            camera=np.full(n, "c"),
            waiting=np.zeros(n, bool),
            local_day=np.zeros(n, np.int64),
            local_minute=np.zeros(n, np.int64),
            customers=np.ones(n, np.int64),
            acked=(~left).astype(np.int64),
            left=left.astype(np.int64),
            closed=np.zeros(n, np.int64),
            latency=Entries.exact(latency),
            lead=Entries.exact(rng.normal(0.6, 0.3, n)),
        )
        before = np.array([",5ft," if x < 3 else "" for x in np.nan_to_num(latency, nan=99)])
        rows, _ = rollups.hour_rows(units, np.zeros(n), before)
        out += rows
    return out


def chain_rows(stores: int, days: int, end_s: float, seed: int = 5) -> Iterator[tuple[Any, ...]]:
    """The ``cue_hours`` rows of the chain, as COPY tuples."""
    rng = np.random.default_rng(seed)
    templates = hour_templates(rng, TEMPLATES)
    columns = [c.name for c in CueHourRow.__table__.columns]
    first_day = int(end_s // DAY_S) - days
    for day in range(first_day, first_day + days):
        picks = rng.integers(0, len(templates), (stores, len(OPEN_HOURS)))
        for store in range(stores):
            for h, hour in enumerate(OPEN_HOURS):
                row = templates[picks[store, h]] | {
                    "site": f"store-{store + 1}",
                    "camera": "counter-1",
                    "start_s": day * DAY_S + hour * 3600,
                    "waiting": False,
                    "local_day": day,
                    "local_hour": hour,
                }
                yield tuple(row[c] for c in columns)


def load_chain(engine: Engine, stores: int, days: int, end_s: float, progress: Progress) -> int:
    """COPY the chain's hours into a migrated PostgreSQL database; how many rows."""
    columns = [c.name for c in CueHourRow.__table__.columns]
    total = stores * days * len(OPEN_HOURS)
    task = progress.add_task(f"loading {total:,} rollup hours", total=total)
    with _psycopg(engine) as conn, conn.cursor() as cursor:
        names = ", ".join(f'"{c}"' for c in columns)
        with cursor.copy(f"COPY cue_hours ({names}) FROM STDIN") as copy:
            for n, row in enumerate(chain_rows(stores, days, end_s), 1):
                copy.write_row(row)
                if n % 50_000 == 0:
                    progress.update(task, completed=n)
        cursor.execute("ANALYZE cue_hours")
    progress.remove_task(task)
    return total


def load_raw_cues(engine: Engine, stores: int, end_s: float, progress: Progress) -> int:
    """The cue rows of the last two days (what a staff or device filter reads), made from
    ``dashboard.synthetic`` visits as the ingest would store their cue, zone, ack and
    leaving events, and copied in; how many. Their hours are in the chain's rollups already,
    so they leave no mark."""
    per_day = int(PER_HOUR * len(OPEN_HOURS))
    task = progress.add_task("copying two days of raw cues", total=stores * 2 * per_day)
    columns = list(_cue_row(next(visits(1, 1, 1, 1, end_s))))
    names = ", ".join(f'"{c}"' for c in columns)
    done = 0
    with _psycopg(engine) as conn, conn.cursor() as cursor:
        with cursor.copy(f"COPY cues ({names}) FROM STDIN") as copy:
            for done, visit in enumerate(visits(stores, 1, 2, per_day, end_s, seed=17), 1):
                copy.write_row(tuple(_cue_row(visit).values()))
                if done % 50_000 == 0:
                    progress.update(task, completed=done)
        cursor.execute("ANALYZE cues")
    progress.remove_task(task)
    return done


def _cue_row(visit: Visit) -> dict[str, Any]:
    """The ``cues`` row the events of ``visit`` leave (``dashboard.synthetic.visit_events``)."""
    cross = visit.start_s + 1.0  # it reaches the 10-ft ring a second after it is seen
    cued = cross - visit.lead_s
    acked = None if visit.ack_after_s is None else cued + visit.ack_after_s
    before = [name for i, (name, _) in enumerate(ZONES) if acked and acked < cross + i * 0.8]
    return {
        "cue_id": str(uuid.uuid4()),
        "site": visit.site,
        "camera": visit.camera,
        "track_id": visit.track_id,
        "zone": "10ft",
        "reason": "zone",
        "device": visit.device,
        "issued": True,
        "cued_s": cued,
        "escalations": 0,
        "expires_s": cued + 10,
        "lead_s": visit.lead_s,
        "acked_s": acked,
        "latency_s": visit.ack_after_s,
        "ack_device": visit.device if acked else None,
        "staff": visit.staff if acked else None,
        "before": "," + "".join(f"{z}," for z in before) if acked else None,
        "acks": int(acked is not None),
        "left_s": None if acked else cross + 21.6,
        "closed_s": None,
        "closed_why": None,
    }


def _psycopg(engine: Engine) -> psycopg.Connection[Any]:
    """A plain psycopg connection to the engine's database (COPY)."""
    return psycopg.connect(engine.url.set(drivername="postgresql").render_as_string(False))


def chain_latency(
    engine: Engine, end_s: float, rounds: int, progress: Progress
) -> list[QueryFigure]:
    """The report over every store for the default view, 90 days and one year, and one
    staff member's over the two days of raw cues (staff belong to a store: the roster is
    per site)."""
    analytics = Analytics(DashboardConfig())
    cases = {
        "all stores, last 7 days (the default)": Filters(end_s - 7 * DAY_S, end_s),
        "all stores, 90 days": Filters(end_s - 90 * DAY_S, end_s),
        "all stores, one year": Filters(end_s - 365 * DAY_S, end_s),
        "one staff member of one store, 2 days (raw cues)": Filters(
            end_s - 2 * DAY_S, end_s, site="store-1", staff="sam"
        ),
    }
    return time_reports(engine, analytics, cases, rounds, progress)
