"""The manager pages on a phone (390 px wide, in Chromium): a compact bar leaves the screen to
the figures, the figure tiles sit two abreast, no page scrolls sideways, and wide tables keep
their key column in view; screenshots are kept."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from dashboard.store import writes
from dashboard.web.app import create_app
from tests.support.dashboard_support import Customer, log_in, manager_store
from tests.support.live_dashboard import Serve

pytestmark = pytest.mark.integration
WIDTH, HEIGHT = 390, 844


@pytest.fixture
def phone(serve: Serve, browser: Browser, tmp_path: Path) -> Iterator[tuple[Page, str]]:
    """A manager logged in on a phone-sized page, over a store with a day of customers."""
    settings, engine = manager_store(tmp_path)
    now = time.time()
    with engine.begin() as connection:
        events = []
        for i in range(12):
            customer = Customer(now - 3600 + i * 120, track_id=i)
            events += [customer.cue(), customer.enter(1.5), customer.ack(2.0 + i % 5)]
        writes.store_events(connection, [writes.Received(e, now) for e in events])
    with serve(create_app(settings, engine, ingest=False)) as base:
        context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, is_mobile=True)
        page = context.new_page()
        log_in(page, base)
        yield page, base
        context.close()
    engine.dispose()


@pytest.mark.parametrize("path", ["/", "/acks", "/events", "/devices"])
def test_a_manager_page_fits_a_phone(phone: tuple[Page, str], screenshots: Path, path: str) -> None:
    page, base = phone
    page.goto(f"{base}{path}")
    bar = page.locator("header.topbar").bounding_box()
    assert bar is not None and bar["height"] <= 0.15 * HEIGHT, bar
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, f"{path} scrolls sideways ({width} px)"
    name = path.strip("/") or "overview"
    page.screenshot(path=screenshots / f"phone-{name}.png", full_page=True)


def test_figures_sit_two_abreast_and_tables_keep_their_key_column(
    phone: tuple[Page, str],
) -> None:
    page, base = phone
    page.goto(f"{base}/acks")
    tiles = page.locator(".tiles .tile")
    first, second = tiles.nth(0).bounding_box(), tiles.nth(1).bounding_box()
    assert first is not None and second is not None
    assert abs(first["y"] - second["y"]) < 2 and second["x"] > first["x"], (first, second)
    page.goto(f"{base}/events")
    table = page.locator(".tablewrap").first
    table.evaluate("(wrap) => { wrap.scrollLeft = wrap.scrollWidth; }")
    key = page.locator(".tablewrap tbody tr td:first-child").first.bounding_box()
    assert key is not None and key["x"] >= 0 and key["x"] < 40, key  # still in view
