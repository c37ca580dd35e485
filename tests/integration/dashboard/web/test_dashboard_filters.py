"""Filters refuse a date outside a sane range or a name the contract would not carry up front,
with a 422 naming the parameter, so nothing reaches the database or the CSV stream with it;
the CSV itself streams whole through a real server."""

from __future__ import annotations

import csv
import io
import time

import httpx
import httpx2

from tests.support.dashboard_support import Customer, Dashboard
from tests.support.live_dashboard import Serve

ROUTES = ("/api/acks", "/api/events", "/api/events.csv", "/acks", "/events")


def refused_key(answer: httpx.Response | httpx2.Response) -> str:
    """The query parameter a 422 names."""
    assert answer.status_code == 422, (answer.status_code, answer.text[:200])
    (error,) = answer.json()["detail"]
    assert error["loc"][0] == "query"
    return str(error["loc"][1])


def test_a_date_outside_the_sane_range_is_a_422_naming_it(dashboard: Dashboard) -> None:
    for params, key in [
        ({"end": "9999-12-31"}, "end"),  # was a 500: the day after does not exist
        ({"start": "0001-01-01"}, "start"),
        ({"start": "1999-12-31"}, "start"),
        ({"end": "2200-01-01"}, "end"),
        ({"start": "2026-11-21", "end": "2026-11-20"}, "start"),
    ]:
        for route in ROUTES:
            answer = dashboard.client.get(route, params=params, headers=dashboard.bearer())
            assert refused_key(answer) == key, (route, params)
            assert key in answer.json()["detail"][0]["msg"]
    edges = {"start": "2000-01-01", "end": "2199-12-31"}
    assert dashboard.api("/api/acks", **edges)["overall"]["customers"] == 0


def test_a_control_character_or_space_in_a_name_is_a_422_naming_it(dashboard: Dashboard) -> None:
    for key in ("site", "camera", "device", "staff"):
        for bad in ("store-1\n", "store-1\r\nX-Injected: 1", "a\x00b", "\x1b[2J", "front desk"):
            for route in ROUTES:
                answer = dashboard.client.get(route, params={key: bad}, headers=dashboard.bearer())
                assert refused_key(answer) == key, (route, key, bad)


def test_the_csv_streams_whole_through_a_real_server(dashboard: Dashboard, serve: Serve) -> None:
    """Over uvicorn (whose HTTP layer refused the newline in the download's file name
    mid-response): a bad site is a whole 422; a good one streams every row."""
    start = time.time() - 3600
    events = []
    for i in range(1200):  # more than one 1,000-row chunk
        customer = Customer(start + i, track_id=i)
        events += [customer.cue(), customer.ack(2.0)]
    dashboard.store(events)
    with serve(dashboard.client.app) as base:  # type: ignore[arg-type]
        headers = dashboard.bearer()
        bad = httpx.get(f"{base}/api/events.csv", params={"site": "store-1\n"}, headers=headers)
        assert refused_key(bad) == "site"
        good = httpx.get(f"{base}/api/events.csv", params={"site": "store-1"}, headers=headers)
    assert good.status_code == 200
    assert 'filename="greetcue-events-store-1.csv"' in good.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(good.text)))
    assert len(rows) == len(events)
    assert {row["id"] for row in rows} == {str(event.id) for event in events}
