"""Who may see what: every route in the app's table refuses a request without credentials,
a staff link reaches only its own device's page (a device is its site and name), forms need
their CSRF token, and logins are rate-limited."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from dashboard import auth
from tests.support.dashboard_support import MANAGER, Dashboard

# /trust: how phones trust the store's certificate authority, and its certificate (public by nature)
PUBLIC = {"/login", "/healthz", "/metrics", "/staff/sw.js", "/trust", "/trust/greetcue-ca.crt"}


def concrete(path: str) -> str:
    return re.sub(r"{[^}]+}", "someone", path)


def flatten(table: list[Any]) -> Iterator[APIRoute | Route]:
    """Every route, including those of included routers (FastAPI wraps those)."""
    for route in table:
        if isinstance(route, Mount):
            continue
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from flatten(inner.routes)
            continue
        assert isinstance(route, APIRoute | Route), route
        yield route


def routes(dashboard: Dashboard) -> list[tuple[str, str]]:
    app = dashboard.client.app
    return [
        (method, route.path)
        for route in flatten(app.routes)  # type: ignore[attr-defined]
        for method in sorted(route.methods or [])
        if method != "HEAD"
    ]


def test_no_manager_page_or_api_answers_without_credentials(dashboard: Dashboard) -> None:
    walked = 0
    for method, path in routes(dashboard):
        if path in PUBLIC:
            continue
        answer = dashboard.client.request(method, concrete(path), follow_redirects=False)
        if path.startswith("/staff/"):
            assert answer.status_code == 403, (method, path, answer.status_code)
        elif answer.status_code == 303:
            assert answer.headers["location"].startswith("/login"), (method, path)
        else:
            assert answer.status_code == 401, (method, path, answer.status_code, answer.text)
        walked += 1
    assert walked >= 20  # the table really was walked: pages, API, docs, staff routes


def test_the_same_routes_answer_with_a_session_or_a_token(dashboard: Dashboard) -> None:
    for path in ("/api/acks", "/api/overview", "/api/events", "/openapi.json"):
        assert dashboard.client.get(path, headers=dashboard.bearer()).status_code == 200
    client = dashboard.login()
    for path in ("/", "/acks", "/events", "/devices", "/docs", "/api/acks"):
        assert client.get(path).status_code == 200, path


def test_a_wrong_or_revoked_api_token_is_refused(dashboard: Dashboard) -> None:
    wrong = {"Authorization": "Bearer not-a-token"}
    assert dashboard.client.get("/api/acks", headers=wrong).status_code == 401
    with dashboard.engine.begin() as connection:
        auth.revoke(connection, "api", "tests")
    assert dashboard.client.get("/api/acks", headers=dashboard.bearer()).status_code == 401


def staff_key(dashboard: Dashboard, device: str, site: str = "store-1") -> str:
    with dashboard.engine.begin() as connection:
        return auth.issue_token(connection, "staff", device, site)


def test_a_staff_link_reaches_only_its_own_devices_page(dashboard: Dashboard) -> None:
    key = staff_key(dashboard, "wearable-1")
    client = dashboard.client
    opened = client.get(f"/staff/wearable-1?key={key}", follow_redirects=False)
    assert opened.status_code == 303 and "key=" not in opened.headers["location"]
    assert client.get("/staff/wearable-1").status_code == 200  # the cookie carries the key
    for path in ("/staff/phone-2", "/staff/phone-2/manifest.webmanifest"):
        assert client.get(f"{path}?key={key}").status_code == 403, path
    answer = client.post(
        f"/staff/phone-2/ack?key={key}",
        json={"cue_id": "0" * 32},
        headers={"X-Requested-With": "greetcue"},
    )
    assert answer.status_code == 403
    for path in ("/", "/acks", "/api/acks", "/api/events"):
        answer = client.get(f"{path}?key={key}", follow_redirects=False)
        assert answer.status_code in (303, 401), path


def test_a_revoked_or_replaced_staff_link_stops_working(dashboard: Dashboard) -> None:
    old = staff_key(dashboard, "wearable-1")
    new = staff_key(dashboard, "wearable-1")  # a new link revokes the old one
    assert (
        dashboard.client.get(f"/staff/wearable-1/manifest.webmanifest?key={old}").status_code == 403
    )
    assert (
        dashboard.client.get(f"/staff/wearable-1/manifest.webmanifest?key={new}").status_code == 200
    )
    with dashboard.engine.begin() as connection:
        auth.revoke(connection, "staff", "wearable-1", "store-1")
    answer = dashboard.client.get(f"/staff/wearable-1?key={new}")
    assert answer.status_code == 403 and "revoked" in answer.text


def test_forms_and_session_writes_need_the_csrf_token(dashboard: Dashboard) -> None:
    client = dashboard.client
    answer = client.post("/login", data={"username": MANAGER[0], "password": MANAGER[1]})
    assert answer.status_code == 403  # no token: a cross-site login form
    client = dashboard.login()
    made = client.post("/api/staff-links", json={"device": "w-1", "site": "store-1"})
    assert made.status_code == 403
    csrf = client.get("/devices").text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    made = client.post(
        "/api/staff-links",
        json={"device": "w-1", "site": "store-1"},
        headers={"X-CSRF-Token": csrf},
    )
    assert made.status_code == 200 and "/staff/w-1?key=" in made.json()["url"]
    assert client.post("/logout", data={"csrf": "wrong"}).status_code == 403
    assert client.post("/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert client.get("/acks", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("attempts", [5])
def test_logins_are_rate_limited_after_repeated_failures(
    dashboard: Dashboard, attempts: int
) -> None:
    client = dashboard.client
    csrf = client.get("/login").text.split('name="csrf" value="', 1)[1].split('"', 1)[0]

    def login(password: str) -> int:
        form = {"username": MANAGER[0], "password": password, "csrf": csrf}
        return client.post("/login", data=form, follow_redirects=False).status_code

    assert [login("wrong password") for _ in range(attempts)] == [401] * attempts
    assert login(MANAGER[1]) == 429  # even the right password waits out the window


def test_a_device_is_its_site_and_name_for_links(dashboard: Dashboard) -> None:
    one = staff_key(dashboard, "counter", "store-1")
    two = staff_key(dashboard, "counter", "store-2")  # used to revoke store 1's link
    client = dashboard.client
    for key in (one, two):
        assert client.get(f"/staff/counter/manifest.webmanifest?key={key}").status_code == 200
    links = dashboard.api("/api/staff-links")
    assert sorted((link["site"], link["device"]) for link in links) == [
        ("store-1", "counter"),
        ("store-2", "counter"),
    ]
    gone = client.delete("/api/staff-links/store-2/counter", headers=dashboard.bearer())
    assert gone.json() == {"revoked": 1}
    assert client.get(f"/staff/counter/manifest.webmanifest?key={two}").status_code == 403
    answer = client.get(f"/staff/counter/manifest.webmanifest?key={one}")
    assert answer.status_code == 200 and "store-1" in answer.json()["name"]


def test_the_devices_page_shows_and_revokes_by_site(dashboard: Dashboard) -> None:
    staff_key(dashboard, "counter", "store-1")
    staff_key(dashboard, "counter", "store-2")
    client = dashboard.login()
    page = client.get("/devices").text
    assert 'data-device="counter" data-site="store-1"' in page
    assert 'data-device="counter" data-site="store-2"' in page
    assert "<script>" not in page  # the copy button's code is a static file (CSP)
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    client.post("/devices/store-1/counter/revoke", data={"csrf": csrf})
    assert [(x["site"], x["device"]) for x in dashboard.api("/api/staff-links")] == [
        ("store-2", "counter")
    ]
