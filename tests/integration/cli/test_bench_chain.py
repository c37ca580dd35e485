"""`greetcue bench chain` runs end to end on a small chain (the times are reported, never
asserted: this machine is shared), and its report counts the customers it loaded."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from edge.cli import app
from edge.cli.bench_chain import OPEN_HOURS

pytestmark = pytest.mark.integration  # starts a PostgreSQL server


def test_the_chain_bench_reports_each_view_over_the_hours_it_loaded() -> None:
    result = CliRunner().invoke(
        app,
        ["bench", "chain", "--stores", "3", "--days", "7", "--rounds", "2"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code in (0, 1), result.output  # 1: a view over 200 ms
    out = " ".join(result.output.split())
    assert f"chain of 3 stores: {3 * 7 * len(OPEN_HOURS)} rollup hours" in out
    for view in ("all stores, last 7", "all stores, 90 days", "all stores, one year", "one staff"):
        assert view in out  # each view's first words: a narrow terminal wraps the rest
