"""Dashboard fixtures: a migrated store, the app on it, a logged-in client, event builders.

Loaded by ``tests/conftest.py`` as a plugin.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dashboard import auth
from dashboard.settings import DashboardConfig
from dashboard.store import writes
from dashboard.store.database import open_engine, upgrade
from dashboard.web.app import create_app
from edge.contract import (
    AckRecorded,
    CueIssued,
    CueReason,
    CueUnacknowledged,
    Event,
    ZoneEnter,
    new_id,
    utc,
)

MANAGER = ("manager", "correct horse battery")
# The stores a dashboard test runs on: SQLite, and a real PostgreSQL server (integration).
STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]
T = TypeVar("T")
logging.getLogger("alembic").setLevel(logging.WARNING)


@dataclass
class Dashboard:
    """A migrated store, the app on it (no ingest) and a client."""

    settings: DashboardConfig
    engine: Engine
    client: TestClient
    api_token: str

    def store(self, events: list[Event], received_s: float | None = None) -> int:
        """Store events as the ingest would; how many were new."""
        at = received_s or time.time()
        with self.engine.begin() as connection:
            return len(writes.store_events(connection, [writes.Received(e, at) for e in events]))

    def login(self) -> TestClient:
        """Log the client in as the manager."""
        page = self.client.get("/login")
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        answer = self.client.post(
            "/login",
            data={"username": MANAGER[0], "password": MANAGER[1], "csrf": csrf, "next": "/"},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
        return self.client

    def api(self, path: str, **params: Any) -> Any:
        """GET an API path with the API token; the JSON answer."""
        answer = self.client.get(path, params=params, headers=self.bearer())
        assert answer.status_code == 200, answer.text
        return answer.json()

    def bearer(self) -> dict[str, str]:
        """The Authorization header of the API token."""
        return {"Authorization": f"Bearer {self.api_token}"}


def migrated_engine(settings: DashboardConfig) -> Engine:
    """An engine on the settings' database, migrated to the newest schema."""
    engine = open_engine(settings.database_url())
    upgrade(engine)
    return engine


@pytest.fixture(params=STORES)
def dashboard(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Dashboard]:
    """A dashboard on a fresh store (SQLite, and a real PostgreSQL) with a manager and an API
    token."""
    database = None
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres")
        database = server.fresh_database(f"dash_{uuid.uuid4().hex[:12]}")
    settings = DashboardConfig(state_dir=tmp_path / "state", database=database)
    engine = migrated_engine(settings)
    with engine.begin() as connection:
        auth.add_user(connection, *MANAGER)
        token = auth.issue_token(connection, "api", "tests")
    with TestClient(create_app(settings, engine, ingest=False)) as client:
        yield Dashboard(settings, engine, client, token)
    engine.dispose()


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end on a fresh event loop in its own thread (the browser
    fixture keeps a loop running in the test thread, where asyncio.run refuses)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@dataclass
class Customer:
    """Builds the events of one cued customer, at chosen times (UTC seconds)."""

    cued_s: float
    site: str = "store-1"
    camera: str = "counter-1"
    track_id: int | None = 7
    device: str = "wearable-1"

    def __post_init__(self) -> None:
        self.cue_id = new_id()

    def _common(self) -> dict[str, Any]:
        return {"site": self.site, "camera": self.camera, "track_id": self.track_id}

    def cue(
        self, escalation: int = 0, device: str | None = None, reason: CueReason = "zone"
    ) -> Event:
        """The cue event (escalation 0: the first)."""
        return CueIssued(
            id=new_id(),
            captured_at=utc(self.cued_s + escalation * 8),
            cue_id=self.cue_id,
            device=device or self.device,
            reason=reason,
            escalation=escalation,
            approach="approaching",
            zone="10ft",
            expires_at=utc(self.cued_s + 10),
            **self._common(),
        )

    def enter(self, lead_s: float) -> Event:
        """The 10-ft zone entry with the lead achieved."""
        at = utc(self.cued_s + lead_s)
        return ZoneEnter(
            id=new_id(),
            captured_at=at,
            crossed_at=at,
            zone="10ft",
            approach="approaching",
            lead_s=lead_s,
            cue_id=self.cue_id,
            **self._common(),
        )

    def ack(self, after_s: float, staff: str | None = "sam", before_5ft: bool = True) -> Event:
        """An ack ``after_s`` after the cue."""
        return AckRecorded(
            id=new_id(),
            captured_at=utc(self.cued_s + after_s),
            cue_id=self.cue_id,
            device=self.device,
            staff=staff,
            via="mqtt",
            cued_at=utc(self.cued_s),
            latency_s=after_s,
            before={"5ft": before_5ft, "3ft": True},
            zone="10ft",
            **self._common(),
        )

    def left(self, after_s: float) -> Event:
        """The customer left with the cue still open."""
        return CueUnacknowledged(
            id=new_id(),
            captured_at=utc(self.cued_s + after_s),
            cue_id=self.cue_id,
            reason="zone",
            cued_at=utc(self.cued_s),
            open_s=after_s,
            zone="10ft",
            **self._common(),
        )
