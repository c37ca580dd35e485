"""The test infrastructure itself: the private PostgreSQL and the headless Chromium are real."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser

from edge.tools.bench.postgres_server import PostgresServer

PAGE = b"""<!doctype html>
<html><head><title>greetcue fixture check</title></head>
<body><h1 id="status">waiting</h1>
<button id="go" onclick="document.getElementById('status').textContent = 'clicked'">Go</button>
</body></html>
"""


def test_postgres_table_round_trip(postgres: PostgresServer) -> None:
    engine = sa.create_engine(postgres.fresh_database("round_trip"))
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE visits (id serial PRIMARY KEY, who text)"))
            conn.execute(sa.text("INSERT INTO visits (who) VALUES ('ana'), ('bo')"))
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT who FROM visits ORDER BY id")).scalars().all()
            port = conn.execute(sa.text("SHOW port")).scalar_one()
        assert rows == ["ana", "bo"]
        assert int(port) == postgres.port != 5432  # never the machine's own PostgreSQL
    finally:
        engine.dispose()


def test_postgres_fresh_databases_are_isolated(postgres: PostgresServer) -> None:
    first = sa.create_engine(postgres.fresh_database("isolated_a"))
    second = sa.create_engine(postgres.fresh_database("isolated_b"))
    try:
        with first.begin() as conn:
            conn.execute(sa.text("CREATE TABLE only_here (x int)"))
        assert sa.inspect(first).get_table_names() == ["only_here"]
        assert sa.inspect(second).get_table_names() == []
        with pytest.raises(psycopg.errors.DuplicateDatabase):
            postgres.fresh_database("isolated_a")  # the name is taken
    finally:
        first.dispose()
        second.dispose()


class _PageHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def page_url() -> Iterator[str]:
    """The test page served on localhost by a tiny http.server."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PageHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_browser_clicks_and_screenshots(browser: Browser, page_url: str, screenshots: Path) -> None:
    page = browser.new_page()
    try:
        page.goto(page_url)
        assert page.title() == "greetcue fixture check"
        assert page.text_content("#status") == "waiting"
        page.click("#go")
        page.wait_for_function("document.getElementById('status').textContent === 'clicked'")
        shot = screenshots / "infra-fixture-check.png"
        shot.unlink(missing_ok=True)
        page.screenshot(path=str(shot))
    finally:
        page.close()
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
