"""``greetcue bench dashboard``: ingest rate from MQTT into SQLite and PostgreSQL, and the
Acknowledgement page's queries over a large store, in one run.

1. Ingest: a private Mosquitto, the dashboard's ingest on a fresh database, and a publisher
   sending synthetic customer visits at QoS 1 as fast as it can; events per second from the
   first publish to the last event stored (so broker, JSON validation and the writes count).
2. Queries: a store of ``events`` synthetic events over ``sites`` sites and ``days`` days
   (built once and kept in the cache folder), then the Acknowledgement page's report for the
   filters managers use, timed repeatedly; p50 and p95 per filter; and the printable report of
   the default view (two reports and the PDF page drawn), which has no target of its own.
"""

from __future__ import annotations

import logging
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
import platformdirs
import yaml
from paho.mqtt.enums import CallbackAPIVersion
from rich.progress import Progress
from sqlalchemy import Engine

from dashboard.analytics import Analytics, Filters
from dashboard.ingest import Ingest
from dashboard.reports.figures import gather
from dashboard.reports.pdf import report_pdf
from dashboard.settings import Broker, DashboardConfig
from dashboard.store import writes
from dashboard.store.database import head_revision, open_engine, upgrade
from dashboard.synthetic import visit_events, visits
from dashboard.web.app import tune_gc
from edge.contract import Topic, encode
from edge.service.delivery.broker import Mosquitto

INGEST_TARGET = 5000.0  # events/s, SQLite
QUERY_TARGET_MS = 100.0  # p95 of the Acknowledgement page's queries
EVENTS_PER_VISIT = 10
WAIT_S = 300.0
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestFigure:
    """Events per second into one database."""

    database: str
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        """Events stored per second."""
        return self.events / self.seconds


@dataclass(frozen=True)
class QueryFigure:
    """One filter's Acknowledgement report, timed."""

    name: str
    customers: int
    p50_ms: float
    p95_ms: float


def _payloads(count: int) -> list[tuple[str, bytes]]:
    end = time.time()
    out: list[tuple[str, bytes]] = []
    per_day = max(1, count // EVENTS_PER_VISIT // 4)
    for visit in visits(2, 2, 1, per_day, end, seed=11):
        topic = Topic.EVENT.build(prefix="greetcue", site=visit.site, camera=visit.camera)
        out += [(topic, encode(event)) for event in visit_events(visit)]
    return out[:count]


def ingest_rate(
    database_url: str, count: int, progress: Progress, workers: int = 1
) -> IngestFigure:
    """``count`` events queued at a private Mosquitto for the dashboard's sessions (as after a
    restart, or a busy chain's backlog), then drained by ``workers`` ingest workers (a shared
    subscription; the extra ones are ``greetcue dashboard ingest`` processes) into the
    database: events per second from the start of the ingest to the last event stored. The
    publisher runs before, so it takes no CPU from the ingest on a small box."""
    payloads = _payloads(count)
    with (
        tempfile.TemporaryDirectory(prefix="greetcue-bench-") as folder,
        Mosquitto(Path(folder) / "mosquitto", port=0) as broker,
    ):
        engine = open_engine(database_url)
        upgrade(engine)
        shared = "bench" if workers > 1 else None
        settings = DashboardConfig(
            state_dir=Path(folder),
            database=database_url,
            broker=Broker(
                host=broker.host, port=broker.port, client_id="bench-ingest", shared_group=shared
            ),
        )
        config = Path(folder) / "dashboard.yaml"
        config.write_text(yaml.safe_dump(settings.model_dump(mode="json", exclude_none=True)))
        extra = _start_workers(config, workers - 1)
        first = Ingest.from_settings(
            settings, engine
        ).start()  # makes the persistent session, then goes away
        _wait(lambda: first.stats.connected, "the ingest to subscribe")
        time.sleep(1.0)  # the extra workers subscribe too
        first.stop()
        _stop_workers(extra)
        _publish(broker, payloads, progress)
        task = progress.add_task(f"ingest into {engine.dialect.name}", total=len(payloads))
        start = time.perf_counter()
        extra = _start_workers(config, workers - 1)
        running = Ingest.from_settings(settings, engine).start()
        _wait(
            lambda: _advance(progress, task, _stored(engine)) >= len(payloads),
            "every event to be stored",
        )
        seconds = time.perf_counter() - start
        running.stop()
        _stop_workers(extra)
        engine.dispose()
    progress.remove_task(task)
    return IngestFigure(f"{engine.dialect.name}, {workers} worker(s)", len(payloads), seconds)


def _start_workers(config: Path, count: int) -> list[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "edge.cli", "dashboard", "ingest", "--config", str(config)]
    return [
        subprocess.Popen([*command, "--worker", str(n + 1)], stdout=subprocess.DEVNULL)
        for n in range(count)
    ]


def _stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=60)


def _stored(engine: Engine) -> int:
    with engine.connect() as connection:
        return writes.count_events(connection)


PUBLISH_WINDOW = 20_000


