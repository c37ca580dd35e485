"""Two stores with a device of the same name (``counter``, the default rota device) on one
central dashboard, end to end against a real Mosquitto: each store's link, its page's stream,
its pending cues and its acks stay its own."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from dashboard import auth
from dashboard.live import DeviceId, LiveHub
from dashboard.settings import Broker, DashboardConfig
from dashboard.web.app import create_app
from edge.contract import CueCommand, Topic, encode, new_id
from edge.service.delivery.broker import Mosquitto
from tests.integration.dashboard.test_dashboard_ingest import Publisher
from tests.support.dashboard_support import migrated_engine, run_async
from tests.support.live_dashboard import Serve
from tests.support.mosquitto_fixture import SubscriberFactory

WAIT_S = 20.0  # guards a hung test only
SITES = ("store-1", "store-2")


@pytest.fixture
def central(
    mosquitto: Mosquitto, serve: Serve, tmp_path: Path
) -> Iterator[tuple[str, dict[str, str]]]:
    """The dashboard with ingest on the broker, served; its URL and each site's counter key."""
    broker = Broker(host=mosquitto.host, port=mosquitto.port, client_id="central")
    settings = DashboardConfig(state_dir=tmp_path / "state", broker=broker)
    engine = migrated_engine(settings)
    with engine.begin() as connection:
        keys = {site: auth.issue_token(connection, "staff", "counter", site) for site in SITES}
    app: FastAPI = create_app(settings, engine)
    with serve(app) as base:
        deadline = time.monotonic() + WAIT_S
        while not app.state.ingest.stats.connected:
            assert time.monotonic() < deadline, "the ingest did not connect"
            time.sleep(0.05)
        yield base, keys
    engine.dispose()


def cue_for(site: str) -> CueCommand:
    now = datetime.now(UTC)
    return CueCommand(
        cue_id=new_id(),
        site=site,
        camera="cam-1",
        device="counter",
        zone="10ft",
        reason="zone",
        escalation=0,
        track_id=1,
        issued_at=now,
        expires_at=now + timedelta(seconds=60),
    )


async def events(response: httpx.Response) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """A server-sent event stream's (event, data) pairs."""
    kind = ""
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:") and kind != "ping":
            yield kind, json.loads(line[5:])


async def next_cue(stream: AsyncIterator[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        async for kind, data in stream:
            if kind == "cue":
                return data
        raise AssertionError("the stream ended")

    return await asyncio.wait_for(read(), WAIT_S)


def test_two_sites_counter_pages_see_and_ack_only_their_own_cues(
    central: tuple[str, dict[str, str]], mosquitto: Mosquitto, subscriber: SubscriberFactory
) -> None:
    base, keys = central
    acks = subscriber("greetcue/+/ack/#")
    cues = {site: cue_for(site) for site in SITES}
    edge = Publisher(mosquitto)

    async def run() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with httpx.AsyncClient(base_url=base, timeout=WAIT_S) as client:
            async with (
                client.stream("GET", f"/staff/counter/stream?key={keys['store-1']}") as one,
                client.stream("GET", f"/staff/counter/stream?key={keys['store-2']}") as two,
            ):
                streams = {"store-1": events(one), "store-2": events(two)}
                for stream in streams.values():
                    kind, hello = await anext(stream)
                    assert kind == "hello" and hello["pending"] == []
                for site in SITES:  # store 1's cue first: store 2's page must skip it
                    command = cues[site]
                    topic = Topic.CUE.build(prefix="greetcue", site=site, device="counter")
                    await asyncio.to_thread(edge.send, topic, encode(command))
                for site, stream in streams.items():
                    seen[site] = await next_cue(stream)
            headers = {"X-Requested-With": "greetcue"}
            stolen = str(cues["store-1"].cue_id)
            seen["stolen"] = await client.post(
                f"/staff/counter/ack?key={keys['store-2']}",
                json={"cue_id": stolen},
                headers=headers,
            )
            own = str(cues["store-2"].cue_id)
            seen["own"] = await client.post(
                f"/staff/counter/ack?key={keys['store-2']}", json={"cue_id": own}, headers=headers
            )
        return seen

    try:
        seen = run_async(run())
    finally:
        edge.close()
    for site in SITES:  # each page got its own store's cue, the other's never came first
        assert seen[site]["site"] == site and seen[site]["cue_id"] == str(cues[site].cue_id)
    assert seen["stolen"].status_code == 409  # store 2's page cannot ack store 1's cue
    assert seen["own"].status_code == 200, seen["own"].text
    sent = acks.wait_for(lambda got: len(got) >= 1)
    assert [m.topic for m in sent] == ["greetcue/store-2/ack/counter"]
    assert json.loads(sent[0].payload)["cue_id"] == str(cues["store-2"].cue_id)


def test_another_sites_event_closes_no_cue_on_this_sites_pages() -> None:
    """A forged ack event of store-2 naming store-1's cue id leaves store-1's cue open."""
    hub = LiveHub()
    command = cue_for("store-1")
    hub.cue(command)
    counter = DeviceId("store-1", "counter")
    hub.resolved("store-2", str(command.cue_id), "acknowledged")
    assert [c["cue_id"] for c in hub.pending(counter)] == [str(command.cue_id)]
    hub.resolved("store-1", str(command.cue_id), "acknowledged")
    assert hub.pending(counter) == []
