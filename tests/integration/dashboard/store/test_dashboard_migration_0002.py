"""Migration 0002 (a device is its site and name; sessions) up and down with rows in place,
on SQLite and on a real PostgreSQL: rows are carried over, a live staff link without a site
takes the database's only site or, with several sites, is revoked."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, inspect, select

from dashboard.store.database import current_revision, downgrade, open_engine, upgrade
from dashboard.store.tables import EventRow, TokenRow
from edge.tools.bench.postgres_server import PostgresServer
from tests.support.dashboard_support import STORES


@pytest.fixture(params=STORES)
def at_0001(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    url = f"sqlite:///{tmp_path / 'd.sqlite3'}"
    if request.param == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres")
        url = server.fresh_database(f"m2_{uuid.uuid4().hex[:12]}")
    engine = open_engine(url)
    upgrade(engine, "0001")
    return engine


def add_rows(engine: Engine, sites: list[str]) -> None:
    tokens = [
        ("api", "grafana", None, None),
        ("staff", "counter", "store-1", None),
        ("staff", "counter", "store-2", None),
        ("staff", "legacy", None, None),
        ("staff", "gone", None, 5.0),
    ]
    with engine.begin() as connection:
        for n, (kind, name, site, revoked) in enumerate(tokens):
            row = {"kind": kind, "name": name, "site": site, "revoked_s": revoked}
            connection.execute(insert(TokenRow).values(digest=f"{n:064}", created_s=1.0, **row))
        for site in sites:
            connection.execute(
                insert(EventRow).values(
                    id=str(uuid.uuid4()),
                    type="cue",
                    site=site,
                    camera="c",
                    captured_s=1.0,
                    received_s=1.0,
                    payload="{}",
                )
            )


def tokens(engine: Engine) -> set[tuple[str, str, str | None, bool]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(TokenRow.kind, TokenRow.name, TokenRow.site, TokenRow.revoked_s)
        )
        return {(r.kind, r.name, r.site, r.revoked_s is not None) for r in rows}


CARRIED = {
    ("api", "grafana", None, False),
    ("staff", "counter", "store-1", False),
    ("staff", "counter", "store-2", False),
    ("staff", "gone", None, True),
}


def test_a_legacy_link_takes_the_only_site_and_every_row_survives_down(at_0001: Engine) -> None:
    add_rows(at_0001, ["store-1"])
    upgrade(at_0001)
    assert tokens(at_0001) == CARRIED | {("staff", "legacy", "store-1", False)}
    assert "sessions" in inspect(at_0001).get_table_names()
    downgrade(at_0001, "0001")
    assert current_revision(at_0001) == "0001"
    assert "sessions" not in inspect(at_0001).get_table_names()
    assert tokens(at_0001) == CARRIED | {("staff", "legacy", "store-1", False)}
    at_0001.dispose()


def test_a_legacy_link_is_revoked_when_several_sites_could_own_it(at_0001: Engine) -> None:
    add_rows(at_0001, ["store-1", "store-2"])
    upgrade(at_0001)
    assert tokens(at_0001) == CARRIED | {("staff", "legacy", None, True)}
    at_0001.dispose()
