"""The staff page at a busy counter, in a real Chromium on a phone-sized screen: the customer
waiting longest is shown first with the time since their cue, in staff words (no camera or zone
names); a burst of cues flashes the screen once, not a strobe; a customer handled by a colleague
never has its notice drawn over another live cue."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, ViewportSize, expect

from dashboard import auth
from dashboard.settings import DashboardConfig
from dashboard.web.app import create_app
from edge.contract import CueReason
from tests.support.cue_commands import cue_command
from tests.support.dashboard_support import migrated_engine
from tests.support.live_dashboard import Serve

WAIT_MS = 10_000
PHONE: ViewportSize = {"width": 390, "height": 844}
SITE, DEVICE = "store-1", "wearable-1"
# Counts every time the page starts its full-screen flash.
FLASHES = """
window.__flashes = 0;
new MutationObserver((records) => {
  for (const r of records) {
    const was = (r.oldValue || "").split(" ").includes("flash");
    if (r.target === document.body && !was && document.body.classList.contains("flash")) {
      window.__flashes += 1;
    }
  }
}).observe(document, {
  subtree: true, attributes: true, attributeOldValue: true, attributeFilter: ["class"] });
"""


@dataclass
class Counter:
    """A served dashboard with no ingest: cues go straight into its live hub."""

    app: FastAPI
    staff_url: str

    def cue(self, age_s: float, zone: str = "10ft", reason: CueReason = "zone") -> str:
        """Send the device a cue issued ``age_s`` ago; its id."""
        command = cue_command(SITE, DEVICE, zone, reason, age_s=age_s)
        self.app.state.hub.cue(command)
        return str(command.cue_id)

    def resolve(self, cue_id: str) -> None:
        self.app.state.hub.resolved(SITE, cue_id, "acked")


@pytest.fixture
def counter(serve: Serve, tmp_path: Path) -> Iterator[Counter]:
    settings = DashboardConfig(state_dir=tmp_path)
    engine = migrated_engine(settings)
    with engine.begin() as connection:
        key = auth.issue_token(connection, "staff", DEVICE, SITE)
    app = create_app(settings, engine, ingest=False)
    with serve(app) as base:
        yield Counter(app, auth.staff_link(base, DEVICE, key))
    engine.dispose()


def open_staff_page(browser: Browser, url: str) -> Page:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.add_init_script(FLASHES)
    page = context.new_page()
    page.goto(url)
    expect(page.locator("#connection")).to_contain_text("Connected", timeout=WAIT_MS)
    return page


def test_the_longest_waiting_customer_comes_first_in_staff_words(
    counter: Counter, browser: Browser, screenshots: Path
) -> None:
    page = open_staff_page(browser, counter.staff_url)
    oldest = counter.cue(age_s=40)
    counter.cue(age_s=20, zone="3ft", reason="waiting")
    counter.cue(age_s=5)
    expect(page.locator("#cue-more")).to_have_text("+2 more customers waiting", timeout=WAIT_MS)
    expect(page.locator("#cue-text")).to_have_text("Customer coming — look up")
    expect(page.locator("#cue-age")).to_have_text(re.compile(r"^(4\d) s ago$"))
    shown = page.locator("main").inner_text()
    assert "view001" not in shown and "10ft" not in shown and "Camera" not in shown, shown
    expect(page.locator("body")).not_to_have_class("flash", timeout=WAIT_MS)
    page.screenshot(path=screenshots / "staff-busy-counter.png")

    first = page.locator("#cue-age").inner_text()  # the time since the cue moves on by itself
    expect(page.locator("#cue-age")).not_to_have_text(first, timeout=WAIT_MS)

    counter.resolve(oldest)  # a colleague took the first customer: the next longest is shown
    expect(page.locator("#cue-text")).to_have_text(
        "Customer waiting at the counter", timeout=WAIT_MS
    )
    expect(page.locator("#cue-more")).to_have_text("+1 more customer waiting")
    expect(page.locator("#notice")).to_have_text("")  # nothing drawn over the live cue
    page.context.close()


def test_a_burst_of_cues_flashes_once(counter: Counter, browser: Browser) -> None:
    page = open_staff_page(browser, counter.staff_url)
    for age in (3.0, 2.0, 1.0):
        counter.cue(age_s=age)
    expect(page.locator("#cue-more")).to_have_text("+2 more customers waiting", timeout=WAIT_MS)
    expect(page.locator("body")).not_to_have_class("flash", timeout=WAIT_MS)
    assert page.evaluate("window.__flashes") == 1
    page.context.close()
