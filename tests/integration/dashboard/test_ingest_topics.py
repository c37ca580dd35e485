"""The ingest keeps the topics it has read (a chain's cameras reuse them): a topic refused by
the name rule is refused every time it comes, and more topics than the cache holds are all
read right (it empties, it never grows past its bound)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard import ingest
from dashboard.settings import DashboardConfig
from edge.contract import Topic
from edge.service.delivery.broker import Mosquitto
from tests.integration.dashboard.test_dashboard_ingest import EVENT, Publisher, visit, wait_until
from tests.integration.dashboard.test_ingest_isolation import (
    has_stored,
    start_ingest,
    stored_events,
)
from tests.support.dashboard_support import migrated_engine


def test_a_bad_topic_is_refused_each_time_and_cached_topics_keep_storing(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    settings = DashboardConfig(state_dir=tmp_path)
    engine = migrated_engine(settings)
    running = start_ingest(settings, mosquitto, engine)
    publisher = Publisher(mosquitto)
    bad = EVENT.replace("counter-1", "junk cam")
    try:
        for n in range(1, 4):
            publisher.send(bad, visit(n)[0])
            publisher.send(EVENT, visit(n)[0])
            wait_until(has_stored(running, n), f"event {n}")
            assert running.stats.refused == {"bad_topic": n}
    finally:
        running.stop()
        publisher.close()


def test_more_topics_than_the_cache_holds_are_all_read(
    mosquitto: Mosquitto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "TOPIC_CACHE", 3)
    settings = DashboardConfig(state_dir=tmp_path)
    engine = migrated_engine(settings)
    running = start_ingest(settings, mosquitto, engine)
    publisher = Publisher(mosquitto)
    cameras = [f"counter-{n}" for n in range(10)]
    try:
        for round_ in (1, 2):
            for n, camera in enumerate(cameras):
                topic = Topic.EVENT.build(prefix="greetcue", site="store-1", camera=camera)
                payload = visit(100 * round_ + n)[0].replace(b'"counter-1"', f'"{camera}"'.encode())
                publisher.send(topic, payload)
        wait_until(has_stored(running, 2 * len(cameras)), "every camera's events")
        assert running.stats.refused == {}
    finally:
        running.stop()
        publisher.close()
    assert stored_events(engine) == 2 * len(cameras)
