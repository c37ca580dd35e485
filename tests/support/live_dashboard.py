"""A dashboard app served by a real uvicorn on an ephemeral port, on a thread of the test.

Loaded by ``tests/conftest.py`` as a plugin: a test serves through the ``serve`` fixture, which
marks it ``integration`` (uvicorn on a port)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

import pytest
import uvicorn
from fastapi import FastAPI

from edge.service.delivery.broker import free_port

START_S = 30.0  # guards a server that never starts


@contextmanager
def served(app: FastAPI, **options: Any) -> Iterator[str]:
    """Serve ``app`` (uvicorn ``options``, e.g. ``ssl_certfile``) until the block ends; the
    base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_S
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    scheme = "https" if options.get("ssl_certfile") else "http"
    try:
        yield f"{scheme}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class Serve(Protocol):
    """What the ``serve`` fixture gives: ``served``."""

    def __call__(self, app: FastAPI, **options: Any) -> AbstractContextManager[str]: ...


@pytest.fixture
def serve() -> Serve:
    """``served``: ``with serve(app) as base_url``."""
    return served
