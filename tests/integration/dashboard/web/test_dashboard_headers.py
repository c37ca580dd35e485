"""Security headers on every answer, and pages that satisfy them: in a real Chromium every page
(login, overview, acknowledgement, event log, devices, API docs, staff page) loads with no
Content-Security-Policy violation nor console error, and still works."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect

from dashboard import auth
from dashboard.settings import DashboardConfig, Listen
from dashboard.store import writes
from dashboard.web.app import create_app
from dashboard.web.headers import HEADERS
from tests.support.dashboard_support import MANAGER, Customer, Dashboard, migrated_engine
from tests.support.live_dashboard import Serve

WAIT_MS = 15_000  # guards a hung page only
VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline"));
});
"""


def test_every_answer_carries_the_security_headers(dashboard: Dashboard) -> None:
    client = dashboard.client
    answers = [
        client.get("/login"),
        client.get("/", follow_redirects=False),  # the redirect to the login
        client.get("/static/app.css"),
        client.get("/healthz"),
        client.get("/no-such-page"),
        client.get("/api/overview", headers=dashboard.bearer()),
        client.get("/api/events", params={"end": "9999-12-31"}, headers=dashboard.bearer()),
    ]
    for answer in answers:
        for name, value in HEADERS.items():
            assert answer.headers.get(name) == value, (answer.request.url, name)
        assert "strict-transport-security" not in answer.headers  # plain HTTP
    policy = HEADERS["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "unsafe" not in policy
    assert "frame-ancestors 'none'" in policy and HEADERS["X-Frame-Options"] == "DENY"


def test_strict_transport_security_only_over_https(tmp_path: Path) -> None:
    for hsts_s, expected in [(31_536_000, "max-age=31536000"), (0, None)]:
        settings = DashboardConfig(state_dir=tmp_path, listen=Listen(hsts_s=hsts_s))
        app = create_app(settings, migrated_engine(settings), ingest=False)
        with TestClient(app, base_url="https://testserver") as tls:
            assert tls.get("/login").headers.get("strict-transport-security") == expected
        with TestClient(app) as plain:
            assert "strict-transport-security" not in plain.get("/login").headers


@dataclass
class Site:
    """A dashboard on a real uvicorn with two stores' cameras and acknowledged customers."""

    base: str
    staff_url: str


@pytest.fixture
def site(serve: Serve, tmp_path: Path) -> Iterator[Site]:
    settings = DashboardConfig(state_dir=tmp_path)
    engine = migrated_engine(settings)
    now = time.time()
    with engine.begin() as connection:
        auth.add_user(connection, *MANAGER)
        key = auth.issue_token(connection, "staff", "wearable-1", "store-1")
        events = []
        for i, store in enumerate(("store-1", "store-2") * 10):
            writes.store_availability(
                connection, writes.Availability(store, "counter-1", True, now)
            )
            customer = Customer(now - 3600 + i * 60, site=store, track_id=i)
            events += [customer.cue(), customer.enter(2.0), customer.ack(1.0 + i % 7)]
        writes.store_events(connection, [writes.Received(e, now) for e in events])
    with serve(create_app(settings, engine, ingest=False)) as base:
        yield Site(base, auth.staff_link(base, "wearable-1", key))
    engine.dispose()


class Watched:
    """Pages of one browser context whose CSP violations and console errors are collected."""

    def __init__(self, context: BrowserContext) -> None:
        self.context = context
        self.errors: list[str] = []
        context.add_init_script(VIOLATIONS)

    def page(self) -> Page:
        page = self.context.new_page()

        def console(message: ConsoleMessage) -> None:
            if message.type in ("error", "warning"):
                self.errors.append(f"{page.url}: {message.text}")

        page.on("console", console)
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))
        return page

    def check(self, page: Page) -> None:
        """No violation on this page so far, and no console error anywhere."""
        violations = page.evaluate("window.__violations")
        assert violations == [], f"{page.url}: {violations}"
        assert self.errors == []


def test_every_page_loads_without_a_csp_violation_and_works(site: Site, browser: Browser) -> None:
    manager = Watched(browser.new_context(viewport={"width": 1280, "height": 900}))
    page = manager.page()
    page.goto(f"{site.base}/login?next=/acks")
    manager.check(page)
    page.fill("#username", MANAGER[0])
    page.fill("#password", MANAGER[1])
    page.click("#login")
    page.wait_for_url(f"{site.base}/acks")
    expect(page.locator("#histogram canvas").first).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#trend canvas").first).to_be_visible(timeout=WAIT_MS)
    page.click("#trend-day")
    expect(page.locator("#trend-day")).to_have_attribute("aria-pressed", "true")
    manager.check(page)

    page.goto(f"{site.base}/events")
    first_time = page.locator("#events time").first
    expect(first_time).to_have_text(re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"))
    page.select_option("#f-site", "store-2")
    page.click("#filters button[type=submit]")
    page.wait_for_url(re.compile(r"site=store-2"))
    sites = page.locator("#events tr[data-event-id] td:nth-child(3)").all_inner_texts()
    assert sites and set(sites) == {"store-2"}
    manager.check(page)

    page.goto(f"{site.base}/")
    expect(page.locator("#live")).to_have_text("Live", timeout=WAIT_MS)
    expect(page.locator(".camera")).to_have_count(2)
    manager.check(page)

    for path, shown in [
        ("/devices", "#make"),
        ("/settings", "#goals"),
        ("/docs", "section.api-op"),
    ]:
        page.goto(f"{site.base}{path}")
        expect(page.locator(shown).first).to_be_visible()
        manager.check(page)

    staff = Watched(browser.new_context(viewport={"width": 390, "height": 740}, is_mobile=True))
    phone = staff.page()
    phone.goto(site.staff_url)
    expect(phone.locator("#connection")).to_contain_text("onnected", timeout=WAIT_MS)
    staff.check(phone)
