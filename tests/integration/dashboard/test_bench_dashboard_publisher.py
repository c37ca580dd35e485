"""`greetcue bench dashboard --events 100000` failed with "Message is not queued due to
ERR_QUEUE_SIZE": its publisher queued every message before waiting, past the 65,535 packet ids
of MQTT. It now publishes in windows: more than 65,535 events all reach the broker."""

from __future__ import annotations

import pytest
from rich.progress import Progress

from edge.cli.bench_ingest import _publish
from edge.service.delivery.broker import Mosquitto
from tests.support.mosquitto_fixture import SubscriberFactory

pytestmark = pytest.mark.integration

COUNT = 100_000  # past the 16-bit packet ids


def test_more_events_than_packet_ids_all_reach_the_broker(
    mosquitto: Mosquitto, subscriber: SubscriberFactory
) -> None:
    watcher = subscriber("bench/#")
    _publish(mosquitto, [(f"bench/{n % 7}", b"x") for n in range(COUNT)], Progress(disable=True))
    got = watcher.wait_for(lambda messages: len(messages) >= COUNT, timeout_s=120)
    assert len(got) == COUNT
