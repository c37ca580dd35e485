"""The Acknowledgement page's PDF button in Chromium: a manager who narrowed the page to a
site and a day downloads that report, one page, with that site's figures only."""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path

from playwright.sync_api import Browser

from dashboard.store import writes
from dashboard.web.app import create_app
from tests.support.dashboard_support import Customer, log_in, manager_store
from tests.support.live_dashboard import Serve
from tests.support.pdf_pages import read_pdf


def test_the_pdf_button_downloads_the_report_of_the_pages_filters(
    serve: Serve, browser: Browser, tmp_path: Path
) -> None:
    settings, engine = manager_store(tmp_path, sites={"store-2": {"title": "Station Road"}})
    now = time.time()
    with engine.begin() as connection:
        events = []
        for i, site in enumerate(["store-1", "store-2", "store-2"]):
            customer = Customer(now - 600 + i * 60, site=site, track_id=i)
            events += [customer.cue(), customer.ack(3.0 + i)]
        writes.store_events(connection, [writes.Received(e, now) for e in events])
    today = datetime.now(settings.zone_of("store-2")).date().isoformat()
    with serve(create_app(settings, engine, ingest=False)) as base:
        page = browser.new_context(accept_downloads=True).new_page()
        log_in(page, base)
        page.goto(f"{base}/acks?site=store-2&start={today}&end={today}")
        with page.expect_download() as download:
            page.click("#report-pdf")
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
    assert saved.name == f"greetcue-acknowledgement-store-2-{today}-{today}.pdf"
    pages, text, _ = read_pdf(saved.read_bytes())
    assert pages == 1
    assert "Station Road" in text and "Typical wait" in text
    row = re.search(r"Customers\s+(\S+)\s+\S+\s+cued as they approached", text)
    assert row is not None and row.group(1) == "2"  # store-2's two, not store-1's
    engine.dispose()
