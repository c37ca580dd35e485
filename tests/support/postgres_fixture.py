"""A private PostgreSQL for the whole test session (``edge.tools.bench.postgres_server``).

Load it with ``pytest_plugins = ["tests.support.postgres_fixture"]``. The store is
never mocked and the machine's own PostgreSQL (port 5432) is never touched.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from edge.tools.bench.postgres_server import PostgresError, PostgresServer
from tests.support.child_logs import attached


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A fresh private PostgreSQL for the session; ``fresh_database(name)`` gives an empty
    database's URL. Fails (never skips) when PostgreSQL is not installed. A failing test's
    report shows the server's log lines of that test."""
    try:
        with PostgresServer.temporary() as server, attached("postgresql log", server.log_file):
            yield server
    except PostgresError as exc:
        pytest.fail(str(exc), pytrace=False)
