"""The Overview's cameras in Chromium, one line each: where it is, online or offline for how
long in plain words, frames per second, when it last reported and a warning word when
something is wrong; on a desktop and on a 390-px phone, kept live."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, ViewportSize, expect
from sqlalchemy import Engine

from dashboard.live import Update
from dashboard.web.app import create_app
from tests.support.dashboard_support import Camera, log_in, manager_store
from tests.support.live_dashboard import Serve

pytestmark = pytest.mark.integration
WAIT_MS = 10_000
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


@dataclass
class Store:
    """Three cameras: one well, one offline for 12 minutes, one slow and behind."""

    app: FastAPI
    engine: Engine
    base: str
    well: Camera


@pytest.fixture
def store(serve: Serve, tmp_path: Path) -> Iterator[Store]:
    settings, engine = manager_store(tmp_path)
    now = time.time()
    well = Camera("store-1", "counter-1", changed_s=now - 2 * 3600 - 300, seen_s=now)
    for camera in (
        well,
        Camera("store-1", "door", online=False, changed_s=now - 12 * 60 - 5, seen_s=now - 800),
        Camera("store-2", "counter-1", changed_s=now - 90, seen_s=now, fps=3.1, outbox_depth=250),
    ):
        camera.store(engine)
    app = create_app(settings, engine, ingest=False)
    with serve(app) as base:
        yield Store(app, engine, base, well)
    engine.dispose()


def opened(browser: Browser, store: Store, viewport: ViewportSize) -> Page:
    page = browser.new_context(viewport=viewport, is_mobile=viewport == PHONE).new_page()
    log_in(page, store.base)
    return page


def line(page: Page, site: str, camera: str) -> str:
    return f'#cameras .camera[data-site="{site}"][data-camera="{camera}"]'


def test_each_camera_is_one_line_that_says_how_it_is(
    store: Store, browser: Browser, screenshots: Path
) -> None:
    page = opened(browser, store, DESKTOP)
    assert page.locator("#cameras .camera").count() == 3
    well, door = line(page, "store-1", "counter-1"), line(page, "store-1", "door")
    slow = line(page, "store-2", "counter-1")
    expect(page.locator(f"{well} .badge")).to_have_text("Online for 2 h 5 min")
    expect(page.locator(f"{door} .badge")).to_have_text("Offline for 12 min")
    expect(page.locator(f"{well} .fps")).to_have_text("14.8 fps")
    expect(page.locator(f"{well} .people [data-zone]")).to_have_text(["10ft 2", "5ft 1", "3ft 0"])
    expect(page.locator(f"{well} .warn")).to_have_count(0)
    expect(page.locator(f"{slow} .warn")).to_have_text(["slow", "behind"])
    assert "3.1 frames a second" in str(page.locator(f"{slow} .warn").first.get_attribute("title"))
    expect(page.locator(f"{door} .seen")).to_contain_text("seen 12 min ago")  # going offline
    for selector in (well, door, slow):  # everything of a camera on one row of the page
        middles = page.locator(f"{selector} > *").evaluate_all(
            "(els) => els.filter((e) => e.offsetHeight).map((e) => {"
            " const box = e.getBoundingClientRect(); return (box.top + box.bottom) / 2; })"
        )
        assert max(middles) - min(middles) < 6, (selector, middles)
    page.screenshot(path=screenshots / "overview-cameras-desktop.png", full_page=True)
    page.context.close()


def test_camera_lines_fit_a_phone(store: Store, browser: Browser, screenshots: Path) -> None:
    page = opened(browser, store, PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for camera in page.locator("#cameras .camera").all():
        name, badge = (
            camera.locator(".name").bounding_box(),
            camera.locator(".badge").bounding_box(),
        )
        assert name and badge and abs(name["y"] - badge["y"]) < 12, (name, badge)  # a row
        box = camera.bounding_box()
        assert box and box["height"] < 90, box  # two short rows, not a card
    page.locator("#cameras").screenshot(path=screenshots / "overview-cameras-phone.png")
    page.screenshot(path=screenshots / "overview-cameras-phone-page.png", full_page=True)
    page.context.close()


def test_camera_lines_follow_the_cameras_live(store: Store, browser: Browser) -> None:
    page = opened(browser, store, DESKTOP)
    expect(page.locator("#live")).to_contain_text("Live", timeout=WAIT_MS)
    well = line(page, "store-1", "counter-1")
    store.app.state.hub.post(Update("camera", {"site": "store-1", "camera": "counter-1",
                                              "online": False}))  # fmt: skip
    expect(page.locator(well)).to_have_attribute("data-online", "false", timeout=WAIT_MS)
    expect(page.locator(f"{well} .badge")).to_contain_text("Offline for ")
    zone = {"site": "store-1", "camera": "counter-1", "zone": "10ft", "radius_ft": 10.0,
            "count": 4, "nearest_ft": 7.5, "updated_at": "2026-01-01T00:00:00Z"}  # fmt: skip
    store.app.state.hub.post(Update("zone", zone))
    expect(page.locator(f'{well} [data-zone="10ft"] .count')).to_have_text("4", timeout=WAIT_MS)

    now = time.time()  # back, but slow: the line reads its figures and warnings again
    replace(store.well, changed_s=now, seen_s=now, fps=2.0).store(store.engine)
    store.app.state.hub.post(Update("camera", {"site": "store-1", "camera": "counter-1",
                                              "online": True}))  # fmt: skip
    expect(page.locator(f"{well} .warn")).to_have_text(["slow"], timeout=WAIT_MS)
    expect(page.locator(f"{well} .fps")).to_have_text("2.0 fps")
    expect(page.locator(f"{well} .badge")).to_contain_text("Online for ")
    page.context.close()
