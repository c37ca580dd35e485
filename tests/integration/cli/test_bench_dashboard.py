"""`greetcue bench dashboard` runs end to end on a small store (the figures are reported, never
asserted: this machine is shared)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge.cli import app

pytestmark = pytest.mark.integration  # starts a PostgreSQL server


def test_the_dashboard_bench_reports_every_figure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "dashboard",
            "--events",
            "2000",
            "--store-events",
            "20000",
            "--sites",
            "2",
            "--days",
            "3",
            "--rounds",
            "2",
            "--postgres",
            "none",
        ],
    )
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "ingest into sqlite" in out and "events/s" in out
    assert "all sites, last 7 days (the default)" in out
    for traffic in ("backlog", "live"):  # each beside the MQTT clients' own no-work drains
        assert f"ingest into sqlite ({traffic}) " in out
    assert out.count("gmqtt alone, no work") == out.count("paho-mqtt alone, no work") == 2
    assert "target >= 20,000" in out and "Acknowledgement page p95" in out
    assert list((tmp_path / "cache" / "greetcue" / "bench").glob("dashboard-*.sqlite3"))
