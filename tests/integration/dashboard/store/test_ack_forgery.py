"""A cue's stored outcome cannot be rewritten by a later message: a forged ``ack`` event with an
earlier time, an ack after the customer left, or a ``left_unacknowledged`` after an ack (on
SQLite and on a real PostgreSQL). The first stored outcome stays; later acks are repeats."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from dashboard.store.tables import CueRow
from tests.support.dashboard_support import Customer, Dashboard

DAY = "2026-11-20"
NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC).timestamp()


def overall(dashboard: Dashboard) -> Any:
    return dashboard.api("/api/acks", start=DAY, end=DAY)["overall"]


def cue_row(dashboard: Dashboard, customer: Customer) -> CueRow:
    with dashboard.engine.connect() as connection:
        query = select(CueRow).where(CueRow.cue_id == str(customer.cue_id))
        return connection.execute(query).one()  # type: ignore[return-value]


def test_a_forged_earlier_ack_neither_rewrites_the_latency_nor_who_acked(
    dashboard: Dashboard,
) -> None:
    customer = Customer(NOON)
    dashboard.store([customer.cue(), customer.ack(9.0, staff="alex")])
    forged = customer.ack(0.5, staff="sam")
    assert dashboard.store([forged]) == 1  # stored as an event, but not as the cue's ack
    figures = overall(dashboard)
    assert (figures["acknowledged"], figures["p50_s"]) == (1, 9.0)
    row = cue_row(dashboard, customer)
    assert (row.latency_s, row.staff, row.acks) == (9.0, "alex", 2)


def test_an_ack_after_the_customer_left_keeps_them_left(dashboard: Dashboard) -> None:
    customer = Customer(NOON)
    dashboard.store([customer.cue(), customer.left(5.0)])
    dashboard.store([customer.ack(1.0)])  # forged: claims a time before they left
    figures = overall(dashboard)
    assert (figures["customers"], figures["acknowledged"], figures["left"]) == (1, 0, 1)
    row = cue_row(dashboard, customer)
    assert (row.acked_s, row.latency_s, row.acks, row.left_s) == (None, None, 1, NOON + 5.0)


def test_a_left_after_an_ack_keeps_the_customer_acknowledged(dashboard: Dashboard) -> None:
    customer = Customer(NOON)
    dashboard.store([customer.cue(), customer.ack(4.0)])
    dashboard.store([customer.left(1.0)])  # forged: claims they left before the ack
    figures = overall(dashboard)
    assert (figures["acknowledged"], figures["left"], figures["p50_s"]) == (1, 0, 4.0)
    assert cue_row(dashboard, customer).left_s is None


def test_a_forged_first_cue_does_not_move_when_the_cue_was_issued(dashboard: Dashboard) -> None:
    customer = Customer(NOON)
    dashboard.store([customer.cue(), customer.ack(3.0)])
    late = Customer(NOON + 30)
    late.cue_id = customer.cue_id  # the same cue, claimed to be issued after its ack
    dashboard.store([late.cue(device="intruder")])
    figures = overall(dashboard)
    assert (figures["acknowledged"], figures["p50_s"]) == (1, 3.0)
    row = cue_row(dashboard, customer)
    assert (row.cued_s, row.device) == (NOON, "wearable-1")


def test_the_ack_before_its_cue_event_still_counts(dashboard: Dashboard) -> None:
    """Events arrive in any order (several workers): an ack stored first is not an outcome
    the cue event may overwrite, and the cue event still fills in the cue."""
    customer = Customer(NOON)
    dashboard.store([customer.ack(2.0), customer.enter(1.5)])
    dashboard.store([customer.cue()])
    figures = overall(dashboard)
    assert (figures["customers"], figures["acknowledged"], figures["p50_s"]) == (1, 1, 2.0)
    row = cue_row(dashboard, customer)
    assert (row.issued, row.lead_s, row.device) == (True, 1.5, "wearable-1")
