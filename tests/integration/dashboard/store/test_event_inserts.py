"""The events' insert on the driver (SQLite's multi-row ``VALUES``, PostgreSQL's ``COPY`` into
a staging table) stores what SQLAlchemy's insert of the same rows stored, and the cue rows that
follow are those of storing each event on its own; repeats are ignored (in a batch and
across batches), a batch past SQLite's parameter limit is split, not refused, and a row
PostgreSQL refuses in a ``COPY`` comes out as SQLAlchemy's error, as a statement's would (the
ingest tells the message's fault from the database's by it)."""

from __future__ import annotations

import random
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert, select, text
from sqlalchemy.exc import DataError

from dashboard.settings import DashboardConfig
from dashboard.store import staging, writes
from dashboard.store.tables import CueRow, EventRow
from dashboard.synthetic import visit_events, visits
from edge.contract import Event, encode
from edge.tools.bench.postgres_server import PostgresServer
from tests.support.dashboard_support import STORES, Customer, migrated_engine

Stores = Callable[[], Engine]


@pytest.fixture(params=STORES)
def fresh_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    """Makes migrated stores of one kind: SQLite files, or databases on a real PostgreSQL."""
    made: list[Engine] = []

    def make() -> Engine:
        database = None
        if request.param == "postgresql":
            server: PostgresServer = request.getfixturevalue("postgres")
            database = server.fresh_database(f"inserts_{uuid.uuid4().hex[:12]}")
        folder = tmp_path / f"store-{len(made)}"
        made.append(migrated_engine(DashboardConfig(state_dir=folder, database=database)))
        return made[-1]

    yield make
    for engine in made:
        engine.dispose()


def chain_events() -> list[Event]:
    """Customers of two sites with every kind of event (cues, escalations, zones, acks with and
    without staff, customers who left), and edge cases the synthetic visits lack."""
    events = [e for v in visits(2, 2, 1, 40, time.time(), seed=5) for e in visit_events(v)]
    odd = Customer(time.time() - 50, track_id=None)
    events += [odd.cue(), odd.cue(escalation=1), odd.enter(1.0), odd.ack(3.0, staff=None)]
    gone = Customer(time.time() - 40)
    events += [gone.cue(), gone.left(20.0), gone.ack(30.0)]  # an ack after they left
    return events


def received(events: list[Event], with_payload: bool) -> list[writes.Received]:
    """As the ingest hands them over: the payload as it arrived, or none (serialised)."""
    at = time.time()
    return [
        writes.Received(e, at + n, encode(e) if with_payload else None)
        for n, e in enumerate(events)
    ]


def table(engine: Engine, model: Any) -> list[tuple[Any, ...]]:
    key = model.__table__.primary_key.columns.values()[0]
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(select(model).order_by(key))]


def sqlalchemy_insert(engine: Engine, items: list[writes.Received]) -> None:
    """The events as the previous path inserted them: SQLAlchemy's insert of each event's
    fields, read from the model."""
    rows = []
    for item in items:
        e = item.event
        cue = getattr(e, "cue_id", None)
        rows.append(
            {
                "id": str(e.id),
                "type": e.type,
                "site": e.site,
                "camera": e.camera,
                "track_id": e.track_id,
                "zone": e.zone,
                "device": getattr(e, "device", None),
                "staff": getattr(e, "staff", None),
                "cue_id": str(cue) if cue else None,
                "captured_s": e.captured_at.timestamp(),
                "received_s": item.received_s,
                "payload": item.payload.decode() if item.payload else e.model_dump_json(),
            }
        )
    with engine.begin() as connection:
        connection.execute(insert(EventRow), rows)


@pytest.mark.parametrize("with_payload", [True, False])
def test_the_batch_insert_stores_what_sqlalchemy_and_one_by_one_stored(
    fresh_store: Stores, with_payload: bool
) -> None:
    items = received(chain_events(), with_payload)
    batched, by_sqlalchemy, one_by_one = fresh_store(), fresh_store(), fresh_store()
    with batched.begin() as connection:
        fresh = writes.store_events(connection, items)
    sqlalchemy_insert(by_sqlalchemy, items)
    for item in random.Random(3).sample(items, len(items)):  # any order: the cue rows agree
        with one_by_one.begin() as connection:
            assert writes.store_events(connection, [item]) == [item]
    assert fresh == items
    assert table(batched, EventRow) == table(by_sqlalchemy, EventRow) == table(one_by_one, EventRow)
    assert len(table(batched, EventRow)) == len(items)
    cues = table(batched, CueRow)
    assert cues == table(one_by_one, CueRow) and len(cues) > 100


def test_repeats_in_a_batch_and_of_stored_events_are_ignored(fresh_store: Stores) -> None:
    items = received(chain_events(), with_payload=True)
    first, second = items[: len(items) // 2], items[len(items) // 2 :]
    engine, reference = fresh_store(), fresh_store()
    with engine.begin() as connection:
        assert writes.store_events(connection, first) == first
    with engine.begin() as connection:  # the first half again, and one event twice
        assert writes.store_events(connection, [*first, second[0], *second]) == second
    with engine.begin() as connection:
        assert writes.store_events(connection, items) == []
    with reference.begin() as connection:
        writes.store_events(connection, items)
    assert table(engine, EventRow) == table(reference, EventRow)
    assert table(engine, CueRow) == table(reference, CueRow)  # no ack counted twice


@pytest.mark.parametrize("fresh_store", ["sqlite"], indirect=True)  # PostgreSQL: one array a column
def test_a_batch_past_sqlite_s_parameter_limit_is_split(fresh_store: Stores) -> None:
    engine = fresh_store()

    @event.listens_for(engine, "connect")
    def _limit(connection: sqlite3.Connection, _record: Any) -> None:
        connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 100)  # 8 rows a statement

    engine.dispose()
    items = received(chain_events()[:50], with_payload=True)
    with engine.begin() as connection:
        limit = connection.connection.dbapi_connection.getlimit(  # type: ignore[union-attr]
            sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER
        )
        assert writes.store_events(connection, items) == items
    assert limit == 100
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM events")) == len(items)


@pytest.mark.parametrize("fresh_store", ["postgresql"], indirect=True)
def test_a_row_postgresql_refuses_in_a_copy_comes_as_sqlalchemy_s_error(
    fresh_store: Stores,
) -> None:
    engine = fresh_store()
    with pytest.raises(DataError, match="integer"), engine.begin() as connection:
        staging.copy_rows(connection, "rollup_dirty", ["id", "cue_id"], [("x", "cue")])
    with engine.begin() as connection:  # the store goes on
        staging.copy_rows(connection, "rollup_dirty", ["cue_id"], [("cue",)])
        assert connection.scalar(text("SELECT count(*) FROM rollup_dirty")) == 1
