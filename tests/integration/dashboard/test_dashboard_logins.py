"""Logins: tries are reserved before the password check (so concurrency cannot slip past the
limit), lockout is per user and address with back-off, and sessions are revocable: logout,
log out everywhere, a new password and a removed user end them, copies of the cookie too."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dashboard import auth
from dashboard.logins import LoginGuard
from edge.cli.bench_logins import login_form, try_login
from tests.support.dashboard_support import MANAGER, Dashboard, run_async
from tests.support.live_dashboard import Serve


def post_login(client: TestClient, password: str) -> int:
    csrf = login_form(client.get("/login").text)
    form = {"username": MANAGER[0], "password": password, "csrf": csrf}
    return client.post("/login", data=form, follow_redirects=False).status_code


def test_concurrent_tries_from_one_address_get_at_most_the_limit_of_checks(
    dashboard: Dashboard, serve: Serve
) -> None:
    app: FastAPI = dashboard.client.app  # type: ignore[assignment]
    guard: LoginGuard = app.state.logins

    async def burst(base: str) -> list[int]:  # 60 browsers (sessions) on one address
        clients = [httpx.AsyncClient(base_url=base, timeout=60) for _ in range(60)]
        answers = await asyncio.gather(*(try_login(c, "wrong password") for c in clients))
        for client in clients:
            await client.aclose()
        return answers

    with serve(app) as base:
        answers = Counter(run_async(burst(base)))
    limit = dashboard.settings.security.login_attempts
    assert guard.checks <= limit, guard.checks  # was 44 of 60 before tries were reserved
    assert answers[401] == guard.checks and answers[429] == 60 - guard.checks, answers


def test_a_stranger_cannot_lock_the_manager_out(dashboard: Dashboard) -> None:
    app = dashboard.client.app
    stranger = TestClient(app, client=("10.9.9.9", 5000))
    for _ in range(dashboard.settings.security.login_attempts):
        assert post_login(stranger, "wrong password") == 401
    assert post_login(stranger, MANAGER[1]) == 429  # that address is limited
    manager = TestClient(app, client=("10.0.0.7", 5000))
    assert post_login(manager, MANAGER[1]) == 303  # the manager, elsewhere, is not


def wrong_password() -> str | None:
    return None


def test_failures_of_one_user_from_one_address_back_off_exponentially() -> None:
    guard = LoginGuard(attempts=2, window_s=10, backoff_max_s=25, threads=1, queue=0)

    async def fail() -> None:
        ticket = guard.reserve("10.0.0.1", "manager")
        guard._tries.clear()  # leave the per-address limit out of this test
        assert await guard.check(ticket, wrong_password) is None

    waits = []
    for _ in range(4):
        run_async(fail())
        pair = guard._pairs[("manager", "10.0.0.1")]
        waits.append(round(max(pair.until - time.monotonic(), 0.0)))
        pair.until = 0.0  # as if the wait were over
    assert waits == [0, 10, 20, 25]


def test_logout_ends_the_session_and_its_copied_cookie(dashboard: Dashboard) -> None:
    client = dashboard.login()
    copied = dict(client.cookies)
    csrf = login_form(client.get("/login").text)
    assert client.post("/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    thief = TestClient(dashboard.client.app, cookies=copied)
    assert thief.get("/api/acks").status_code == 401


def test_log_out_everywhere_a_new_password_and_removal_end_sessions(
    dashboard: Dashboard,
) -> None:
    app = dashboard.client.app

    def logged_in() -> TestClient:
        client = TestClient(app, client=("10.1.0.1", 1))
        assert post_login(client, MANAGER[1]) == 303
        assert client.get("/api/acks").status_code == 200
        return client

    first, second = logged_in(), logged_in()
    page = second.get("/devices").text
    assert 'action="/logout/everywhere"' in page
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    second.post("/logout/everywhere", data={"csrf": csrf})
    assert first.get("/api/acks").status_code == 401
    assert second.get("/api/acks").status_code == 401

    first = logged_in()
    with dashboard.engine.begin() as connection:
        assert auth.set_password(connection, MANAGER[0], "another long password") == 1
    assert first.get("/api/acks").status_code == 401

    with dashboard.engine.begin() as connection:
        auth.set_password(connection, MANAGER[0], MANAGER[1])
    first = logged_in()
    with dashboard.engine.begin() as connection:
        auth.remove_user(connection, MANAGER[0])
        assert auth.list_users(connection) == []
    assert first.get("/api/acks").status_code == 401
