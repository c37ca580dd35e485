"""The live demo: broker, dashboard and the edge service on real footage, with the simulated
staff member acknowledging, leave real acknowledgement figures in the dashboard's store."""

from __future__ import annotations

import threading
import time
import urllib.request
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import func, select

from dashboard.store.database import open_engine
from dashboard.store.tables import CueRow, EventRow, UserRow
from edge.cli.demo_live import MANAGER, LiveDemo
from edge.service.delivery.broker import free_port
from edge.tools.demo.replays import EXAMPLES


@pytest.mark.footage
@pytest.mark.model
def test_the_live_demo_fills_the_dashboard_within_a_minute(tmp_path: Path) -> None:
    port = free_port()
    answers: list[int] = []

    def poll() -> None:  # the dashboard answers while the demo runs
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and not answers:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    answers.append(r.status)
            except OSError:
                time.sleep(0.5)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    console = Console(record=True, width=200)
    passes = LiveDemo(tmp_path, EXAMPLES, port, demo_staff=True).run(console, minutes=0.6)
    watcher.join()
    printed = console.export_text()
    assert passes >= 1 and answers == [200]
    assert f"http://127.0.0.1:{port}/staff/" in printed and "SIMULATED staff member" in printed
    engine = open_engine(f"sqlite:///{tmp_path / 'live-state' / 'dashboard' / 'dashboard.sqlite3'}")
    with engine.connect() as connection:
        events = connection.scalar(select(func.count()).select_from(EventRow))
        acked = connection.scalar(select(func.count()).where(CueRow.latency_s.is_not(None)))
        user = connection.scalar(select(UserRow.username))
    engine.dispose()
    assert events and events > 20
    assert acked and acked >= 1  # the simulated staff member acknowledged real cues
    assert user == MANAGER
