"""Cue commands as the edge sends them to a device, for tests of what devices and pages do
with them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from edge.contract import CueCommand, CueReason


def cue_command(
    site: str = "store-1",
    device: str = "wearable-1",
    zone: str = "10ft",
    reason: CueReason = "zone",
    *,
    life_s: float = 120.0,
    age_s: float = 0.0,
    distance_ft: float | None = 9.0,
) -> CueCommand:
    """A first cue (escalation 0) issued ``age_s`` ago that lives ``life_s`` from its issue."""
    issued = datetime.now(UTC) - timedelta(seconds=age_s)
    return CueCommand(
        cue_id=uuid.uuid4(),
        site=site,
        camera="counter-1",
        device=device,
        zone=zone,
        reason=reason,
        escalation=0,
        track_id=4,
        distance_ft=distance_ft,
        issued_at=issued,
        expires_at=issued + timedelta(seconds=life_s),
    )
