"""A real headless Chromium (Debian's) driven by Playwright, and a folder for screenshots.

Load it with ``pytest_plugins = ["tests.support.browser_fixture"]``. Playwright's
own browser download is not used: the browser is the system's ``chromium``. Playwright's sync
API cannot run inside an asyncio loop, so these fixtures are for plain (non-async) tests.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.support.paths import REPO

SCREENSHOTS = REPO / "out" / "test-artifacts" / "screenshots"
DEBIAN_CHROMIUM = Path("/usr/bin/chromium")
FIX = "install it with `apt-get install chromium` or run `deploy/quickstart.sh setup`"
CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests run as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # no traffic to anything but the pages under test
    "--disable-component-update",
    "--disable-sync",
]


def find_chromium() -> str:
    """Debian's Chromium; fails with the fix when it is not installed."""
    if DEBIAN_CHROMIUM.is_file():
        return str(DEBIAN_CHROMIUM)
    found = shutil.which("chromium")
    if found is None:
        pytest.fail(f"Chromium not found ({DEBIAN_CHROMIUM} nor on PATH): {FIX}", pytrace=False)
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """A headless Chromium for one test module; open pages with ``browser.new_page()``.
    Per module, not per session: Playwright's sync API keeps an event loop running in the
    test thread while it is started, where a later test's ``asyncio.run`` would refuse."""
    executable = find_chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """``out/test-artifacts/screenshots/`` under the repo (made), where tests save pages."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
