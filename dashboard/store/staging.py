"""Rows into PostgreSQL by ``COPY``, inside the caller's transaction.

The ingest writes every event it receives and a cue row for most of them; sent as bound
parameters (an array per column, or a statement per row) psycopg dumps each value in Python,
which cost the writer more than the rest of its work. ``COPY`` dumps a row in C. Rows that
need ``ON CONFLICT`` go to a temporary staging table first (one per connection, emptied at
commit), and one ``INSERT ... SELECT`` moves them on. A driver error comes out as
SQLAlchemy's, as a statement's would, so the ingest still tells a database that is down
from a row it refuses.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import Column, Connection, Integer, MetaData, String, Table
from sqlalchemy.exc import DBAPIError

from dashboard.store.tables import CueRow

# A cue's staged change: its kind (writes._UPDATES), its round within the kind, and every
# column of ``cues``, none required (a kind of change fills some).
STAGED_CUES = Table(
    "staged_cues",
    MetaData(),
    Column("kind", String(16)),
    Column("step", Integer),
    *(Column(column.name, column.type) for column in CueRow.__table__.c),
)


@contextmanager
def driver_errors(statement: str) -> Iterator[None]:
    """psycopg's errors as SQLAlchemy's (``OperationalError`` for a connection lost...)."""
    try:
        yield
    except psycopg.Error as exc:
        raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc


def copy_rows(
    connection: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """``rows`` (values in ``columns`` order) into ``table`` by one ``COPY``."""
    statement = f"COPY {table} ({','.join(columns)}) FROM STDIN"
    driver = connection.connection.dbapi_connection
    assert isinstance(driver, psycopg.Connection)
    with driver_errors(statement), driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def prepare(connection: Connection) -> None:
    """Make the temporary staging tables ``staged_events`` and ``staged_cues`` (the columns of
    ``events`` and ``cues``, no constraints) unless this connection has them, in one round
    trip; they are emptied at every commit."""
    made = "CREATE TEMPORARY TABLE IF NOT EXISTS {} ON COMMIT DELETE ROWS AS SELECT {} WITH NO DATA"
    connection.exec_driver_sql(
        made.format("staged_events", "* FROM events")
        + ";"
        + made.format(STAGED_CUES.name, "''::varchar(16) AS kind, 0 AS step, * FROM cues")
    )
