"""The Acknowledgement figures from stored events: honest percentiles and service level, and
figures that cannot be gamed (repeats, late acks, acks of no cue, cues of no person)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from dashboard.settings import Privacy
from dashboard.store import writes
from dashboard.web.app import create_app
from tests.support.dashboard_support import Customer, Dashboard

DAY = "2026-11-20"
NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC).timestamp()  # lunch: goal 8 s (UTC site)


def figures(dashboard: Dashboard, **params: Any) -> Any:
    return dashboard.api("/api/acks", start=DAY, end=DAY, **params)


def test_percentiles_slowest_and_service_level_follow_the_latencies(dashboard: Dashboard) -> None:
    latencies = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 9.0, 12.0, 30.0]
    for i, latency in enumerate(latencies):
        customer = Customer(NOON + i * 60, track_id=i)
        dashboard.store([customer.cue(), customer.enter(0.5), customer.ack(latency)])
    overall = figures(dashboard)["overall"]
    assert overall["customers"] == 10 and overall["acknowledged"] == 10
    assert overall["p50_s"] == pytest.approx(np.percentile(latencies, 50))
    assert overall["p90_s"] == pytest.approx(np.percentile(latencies, 90))
    assert overall["p99_s"] == pytest.approx(np.percentile(latencies, 99))
    assert overall["slowest_s"] == 30.0
    assert overall["within_goal"] == pytest.approx(7 / 10)  # lunch goal 8 s
    assert overall["rag"] == "amber"  # target 80 %, amber down to 70 %


def test_a_redelivered_event_counts_once(dashboard: Dashboard) -> None:
    customer = Customer(NOON)
    events = [customer.cue(), customer.ack(3.0)]
    assert dashboard.store(events) == 2
    assert dashboard.store(events) == 0
    overall = figures(dashboard)["overall"]
    assert (overall["customers"], overall["acknowledged"], overall["p50_s"]) == (1, 1, 3.0)


def test_the_first_stored_ack_stays_whatever_time_a_later_one_claims(dashboard: Dashboard) -> None:
    customer = Customer(NOON)
    first, forged = customer.ack(9.0, staff="alex"), customer.ack(2.0, staff="sam")
    dashboard.store([first, customer.cue()])
    dashboard.store([forged])
    overall = figures(dashboard)["overall"]
    assert (overall["acknowledged"], overall["p50_s"]) == (1, 9.0)
    settings = dashboard.settings.model_copy(update={"privacy": Privacy(per_person=True)})
    with TestClient(create_app(settings, dashboard.engine, ingest=False)) as per_person:
        for staff, key, count in (("alex", "acknowledged", 1), ("sam", "customers", 0)):
            params = {"start": DAY, "end": DAY, "staff": staff}
            answer = per_person.get("/api/acks", params=params, headers=dashboard.bearer())
            assert answer.json()["overall"][key] == count, staff


def test_an_ack_after_the_customer_left_counts_as_left_not_as_an_ack(dashboard: Dashboard) -> None:
    customer = Customer(NOON)
    dashboard.store([customer.cue(), customer.left(5.0), customer.ack(8.0)])
    overall = figures(dashboard)["overall"]
    assert (overall["customers"], overall["acknowledged"], overall["left"]) == (1, 0, 1)
    assert overall["p50_s"] is None and overall["within_goal"] == 0.0


def test_acks_of_no_cue_and_cues_of_no_tracked_person_count_for_nothing(
    dashboard: Dashboard,
) -> None:
    orphan = Customer(NOON)
    ghost = Customer(NOON + 60, track_id=None)
    dashboard.store([orphan.ack(1.0), ghost.cue(), ghost.ack(1.0)])
    overall = figures(dashboard)["overall"]
    assert (overall["customers"], overall["acknowledged"]) == (0, 0)


def test_waiting_cues_and_open_cues_are_counted_apart(dashboard: Dashboard) -> None:
    walk_up, waiting, still_open = Customer(NOON), Customer(NOON + 60), Customer(NOON + 120)
    dashboard.store([walk_up.cue(), walk_up.ack(4.0), still_open.cue()])
    dashboard.store([waiting.cue(reason="waiting"), waiting.ack(20.0)])
    report = figures(dashboard)
    assert report["overall"]["customers"] == 2 and report["overall"]["open"] == 1
    assert report["overall"]["slowest_s"] == 4.0  # the waiting ack is not a slow walk-up ack
    assert report["overall"]["within_goal"] == 1.0  # open cues are not closed yet
    assert (report["waiting"]["customers"], report["waiting"]["p50_s"]) == (1, 20.0)


def test_lead_time_and_acks_before_the_inner_zones(dashboard: Dashboard) -> None:
    for i, (lead, before) in enumerate([(0.2, True), (0.6, False), (1.0, True)]):
        customer = Customer(NOON + i * 60, track_id=i)
        dashboard.store([customer.cue(), customer.enter(lead), customer.ack(2, before_5ft=before)])
    report = figures(dashboard)
    assert report["lead_p50_s"] == pytest.approx(0.6)
    assert report["before"]["5ft"] == pytest.approx(2 / 3)
    assert report["before"]["3ft"] == 1.0


def test_an_escalation_keeps_the_first_cue_time(dashboard: Dashboard) -> None:
    customer = Customer(NOON)
    dashboard.store([customer.cue(), customer.cue(escalation=1, device="phone-2")])
    dashboard.store([customer.ack(11.0)])
    overall = figures(dashboard)["overall"]
    assert (overall["customers"], overall["p50_s"]) == (1, 11.0)


def test_times_group_by_the_sites_own_time_zone(tmp_path: Any) -> None:
    from fastapi.testclient import TestClient

    from dashboard.settings import DashboardConfig, Site
    from dashboard.web.app import create_app
    from tests.support.dashboard_support import migrated_engine

    settings = DashboardConfig(
        state_dir=tmp_path, sites={"store-ny": Site(timezone="America/New_York")}
    )
    engine = migrated_engine(settings)
    customer = Customer(datetime(2026, 11, 20, 16, 30, tzinfo=UTC).timestamp(), site="store-ny")
    from dashboard import auth
    from dashboard.store import writes

    with engine.begin() as connection:
        token = auth.issue_token(connection, "api", "t")
        received = [writes.Received(e, 0) for e in (customer.cue(), customer.ack(3))]
        writes.store_events(connection, received)
    with TestClient(create_app(settings, engine, ingest=False)) as client:
        report = client.get(
            "/api/acks",
            params={"site": "store-ny", "start": DAY, "end": DAY},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
    assert [row["key"] for row in report["by_hour"]] == ["11:00"]  # 16:30 UTC = 11:30 EST
    assert [row["key"] for row in report["by_daypart"]] == ["lunch"]
    assert [row["key"] for row in report["by_day"]] == [DAY]


def test_the_league_table_ranks_by_service_level(dashboard: Dashboard) -> None:
    for i, (site, latency) in enumerate([("fast", 2.0), ("slow", 20.0), ("fast", 3.0)]):
        customer = Customer(NOON + i * 60, site=site, track_id=i)
        dashboard.store([customer.cue(), customer.ack(latency)])
    league = figures(dashboard)["league_sites"]
    assert [(row["key"], row["customers"], row["rag"]) for row in league] == [
        ("fast", 2, "green"),
        ("slow", 1, "red"),
    ]


def test_bad_filters_are_refused_with_the_reason(dashboard: Dashboard) -> None:
    for params, words in [
        ({"site": "front desk"}, "site"),
        ({"start": "20-11-2026"}, "YYYY-MM-DD"),
        ({"start": "2026-11-21", "end": "2026-11-20"}, "after"),
    ]:
        answer = dashboard.client.get("/api/acks", params=params, headers=dashboard.bearer())
        assert answer.status_code == 422 and words in answer.text


def test_a_camera_going_offline_closes_its_open_cues_so_still_open_means_open_now(
    dashboard: Dashboard,
) -> None:
    """The demo's clip loop restarts the edge: its cues were never closed and "still open"
    grew. An offline message (a clean stop or the Last Will) closes the camera's open cues;
    an ack given before it still counts; a cue after it is open."""
    answered, lost, later = Customer(NOON), Customer(NOON + 10), Customer(NOON + 60)
    dashboard.store([answered.cue(), lost.cue()])
    with dashboard.engine.begin() as connection:
        writes.store_availability(
            connection, writes.Availability("store-1", "counter-1", False, NOON + 30)
        )
    dashboard.store([answered.ack(5.0), later.cue()])
    overall = figures(dashboard)["overall"]
    assert (overall["customers"], overall["acknowledged"]) == (3, 1)
    assert (overall["closed"], overall["open"]) == (1, 1)
    client = dashboard.login()
    page = client.get("/acks", params={"start": DAY, "end": DAY}).text
    assert "1 still open, 1 closed unanswered when their camera stopped" in page


def test_every_figure_stands_beside_the_previous_period_and_the_report_downloads(
    dashboard: Dashboard,
) -> None:
    """This week against last: the figures of the period before, of the same length, beside
    each; the report as CSV with both."""
    week_s = 7 * 86400
    for i, latency in enumerate([2.0, 4.0, 6.0]):
        now_week = Customer(NOON + i * 60, track_id=i)
        last_week = Customer(NOON - week_s + i * 60, track_id=10 + i)
        dashboard.store([now_week.cue(), now_week.ack(latency), last_week.cue()])
        dashboard.store([last_week.ack(latency + 10.0)])
    week = {"start": "2026-11-14", "end": "2026-11-20"}
    answer = dashboard.api("/api/acks", **week)
    assert answer["overall"]["p50_s"] == 4.0 and answer["previous"]["p50_s"] == 14.0
    page = dashboard.login().get("/acks", params=week).text
    assert "Previous period: 14.0 s" in page and "Typical wait" in page
    csv_text = dashboard.client.get("/api/acks.csv", params=week, headers=dashboard.bearer()).text
    lines = csv_text.splitlines()
    assert lines[0].startswith("section,key,customers")
    assert lines[1].startswith("overall,this period,3,3") and lines[2].startswith(
        "overall,previous period,3,3"
    )
