"""State files are readable by their owner alone (0600) whatever the umask: the dashboard's
SQLite database with its -wal and -shm, the edge's outbox, the session key."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from dashboard.settings import DashboardConfig
from dashboard.store.database import open_engine
from dashboard.web.app import session_secret
from edge.service.delivery.outbox import Outbox, Outgoing


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The common default umask, under which files are world-readable unless made 0600."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def modes(folder: Path) -> dict[str, int]:
    return {path.name: stat.S_IMODE(path.stat().st_mode) for path in folder.iterdir()}


@pytest.mark.usefixtures("loose_umask")
def test_the_dashboard_database_and_its_wal_are_0600(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'state' / 'dashboard.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
        connection.execute(text("INSERT INTO t VALUES (1)"))
        found = modes(tmp_path / "state")  # while connected: -wal and -shm exist
    engine.dispose()
    assert set(found) == {"dashboard.sqlite3", "dashboard.sqlite3-wal", "dashboard.sqlite3-shm"}
    assert set(found.values()) == {0o600}


@pytest.mark.usefixtures("loose_umask")
def test_a_world_readable_database_of_an_older_version_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "dashboard.sqlite3"
    path.touch(mode=0o644)
    path.chmod(0o644)
    open_engine(f"sqlite:///{path}").dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.usefixtures("loose_umask")
def test_the_edge_outbox_and_its_wal_are_0600(tmp_path: Path) -> None:
    with Outbox(tmp_path / "outbox" / "o.sqlite3") as box:
        box.add([Outgoing("t/a", b"x", qos=1, retain=False, captured_wall=1.0)])
        found = modes(tmp_path / "outbox")
    assert "o.sqlite3-wal" in found and set(found.values()) == {0o600}


@pytest.mark.usefixtures("loose_umask")
def test_the_session_key_is_0600(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = DashboardConfig(state_dir=tmp_path)
    monkeypatch.delenv(settings.security.secret_env, raising=False)
    assert session_secret(settings)
    assert modes(tmp_path) == {"dashboard-session.key": 0o600}


@pytest.mark.usefixtures("loose_umask")
def test_the_dashboard_state_folder_is_owner_only(tmp_path: Path) -> None:
    settings = DashboardConfig(state_dir=tmp_path / "state")
    folder = settings.folder()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
