"""A batch of ``events`` rows inserted in one statement (or a few) as the driver's own SQL,
inside the caller's transaction: each row once by id, the ids it created back.

SQLAlchemy builds and binds an insert of many rows about four times slower than the driver
runs it, and the ingest writes every event it receives, so this statement skips all but its
error handling (a driver's error still comes as SQLAlchemy's, which the ingest sorts into the
database's fault and the message's):
SQLite takes a multi-row ``VALUES`` list; PostgreSQL takes the rows by ``COPY`` into a staging
table, then one statement moves them on (``dashboard/store/staging.py``). ``ON CONFLICT DO
NOTHING RETURNING id`` keeps it safe with several workers on one database: only the worker
whose insert created a row gets its id."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from dashboard.store import staging


def insert_events(
    connection: Connection, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> set[str]:
    """Insert ``rows`` (values in ``columns`` order, the id first) unless their id is stored;
    the ids inserted. PostgreSQL: after ``staging.prepare`` in this transaction."""
    if not rows:
        return set()
    if connection.dialect.name == "postgresql":
        return _postgresql(connection, columns, rows)
    return _sqlite(connection, columns, rows)


def _sqlite(
    connection: Connection, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> set[str]:
    row = "(" + ",".join("?" * len(columns)) + ")"
    driver = connection.connection.dbapi_connection
    assert isinstance(driver, sqlite3.Connection)
    step = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(columns)
    head = f"INSERT INTO events ({','.join(columns)}) VALUES "
    tail = " ON CONFLICT DO NOTHING RETURNING id"
    created: set[str] = set()
    for start in range(0, len(rows), step):
        chunk = rows[start : start + step]
        values = tuple(v for r in chunk for v in r)
        created.update(
            connection.exec_driver_sql(head + ",".join([row] * len(chunk)) + tail, values).scalars()
        )
    return created


def _postgresql(
    connection: Connection, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> set[str]:
    staging.copy_rows(connection, "staged_events", columns, rows)
    names = ",".join(columns)
    result = connection.exec_driver_sql(
        f"WITH moved AS (DELETE FROM staged_events RETURNING {names}) "
        f"INSERT INTO events ({names}) SELECT {names} FROM moved ORDER BY id "
        "ON CONFLICT DO NOTHING RETURNING id"
    )
    return set(result.scalars())
