"""A failing test's report carries the logs of the processes its fixtures started (run inside
pytest's own ``pytester``, against the real Mosquitto and PostgreSQL fixtures)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration  # its inner run starts Mosquitto and PostgreSQL

FAILING = """
import subprocess
import sys

import psycopg
import pytest

from tests.support.mosquitto_fixture import Subscriber


def log_error(postgres, statement):
    with psycopg.connect(postgres.conninfo()) as connection, pytest.raises(psycopg.Error):
        connection.execute(statement)


def test_passes(postgres):
    log_error(postgres, "SELECT * FROM table_of_the_passing_test")


def test_fails(mosquitto, postgres, tmp_path):
    Subscriber(mosquitto.port, client_id="the-failing-test").connect().disconnect()
    log_error(postgres, "SELECT * FROM table_of_the_failing_test")
    with (tmp_path / "child.log").open("wb") as log:
        subprocess.run([sys.executable, "-c", "print('the child speaks')"], stdout=log, check=True)
    assert False, "on purpose"
"""


def test_a_failure_shows_the_child_logs_of_its_own_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner=FAILING)
    plugins = [
        "tests.support.child_logs",
        "tests.support.mosquitto_fixture",
        "tests.support.postgres_fixture",
    ]
    result = pytester.runpytest_inprocess(*(arg for p in plugins for arg in ("-p", p)))
    result.assert_outcomes(passed=1, failed=1)
    output = result.stdout.str()
    result.stdout.fnmatch_lines(["*- mosquitto/mosquitto.log (*) -*", "*as the-failing-test*"])
    result.stdout.fnmatch_lines(["*- child.log (*) -*", "the child speaks"])
    result.stdout.fnmatch_lines(["*- postgresql log (*server.log) -*"])
    assert 'relation "table_of_the_failing_test" does not exist' in output
    assert "table_of_the_passing_test" not in output, "only the failing test's own lines"
