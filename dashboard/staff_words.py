"""What staff read for a cue, on the staff page and in a pushed notification: what to do for
the ring the customer is coming to, never a zone or camera name."""

from __future__ import annotations

COMING = "Customer coming — look up"
WAITING = "Customer waiting at the counter"
BY_ZONE = {"5ft": "Customer close — smile", "3ft": "Customer at the counter — greet them"}


def headline(zone: str, reason: str) -> str:
    """The cue's words: waiting, or by the zone (the outer zone and unknown names: coming)."""
    return WAITING if reason == "waiting" else BY_ZONE.get(zone, COMING)