def _publish(broker: Mosquitto, payloads: list[tuple[str, bytes]], progress: Progress) -> None:
    task = progress.add_task("queueing events at the broker", total=len(payloads))
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(broker.host, broker.port)
    client.loop_start()
    # paho numbers QoS 1 messages with 16-bit packet ids: never more than PUBLISH_WINDOW
    # unconfirmed at once, or past 65,535 it refuses with ERR_QUEUE_SIZE.
    for start in range(0, len(payloads), PUBLISH_WINDOW):
        window = payloads[start : start + PUBLISH_WINDOW]
        for info in [client.publish(topic, payload, qos=1) for topic, payload in window]:
            info.wait_for_publish(WAIT_S)
        progress.update(task, completed=start + len(window))
    client.disconnect()
    client.loop_stop()
    progress.remove_task(task)


def _advance(progress: Progress, task: Any, done: int) -> int:
    progress.update(task, completed=done)
    return done


def _wait(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"bench: timed out waiting for {what}")
        time.sleep(0.02)


def query_store(events: int, sites: int, days: int, progress: Progress) -> Path:
    """A SQLite store of about ``events`` events (built once, kept in the cache)."""
    cache = Path(platformdirs.user_cache_dir("greetcue")) / "bench"
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"dashboard-{head_revision()}-{events}-{sites}-{days}.sqlite3"
    if path.exists():
        return path
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    engine = open_engine(f"sqlite:///{partial}")
    upgrade(engine)
    cameras = 2
    per_day = max(1, events // EVENTS_PER_VISIT // (sites * cameras * days))
    total = sites * cameras * days * per_day * EVENTS_PER_VISIT
    task = progress.add_task(f"building a store of {total:,} events", total=total)
    batch: list[writes.Received] = []
    end = _midnight()
    for visit in visits(sites, cameras, days, per_day, end, seed=3):
        batch += [writes.Received(e, visit.start_s) for e in visit_events(visit)]
        if len(batch) >= 20_000:
            with engine.begin() as connection:
                writes.store_events(connection, batch)
            progress.advance(task, len(batch))
            batch = []
    with engine.begin() as connection:
        writes.store_events(connection, batch)
    engine.dispose()
    progress.remove_task(task)
    partial.rename(path)
    return path


def _midnight() -> float:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today.timestamp()


def query_latency(store: Path, rounds: int, progress: Progress) -> list[QueryFigure]:
    """The Acknowledgement report for the filters a manager uses, ``rounds`` times each."""
    engine = open_engine(f"sqlite:///{store}")
    analytics = Analytics(DashboardConfig(state_dir=store.parent))
    end = _midnight()
    day = timedelta(days=1).total_seconds()
    cases = {
        "all sites, last 7 days (the default)": Filters(end - 7 * day, end),
        "one site, last 7 days": Filters(end - 7 * day, end, site="store-1"),
        "one site and camera, 90 days": Filters(
            end - 90 * day, end, site="store-2", camera="counter-1"
        ),
        "all sites, last 30 days": Filters(end - 30 * day, end),
        "all sites, all 90 days": Filters(end - 90 * day, end),
        "one staff member, 30 days": Filters(end - 30 * day, end, staff="sam"),
    }
    task = progress.add_task("Acknowledgement queries", total=len(cases) * rounds)
    tune_gc()  # as `greetcue dashboard` does
    out = []
    for name, filters in cases.items():
        with engine.connect() as connection:  # a first view fills the page and zone caches
            analytics.report(connection, filters)
        times, customers = [], 0
        for _ in range(rounds):
            start = time.perf_counter()
            with engine.connect() as connection:
                report = analytics.report(connection, filters)
            times.append((time.perf_counter() - start) * 1000)
            customers = report.overall.customers
            progress.advance(task)
        out.append(
            QueryFigure(name, customers, statistics.median(times), float(np.percentile(times, 95)))
        )
    engine.dispose()
    progress.remove_task(task)
    return out


def report_pdf_latency(store: Path, rounds: int, progress: Progress) -> QueryFigure:
    """The printable report of the default view (``/acks.pdf``: all sites, 7 days), made
    ``rounds`` times: its two reports (the period and the one before) and the page drawn."""
    settings = DashboardConfig(state_dir=store.parent)
    engine = open_engine(f"sqlite:///{store}")
    analytics = Analytics(settings)
    end = _midnight()
    filters = Filters(end - timedelta(days=7).total_seconds(), end)
    task = progress.add_task("printable reports", total=rounds)

    def made() -> int:
        with engine.connect() as connection:
            ack = gather(connection, analytics, settings, filters)
        report_pdf(ack, datetime.now(UTC))
        return ack.report.overall.customers

    made()  # the first loads matplotlib and its fonts, as a dashboard's first report does
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        customers = made()
        times.append((time.perf_counter() - start) * 1000)
        progress.advance(task)
    engine.dispose()
    progress.remove_task(task)
    name = "printable report (PDF), all sites, last 7 days"
    return QueryFigure(name, customers, statistics.median(times), float(np.percentile(times, 95)))
