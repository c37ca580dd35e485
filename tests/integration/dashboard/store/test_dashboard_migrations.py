"""Schema migrations up and down, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from dashboard.store.database import (
    DatabaseError,
    current_revision,
    downgrade,
    head_revision,
    open_engine,
    require_migrated,
    upgrade,
)
from dashboard.store.partitions import not_a_partition
from dashboard.store.tables import Base
from edge.tools.bench.postgres_server import PostgresServer
from tests.support.dashboard_support import STORES


@pytest.fixture(params=STORES)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'd.sqlite3'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.fresh_database(f"mig_{abs(hash(str(tmp_path))) % 10**9}")


def test_up_makes_every_table_and_down_removes_them(url: str) -> None:
    engine = open_engine(url)
    with pytest.raises(DatabaseError, match="has no greetcue tables"):
        require_migrated(engine, "")
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    require_migrated(engine, "")
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    downgrade(engine, "base")
    assert current_revision(engine) is None
    assert not set(Base.metadata.tables) & set(inspect(engine).get_table_names())
    upgrade(engine)  # and up again
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_the_migrations_match_the_table_models(url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = open_engine(url)
    upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": not_a_partition})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], "a table model changed without a migration: run alembic revision"
    engine.dispose()


def test_a_wrong_url_names_the_accepted_forms() -> None:
    with pytest.raises(DatabaseError, match="postgresql\\+psycopg://"):
        open_engine("not a url")
