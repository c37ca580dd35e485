"""``greetcue bench logins`` runs the real dashboard process and reports overview latency idle
and during a burst of login tries from many addresses, every try answered."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from edge.cli import app
from edge.cli.bench_logins import bench_logins

pytestmark = pytest.mark.integration  # starts the dashboard as a child process


def test_the_bench_times_the_overview_while_every_login_try_is_answered() -> None:
    run = bench_logins(tries=30, probes=5, visits_per_day=20)
    assert sum(run.answers.values()) == 30 and set(run.answers) <= {401, 503}, run.answers
    assert run.answers[401] >= 1  # some tries really reached the password check
    assert len(run.idle.ms) == 5 and run.burst.ms and run.ratio > 0


def test_the_command_prints_the_ratio() -> None:
    done = CliRunner().invoke(app, ["bench", "logins", "--tries", "10", "--probes", "3"])
    assert done.exit_code == 0, done.output
    assert "p95 during the burst / idle" in done.output
