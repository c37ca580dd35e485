"""The Overview's today figures and its waiting-now board follow the store live, in Chromium:
a cue arriving puts a customer on the board with a ticking timer; its acknowledgement takes
them off and moves today's figures."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from dashboard.live import Update
from dashboard.store import writes
from dashboard.web.app import create_app
from edge.contract import Event
from tests.support.dashboard_support import Customer, log_in, manager_store
from tests.support.live_dashboard import Serve

pytestmark = pytest.mark.integration
WAIT_MS = 10_000


def test_a_cue_and_its_ack_move_the_board_and_todays_figures(
    serve: Serve, browser: Browser, screenshots: Path, tmp_path: Path
) -> None:
    settings, engine = manager_store(tmp_path)
    app = create_app(settings, engine, ingest=False)

    def arrive(event: Event) -> None:  # as the ingest does: store, then tell open pages
        with engine.begin() as connection:
            writes.store_events(connection, [writes.Received(event, time.time())])
        app.state.hub.post(Update("event", event.model_dump(mode="json")))

    with serve(app) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        log_in(page, base)
        expect(page.locator("#live")).to_contain_text("Live", timeout=WAIT_MS)
        expect(page.locator("#waiting-count")).to_have_text("0")

        customer = Customer(time.time() - 5)
        arrive(customer.cue())
        expect(page.locator("#waiting-count")).to_have_text("1", timeout=WAIT_MS)
        board = page.locator("#waiting-now li").first
        expect(board).to_contain_text("Coming · store-1 / counter-1")
        first = page.locator("#waiting-now .elapsed").first.inner_text()
        expect(page.locator("#waiting-now .elapsed").first).not_to_have_text(first, timeout=WAIT_MS)
        page.screenshot(path=screenshots / "overview-waiting-now.png", full_page=True)

        arrive(customer.ack(3.0))
        expect(page.locator("#waiting-count")).to_have_text("0", timeout=WAIT_MS)
        expect(page.locator('[data-today="customers"]')).to_have_text("1")
        expect(page.locator('[data-today="p50_s"]')).to_have_text("3.0 s")
        page.close()
    engine.dispose()
