"""The Settings page over HTTP, on SQLite and PostgreSQL: a manager's saved goals drive every
page and API answer at once, also in a second server on the same database; nobody else can
read or change them, and a hostile form is refused with a clear message, nothing saved."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from dashboard import auth
from dashboard.store.tables import AuditRow, GoalsRow
from dashboard.web.app import create_app
from tests.support.dashboard_support import Customer, Dashboard

WHOLE_DAY = {"part_name": ["all"], "part_start": ["00:00"], "part_end": ["00:00"]}


def csrf_of(client: TestClient) -> str:
    page = client.get("/settings")
    assert page.status_code == 200, page.text
    return page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def goals_form(client: TestClient, goal_s: str = "5", **fields: Any) -> dict[str, Any]:
    """The form as the page sends it: one daypart for the whole day."""
    form = {"csrf": csrf_of(client), "based_on": "0", "service_level": "90", "amber_margin": "5"}
    return form | {"before_zones": "5ft", **WHOLE_DAY, "part_goal_s": [goal_s]} | fields


def saved(dashboard: Dashboard) -> tuple[int, int]:
    """How many goal versions and audit entries are stored."""
    with dashboard.engine.connect() as connection:
        count = [connection.execute(select(func.count()).select_from(t)).scalar() for t in
                 (GoalsRow, AuditRow)]  # fmt: skip
    return count[0] or 0, count[1] or 0


def test_saved_goals_drive_every_page_and_a_second_server_at_once(dashboard: Dashboard) -> None:
    now = time.time()
    customer = Customer(now - 60)
    dashboard.store([customer.cue(), customer.ack(8.0)])  # within the YAML's 10 s, not 5 s
    with TestClient(create_app(dashboard.settings, dashboard.engine, ingest=False)) as other:

        def in_time() -> Any:
            answer = other.get("/api/overview", headers=dashboard.bearer())
            return answer.json()["today"]["overall"]["within_goal"]

        assert in_time() == 1.0
        client = dashboard.login()
        answer = client.post("/settings", data=goals_form(client), follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/settings?saved=1"
        assert in_time() == 0.0  # the other server, never restarted, uses the saved goal
    acks = dashboard.api("/api/acks")
    assert acks["goals"] == [{"name": "all", "start": "00:00", "end": "00:00", "goal_s": 5.0}]
    assert acks["overall"]["rag"] == "red"
    page = client.get("/settings?saved=1").text
    assert 'id="saved"' in page and "saved by <strong>manager</strong>" in page
    assert "target 90 %" in client.get("/").text
    log = client.get("/settings/log").text
    assert "<td>manager</td>" in log and "target 80 % → 90 %" in log
    assert saved(dashboard) == (1, 1)


def test_saving_the_goals_in_force_again_logs_nothing(dashboard: Dashboard) -> None:
    client = dashboard.login()
    client.post("/settings", data=goals_form(client))
    again = client.post("/settings", data=goals_form(client, based_on="1"))
    assert again.status_code == 200 and saved(dashboard) == (1, 1)


def test_a_save_over_a_colleagues_save_is_refused_and_shows_theirs(dashboard: Dashboard) -> None:
    client = dashboard.login()
    stale = goals_form(client, goal_s="7")  # opened before the colleague saved
    client.post("/settings", data=goals_form(client))
    answer = client.post("/settings", data=stale)
    assert answer.status_code == 409
    assert "manager saved other goals while you were editing" in answer.text
    assert 'value="5"' in answer.text and saved(dashboard) == (1, 1)


def test_nobody_but_a_signed_in_manager_reads_or_changes_goals(dashboard: Dashboard) -> None:
    client = dashboard.client
    form = goals_form(dashboard.login())
    client.cookies.clear()  # anonymous: to the login
    for method, path in (("GET", "/settings"), ("GET", "/settings/log"), ("POST", "/settings")):
        answer = client.request(method, path, data=form if method == "POST" else None,
                                follow_redirects=False)  # fmt: skip
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
        answer = client.request(method, path, data=form if method == "POST" else None,
                                headers=dashboard.bearer())  # fmt: skip
        assert answer.status_code == 403 and "not with an API token" in answer.text, path
    with dashboard.engine.begin() as connection:
        key = auth.issue_token(connection, "staff", "wearable-1", "store-1")
    for path in (f"/settings?key={key}", f"/settings/log?key={key}"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303, path  # a staff link is no manager session
    client.cookies.set("greetcue_staff_wearable-1", key)
    answer = client.post(f"/settings?key={key}", data=form, follow_redirects=False)
    assert answer.status_code == 303
    assert saved(dashboard) == (0, 0)


def test_a_form_from_another_site_is_refused(dashboard: Dashboard) -> None:
    client = dashboard.login()
    answer = client.post("/settings", data=goals_form(client, csrf="forged"))
    assert answer.status_code == 403 and "came from another site" in answer.text
    assert saved(dashboard) == (0, 0)


HUGE = "9" * 70_000
MANY = [f"{h % 24:02d}:00" for h in range(1000)]
OVERLAPPING = {"part_name": ["a", "b"], "part_start": ["00:00", "11:00"],
               "part_end": ["12:00", "00:00"], "part_goal_s": ["5", "5"]}  # fmt: skip
THOUSAND = {"part_name": [f"p{n}" for n in range(1000)], "part_start": MANY,
            "part_end": MANY[1:] + MANY[:1], "part_goal_s": ["5"] * 1000}  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ({"service_level": "1e308"}, 400, "from 1 to 100 (e.g. 80), not &#39;1e308&#39;"),
        ({"part_goal_s": ["100000000"]}, 400, "Daypart all: enter the goal in seconds, from 0.1"),
        ({"part_name": ["x" * 5000]}, 400, "Daypart 1: give it a name of letters, digits"),
        ({"service_level": HUGE}, 413, "The form is too large to be the settings page&#39;s"),
        (OVERLAPPING, 400, "11:00 is in two dayparts"),
        (THOUSAND, 400, "A day has room for 24 dayparts at most"),
        ({"part_end": ["11:30"]}, 400, "not &#39;11:30&#39;"),
        ({"part_start": ["24:00"]}, 400, "not &#39;24:00&#39;"),
        ({"part_start": ["<script>"]}, 400, "not &#39;&lt;script&gt;&#39;"),
    ],
)
def test_a_hostile_form_is_refused_with_a_clear_message_and_nothing_saved(
    dashboard: Dashboard, fields: dict[str, Any], status: int, words: str
) -> None:
    client = dashboard.login()
    answer = client.post("/settings", data=goals_form(client, **fields))
    assert answer.status_code == status, answer.text[:300]
    assert "The goals were not saved." in answer.text and words in answer.text
    assert "<script>" not in answer.text
    assert saved(dashboard) == (0, 0)


def test_a_form_not_sent_as_the_page_sends_it_is_refused(dashboard: Dashboard) -> None:
    client = dashboard.login()
    answer = client.post("/settings", json={"service_level": 50})
    assert answer.status_code == 415 and "from the settings page" in answer.text
    assert saved(dashboard) == (0, 0)
