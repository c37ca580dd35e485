"""The Overview is a manager's view of today: customers, answered in time, typical and 9-in-10
waits, left unanswered and waiting now, in plain words, per store when there are several; the
customers waiting now as a board, oldest first; the raw events folded away."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from tests.support.dashboard_support import Customer, Dashboard


def _today_s(ago_s: float) -> float:
    """A moment ``ago_s`` before now, but today (UTC), whatever the hour."""
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    return max(time.time() - ago_s, midnight + 1)


def test_today_in_plain_words_and_who_is_waiting_now(dashboard: Dashboard) -> None:
    answered = Customer(_today_s(300), track_id=1)
    gone = Customer(_today_s(240), track_id=2)
    waiting = Customer(_today_s(60), track_id=3)
    other_store = Customer(_today_s(200), site="store-2", track_id=4)
    dashboard.store(
        [
            answered.cue(),
            answered.ack(4.0),
            gone.cue(),
            gone.left(20.0),
            waiting.cue(),
            other_store.cue(),
            other_store.ack(6.0),
        ]
    )
    today = dashboard.api("/api/overview")["today"]
    overall = today["overall"]
    assert (overall["customers"], overall["acknowledged"], overall["left"]) == (4, 2, 1)
    assert overall["p50_s"] == 5.0
    assert [c["site"] for c in today["waiting_now"]] == ["store-1"]
    assert sorted(r["key"] for r in today["sites"]) == ["store-1", "store-2"]

    page = dashboard.login().get("/").text
    assert "Answered in time" in page and "Typical wait" in page and "9 in 10 within" in page
    assert 'id="waiting-count">1<' in page and "Coming · store-1 / counter-1" in page
    assert 'id="today-sites"' in page  # one line per store
    assert '<details class="raw">' in page  # the raw events, folded
    store_1 = dashboard.api("/api/overview", site="store-1")["today"]["overall"]
    assert store_1["customers"] == 3
