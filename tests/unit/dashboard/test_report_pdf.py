"""The Acknowledgement report as a one-page PDF at /acks.pdf: the page's filters, the same
figures as the page in plain words, a page that renders (to PNG, kept for a person to look
at), and managers only."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from dashboard import auth
from tests.support.dashboard_support import Customer, Dashboard
from tests.support.paths import REPO
from tests.support.pdf_pages import read_pdf

DAY, PREVIOUS_DAY = "2026-11-20", "2026-11-19"
NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC).timestamp()
A4_RATIO = 297 / 210
PAGES = REPO / "out" / "test-artifacts" / "screenshots"


def store_day(dashboard: Dashboard, start_s: float, latencies: list[float], left: int) -> None:
    for i, latency in enumerate(latencies):
        customer = Customer(start_s + i * 300, track_id=i, camera=f"counter-{i % 2 + 1}")
        dashboard.store([customer.cue(), customer.enter(0.5), customer.ack(latency)])
    for i in range(left):
        customer = Customer(start_s + 7200 + i * 300, track_id=100 + i)
        dashboard.store([customer.cue(), customer.left(20.0)])


def test_the_pdf_is_one_page_with_the_pages_figures_in_plain_words(dashboard: Dashboard) -> None:
    rng = np.random.default_rng(3)
    store_day(dashboard, NOON - 4 * 3600, list(rng.lognormal(1.3, 0.6, 40)), left=3)
    store_day(dashboard, NOON - 86400, list(rng.lognormal(1.5, 0.6, 30)), left=1)
    figures = dashboard.api("/api/acks", site="store-1", start=DAY, end=DAY)
    client = dashboard.login()
    answer = client.get("/acks.pdf", params={"site": "store-1", "start": DAY, "end": DAY})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert f"store-1-{DAY}-{DAY}.pdf" in answer.headers["content-disposition"]
    pages, text, image = read_pdf(answer.content)
    assert pages == 1
    now, before = figures["overall"], figures["previous"]
    for words, value, previous in (
        ("Typical wait", f"{now['p50_s']:.1f} s", f"{before['p50_s']:.1f} s"),
        ("9 in 10 customers within", f"{now['p90_s']:.1f} s", f"{before['p90_s']:.1f} s"),
        (
            "Acknowledged within the goal",
            f"{now['within_goal'] * 100:.0f} %",
            f"{before['within_goal'] * 100:.0f} %",
        ),
        ("Left before anyone acknowledged", str(now["left"]), str(before["left"])),
    ):
        row = text.split(words, 1)[1]
        expected = [*value.split(), *previous.split()]
        assert row.split()[: len(expected)] == expected, words
    assert "The day before" in text and "Fri 20 Nov 2026" in text
    assert "Cameras, best first" in text and "By hour of the day" in text
    PAGES.mkdir(parents=True, exist_ok=True)
    image.save(PAGES / "acks-report-pdf.png")
    assert image.height / image.width == pytest.approx(A4_RATIO, rel=0.01)
    pixels = np.asarray(image.convert("RGB"), dtype=int)
    bars = (abs(pixels - [11, 87, 208]).sum(axis=2) < 30).mean()  # the histogram's blue
    assert bars > 0.01


def test_the_pdf_follows_the_filters_and_says_when_there_is_nothing(dashboard: Dashboard) -> None:
    store_day(dashboard, NOON, [2.0, 3.0], left=0)
    client = dashboard.login()
    answer = client.get("/acks.pdf", params={"site": "store-9", "start": DAY, "end": DAY})
    pages, text, _ = read_pdf(answer.content)
    assert pages == 1 and "No customers in this period." in text
    week = client.get("/acks.pdf", params={"start": "2026-11-14", "end": DAY})
    pages, text, _ = read_pdf(week.content)
    assert pages == 1 and "The week before" in text and "All sites" in text
    assert "Sat 14 Nov" in text and "By day" in text


def test_the_acks_page_links_the_pdf_with_its_filters(dashboard: Dashboard) -> None:
    page = dashboard.login().get("/acks", params={"site": "store-1", "start": DAY, "end": DAY})
    link = page.text.split('id="report-pdf" href="', 1)[1].split('"', 1)[0]
    assert link.startswith("/acks.pdf?") and f"start={DAY}" in link and "site=store-1" in link


@pytest.mark.parametrize(
    ("params", "refused"),
    [
        ({"start": "20-11-2026"}, "start"),
        ({"site": "../etc"}, "site"),
        ({"start": DAY, "end": PREVIOUS_DAY}, "start"),
    ],
)
def test_bad_filters_are_refused_naming_the_parameter(
    dashboard: Dashboard, params: dict[str, str], refused: str
) -> None:
    answer = dashboard.client.get("/acks.pdf", params=params, headers=dashboard.bearer())
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["query", refused]


def test_only_managers_and_api_tokens_get_the_pdf(dashboard: Dashboard, tmp_path: Path) -> None:
    with dashboard.engine.begin() as connection:
        key = auth.issue_token(connection, "staff", "wearable-1", "store-1")
    staff = dashboard.client.get(f"/acks.pdf?key={key}", follow_redirects=False)
    assert staff.status_code == 303 and staff.headers["location"].startswith("/login")
    token = dashboard.client.get("/acks.pdf", headers=dashboard.bearer())
    assert token.status_code == 200 and token.content.startswith(b"%PDF")


def test_a_site_title_is_printed_as_written(dashboard: Dashboard) -> None:
    from fastapi.testclient import TestClient

    from dashboard.settings import Site
    from dashboard.web.app import create_app

    title = "Kiosk $5 & 50% off_now {x}"  # no formula, no markup
    store_day(dashboard, NOON, [2.0], left=0)
    sites = {"store-1": Site(title=title)}
    settings = dashboard.settings.model_copy(update={"sites": sites})
    with TestClient(create_app(settings, dashboard.engine, ingest=False)) as client:
        params = {"site": "store-1", "start": DAY, "end": DAY}
        answer = client.get("/acks.pdf", params=params, headers=dashboard.bearer())
    assert answer.status_code == 200
    assert title in read_pdf(answer.content)[1]


def test_the_longest_names_and_range_still_make_one_page(dashboard: Dashboard) -> None:
    site, camera = "s" * 64, "c" * 64
    for i in range(14):  # more sites than the league shows
        customer = Customer(NOON + i * 60, site=f"{site[:-2]}{i:02d}", camera=camera, track_id=i)
        dashboard.store([customer.cue(), customer.ack(2.0 + i)])
    client = dashboard.login()
    for params in (
        {"start": DAY, "end": DAY},
        {"site": f"{site[:-2]}03", "camera": camera, "device": "d" * 64},
        {"start": "2000-01-01", "end": "2199-12-31"},
    ):
        answer = client.get("/acks.pdf", params=params)
        pages, text, image = read_pdf(answer.content)
        assert pages == 1 and "Acknowledgement report" in text, params
        right_margin = np.asarray(image.convert("L"))[:, -int(image.width * 0.03) :]
        assert right_margin.min() > 200, params  # nothing runs off the page's right edge
    assert (
        "... 4 more ..."
        in read_pdf(client.get("/acks.pdf", params={"start": DAY, "end": DAY}).content)[1]
    )
