"""Schemathesis over the dashboard's own OpenAPI document: generated requests (valid and
hostile) to every route with a manager's API token, in process, on a store with events.
No route answers 500, and answers conform to the document where it says what they are."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import BaseSchema, GenerationMode, checks
from schemathesis.core.result import Ok
from schemathesis.generation.case import Case
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from dashboard import auth
from dashboard.settings import DashboardConfig
from dashboard.store import writes
from dashboard.web.app import create_app
from tests.support.dashboard_support import Customer, migrated_engine

# Per route and mode (valid, hostile): new requests on every run (not derandomized), so the
# routes are explored across runs (60 took a quarter of the unit suite's time).
EXAMPLES = 30
ENDLESS = "/api/live"  # a server-sent event stream never ends; the pages test it in Chromium
SLOW = [HealthCheck.too_slow, HealthCheck.filter_too_much]
Operation = APIOperation[Any, Any, Any, Any]
CHECKS = [checks.not_a_server_error, response_schema_conformance, content_type_conformance]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[BaseSchema, str]]:
    """The document as the app serves it (to managers only), every route but the endless one,
    over a SQLite store with customers at two sites and a staff link; and an API token."""
    config = DashboardConfig(state_dir=tmp_path)
    engine = migrated_engine(config)
    now = time.time()
    with engine.begin() as connection:
        token = auth.issue_token(connection, "api", "schemathesis")
        auth.issue_token(connection, "staff", "wearable-1", "store-1")  # a row to list
        events = []
        for i, site in enumerate(("store-1", "store-2") * 5):
            customer = Customer(now - 3600 + i * 60, site=site, track_id=i)
            events += [customer.cue(), customer.ack(2.0 + i)]
        writes.store_events(connection, [writes.Received(e, now) for e in events])
    app = create_app(config, engine, ingest=False)
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app, headers=bearer(token))
    yield loaded.exclude(path=ENDLESS), token
    engine.dispose()


def failures(operation: Operation, mode: GenerationMode, token: str) -> str | None:
    """What the generated requests of one route found, or None."""

    @given(case=operation.as_strategy(mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=SLOW)
    def call(case: Case[Operation]) -> None:
        case.call_and_validate(headers=bearer(token), checks=CHECKS)

    try:
        call()
    except Unsatisfiable:  # a route with no input has no invalid input to try
        assert mode is GenerationMode.NEGATIVE, operation.label
    except (AssertionError, BaseExceptionGroup) as exc:  # what the checks found: reported below
        return f"{operation.label} ({mode}): {exc}"
    return None


def test_no_route_answers_500_and_answers_match_the_document(
    api: tuple[BaseSchema, str],
) -> None:
    schema, token = api
    loaded = list(schema.get_all_operations())
    operations = [found.ok() for found in loaded if isinstance(found, Ok)]
    assert len(operations) == len(loaded) >= 8, "every operation in the document loads"
    found = [
        failures(operation, mode, token)
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    ]
    problems = [text for text in found if text]
    assert not problems, "\n\n".join(problems)
