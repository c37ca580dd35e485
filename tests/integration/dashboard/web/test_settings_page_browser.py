"""The Settings page in Chromium, on a desktop and on a 390-px phone: a manager changes a
daypart's goal and the target and sees them saved and logged; a wrong entry comes back with
what to fix. Screenshots are kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from dashboard.web.app import create_app
from tests.support.dashboard_support import log_in, manager_store
from tests.support.live_dashboard import Serve

pytestmark = pytest.mark.integration
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


@pytest.fixture
def base(serve: Serve, tmp_path: Path) -> Iterator[str]:
    settings, engine = manager_store(tmp_path)
    with serve(create_app(settings, engine, ingest=False)) as url:
        yield url
    engine.dispose()


def settings_page(browser: Browser, base: str, viewport: ViewportSize) -> Page:
    page = browser.new_context(viewport=viewport, is_mobile=viewport == PHONE).new_page()
    log_in(page, base, "/settings")
    return page


def test_a_manager_changes_the_goals_and_sees_them_logged(
    browser: Browser, base: str, screenshots: Path
) -> None:
    page = settings_page(browser, base, DESKTOP)
    expect(page.locator("#source")).to_contain_text("configuration file")
    page.screenshot(path=screenshots / "settings-desktop.png", full_page=True)
    page.fill("#service_level", "85")
    page.fill('[aria-label="Daypart 2 goal in seconds"]', "6")
    page.fill('[aria-label="Daypart 5 name"]', "late")  # a new daypart: the evening split
    page.select_option('[aria-label="Daypart 4 end"]', "22:00")
    page.select_option('[aria-label="Daypart 5 start"]', "22:00")
    page.select_option('[aria-label="Daypart 5 end"]', "00:00")
    page.fill('[aria-label="Daypart 5 goal in seconds"]', "12")
    page.click("#save")
    expect(page.locator("#saved")).to_have_text("Saved. Every page uses these goals now.")
    expect(page.locator("#source")).to_contain_text("saved by manager")
    expect(page.locator('[aria-label="Daypart 2 goal in seconds"]')).to_have_value("6")
    expect(page.locator("#changes tbody tr").first).to_contain_text(
        "target 80 % → 85 %; daypart lunch: 11:00 to 14:00, goal 8 s → 11:00 to 14:00, goal 6 s;"
        " daypart evening: 17:00 to midnight, goal 10 s → 17:00 to 22:00, goal 10 s;"
        " daypart late added (22:00 to midnight, goal 12 s)"
    )
    page.screenshot(path=screenshots / "settings-saved-desktop.png", full_page=True)
    page.click("#all-changes")
    expect(page.locator("#changes tbody tr")).to_have_count(1)
    expect(page.locator("#changes tbody tr td").nth(1)).to_have_text("manager")
    page.goto(f"{base}/acks")
    expect(page.locator("main")).to_contain_text("target: 85 % of customers within the goal")
    page.context.close()


def test_the_settings_page_fits_a_phone_and_says_what_to_fix(
    browser: Browser, base: str, screenshots: Path
) -> None:
    page = settings_page(browser, base, PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    goal = page.locator('[aria-label="Daypart 1 goal in seconds"]').bounding_box()
    table = page.locator(".settings .tablewrap").bounding_box()
    assert goal and table and goal["x"] + goal["width"] <= table["x"] + table["width"], goal
    page.screenshot(path=screenshots / "settings-phone.png", full_page=True)
    page.fill("#service_level", "eighty")
    page.select_option('[aria-label="Daypart 1 end"]', "10:00")
    page.click("#save")
    problems = page.locator("#problems li")
    expect(problems).to_have_text([
        "Target: enter the share of customers to answer in time, as a percentage from 1 to 100"
        " (e.g. 80), not 'eighty'.",
        "10:00 is in no daypart; make the parts cover the day once (end of one = start of the"
        " next).",
    ])  # fmt: skip
    expect(page.locator("#service_level")).to_have_value("eighty")  # as the manager left it
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=screenshots / "settings-refused-phone.png", full_page=True)
    page.context.close()
