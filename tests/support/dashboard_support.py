"""Dashboard fixtures: a migrated store, the app on it, a logged-in client, event builders.

Loaded by ``tests/conftest.py`` as a plugin.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page
from sqlalchemy import Engine, make_url

from dashboard import auth
from dashboard.settings import Broker, DashboardConfig
from dashboard.store import writes
from dashboard.store.database import open_engine, upgrade
from dashboard.web.app import create_app
from edge.contract import (
    AckRecorded,
    CueIssued,
    CueReason,
    CueUnacknowledged,
    Event,
    Metrics,
    ZoneEnter,
    new_id,
    utc,
)
from edge.service.delivery.broker import Mosquitto

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
    """An engine on the settings' database, migrated to the newest schema. A new SQLite file
    is a copy of one migrated once per session (the migrations are tested on their own, in
    tests/integration/dashboard/store/)."""
    url = settings.database_url()
    path = _sqlite_file(url)
    if path is not None and not path.exists():
        shutil.copyfile(_migrated_sqlite(), path)
        return open_engine(url)
    engine = open_engine(url)
    upgrade(engine)
    return engine


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


@functools.cache
def _migrated_sqlite() -> Path:
    """A SQLite database migrated to the newest schema, kept for the session."""
    folder = Path(tempfile.mkdtemp(prefix="greetcue-migrated-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "dashboard.sqlite3"
    engine = open_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last connection closed: the WAL is checkpointed into the file
    assert not path.with_name(f"{path.name}-wal").exists()
    return path


@functools.cache
def _dashboard_sqlite() -> tuple[Path, str]:
    """A migrated SQLite database with the manager and an API token (hashing the manager's
    password takes most of a test's set-up): the file, kept for the session, and the token."""
    path = _migrated_sqlite().with_name("dashboard-with-manager.sqlite3")
    shutil.copyfile(_migrated_sqlite(), path)
    engine = open_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        auth.add_user(connection, *MANAGER)
        token = auth.issue_token(connection, "api", "tests")
    engine.dispose()
    assert not path.with_name(f"{path.name}-wal").exists()
    return path, token


@pytest.fixture(params=STORES)
def dashboard(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Dashboard]:
    """A dashboard on a fresh store (SQLite, and a real PostgreSQL) with a manager and an API
    token."""
    database = None
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres")
        database = server.fresh_database(f"dash_{uuid.uuid4().hex[:12]}")
    settings = DashboardConfig(state_dir=tmp_path / "state", database=database)
    path = _sqlite_file(settings.database_url())
    if path is None:
        engine = migrated_engine(settings)
        with engine.begin() as connection:
            auth.add_user(connection, *MANAGER)
            token = auth.issue_token(connection, "api", "tests")
    else:  # a copy of the session's SQLite database that has them already
        template, token = _dashboard_sqlite()
        shutil.copyfile(template, path)
        engine = open_engine(settings.database_url())
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


@dataclass
class Camera:
    """Stores what the ingest keeps of one camera: its availability since ``changed_s``, its
    latest metrics at ``seen_s`` and its zones' counts."""

    site: str
    camera: str
    online: bool = True
    changed_s: float = 0.0
    seen_s: float = 0.0
    fps: float = 14.8
    outbox_depth: int = 0
    zones: dict[str, int] = field(default_factory=lambda: {"10ft": 2, "5ft": 1, "3ft": 0})

    def store(self, engine: Engine) -> None:
        """Write it, as the ingest would."""
        metrics = Metrics(
            site=self.site, camera=self.camera, at=utc(self.seen_s), camera_online=True,
            fps=self.fps, stage_ms={"detect": 40.0}, outbox_depth=self.outbox_depth,
            outbox_dropped=0, frames_dropped=0, people=sum(self.zones.values()),
        )  # fmt: skip
        with engine.begin() as connection:
            writes.store_availability(
                connection, writes.Availability(self.site, self.camera, self.online, self.changed_s)
            )
            writes.store_metrics(
                connection,
                writes.MetricsSeen(self.site, self.camera, metrics.model_dump_json(), self.seen_s),
            )
            for zone, count in self.zones.items():
                radius = float(zone.removesuffix("ft"))
                values: dict[str, Any] = {"site": self.site, "camera": self.camera, "zone": zone}
                values |= {"radius_ft": radius, "count": count, "nearest_ft": None}
                writes.store_occupancy(connection, values | {"updated_s": self.seen_s})


def on_broker(folder: Path, broker: Mosquitto, client_id: str, **settings: Any) -> DashboardConfig:
    """Dashboard settings with its state in ``folder`` and its ingest on ``broker``."""
    where = Broker(host=broker.host, port=broker.port, client_id=client_id)
    return DashboardConfig(state_dir=folder / "state", broker=where, **settings)


def manager_store(folder: Path, **settings: Any) -> tuple[DashboardConfig, Engine]:
    """Settings with their state in ``folder`` (Web Push off unless given) and a migrated store
    with the manager."""
    config = DashboardConfig(state_dir=folder, **({"push": {"enabled": False}} | settings))
    engine = migrated_engine(config)
    with engine.begin() as connection:
        auth.add_user(connection, *MANAGER)
    return config, engine


def log_in(page: Page, base: str, landing: str = "/") -> None:
    """Log the manager in, in a browser page, on the dashboard at ``base``; it ends on
    ``landing``."""
    page.goto(f"{base}/login?next={landing}")
    page.fill("#username", MANAGER[0])
    page.fill("#password", MANAGER[1])
    page.click("#login")
    page.wait_for_url(f"{base}{landing}")
