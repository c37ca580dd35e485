"""Workers upserting the same cues can deadlock on PostgreSQL; the one rolled back writes its
batch again at once, not after the back-off (and error) of a database that is down. Here a
real deadlock: another session holds one cue row the ingest's batch updates and then asks for
the other (with a longer deadlock_timeout than the server's, so PostgreSQL rolls the ingest
back)."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from dashboard.settings import DashboardConfig
from edge.contract import encode
from edge.service.delivery.broker import Mosquitto
from edge.tools.bench.postgres_server import PostgresServer
from tests.integration.dashboard.test_dashboard_ingest import EVENT, Publisher, wait_until
from tests.integration.dashboard.test_ingest_isolation import start_ingest
from tests.support.dashboard_support import Customer, migrated_engine


def test_a_deadlocked_batch_is_written_again_at_once(
    postgres: PostgresServer,
    mosquitto: Mosquitto,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    database = postgres.fresh_database(f"conflict_{uuid.uuid4().hex[:12]}")
    settings = DashboardConfig(state_dir=tmp_path, database=database)
    engine = migrated_engine(settings)
    first, second = sorted(
        (Customer(time.time() - 60) for _ in range(2)), key=lambda c: str(c.cue_id)
    )
    ingest = start_ingest(settings, mosquitto, engine, linger_s=0.5)  # both acks in one batch
    publisher = Publisher(mosquitto)
    holder = engine.connect()
    try:
        for customer in (first, second):
            publisher.send(EVENT, encode(customer.cue()))
        wait_until(lambda: ingest.stats.stored == 2, "the two cues")
        transaction = holder.begin()
        holder.execute(text("SET LOCAL deadlock_timeout = '30s'"))  # the ingest is the victim
        holder.execute(
            text("SELECT 1 FROM cues WHERE cue_id = :c FOR UPDATE"), {"c": str(second.cue_id)}
        )
        caplog.set_level(logging.ERROR, logger="greetcue.dashboard.ingest")
        for customer in (first, second):  # the ingest locks the first cue, waits for the second
            publisher.send(EVENT, encode(customer.ack(4.0)))
        with engine.connect() as watcher:
            wait_until(
                lambda: (
                    watcher.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")) == 1
                ),
                "the ingest to wait for the held cue",
            )
        taker = threading.Thread(
            target=holder.execute,
            args=(
                text("SELECT 1 FROM cues WHERE cue_id = :c FOR UPDATE"),
                {"c": str(first.cue_id)},
            ),
        )
        taker.start()  # the deadlock: PostgreSQL rolls the ingest's batch back
        taker.join(30)
        transaction.commit()
        wait_until(lambda: ingest.stats.stored == 4, "the acks, written again")
    finally:
        holder.close()
        ingest.stop()
        publisher.close()
    assert "database write failed" not in caplog.text
    assert ingest.stats.refused == {} and ingest.stats.duplicates == 0
    with engine.connect() as connection:
        acked = connection.scalar(text("SELECT count(*) FROM cues WHERE acked_s IS NOT NULL"))
    assert acked == 2
