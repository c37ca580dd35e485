"""Synthetic customer visits as contract events, for the bench and the tests' large stores.

Each visit is what the edge sends for one customer walking up: track start, zone entries with
the 10-ft cue and its lead time, an ack after a human-like delay (or the customer leaving
unacknowledged, or a waiting cue), zone exits and the track end. Figures from these are made
up by construction; the pages label nothing from here as real.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from edge.contract import (
    AckRecorded,
    CueIssued,
    CueUnacknowledged,
    Event,
    TrackEnd,
    TrackStart,
    ZoneEnter,
    ZoneExit,
    new_id,
    utc,
)

ZONES = (("10ft", 10.0), ("5ft", 5.0), ("3ft", 3.0))


@dataclass(frozen=True)
class Visit:
    """One customer's walk-up, in the numbers that decide its events."""

    site: str
    camera: str
    track_id: int
    start_s: float
    ack_after_s: float | None  # None: left unacknowledged
    lead_s: float
    device: str = "wearable-1"
    staff: str | None = "sam"


def visit_events(visit: Visit) -> list[Event]:
    """The events of one visit, in the order the edge would publish them."""
    common = {"site": visit.site, "camera": visit.camera, "track_id": visit.track_id}
    t0 = visit.start_s
    walk_s = 0.8  # between rings at a walk
    cross = {name: t0 + 1.0 + i * walk_s for i, (name, _) in enumerate(ZONES)}
    cue_id, cued = new_id(), cross["10ft"] - visit.lead_s
    out: list[Event] = [TrackStart(id=new_id(), captured_at=utc(t0), **common)]
    out.append(
        CueIssued(
            id=new_id(),
            captured_at=utc(cued),
            cue_id=cue_id,
            device=visit.device,
            reason="zone",
            escalation=0,
            approach="approaching",
            zone="10ft",
            expires_at=utc(cued + 10),
            **common,
        )
    )
    for name, radius in ZONES:
        lead = visit.lead_s if name == "10ft" else None
        cue = cue_id if name == "10ft" else None
        out.append(
            ZoneEnter(
                id=new_id(),
                captured_at=utc(cross[name]),
                zone=name,
                distance_ft=radius - 0.2,
                approach="approaching",
                crossed_at=utc(cross[name]),
                lead_s=lead,
                cue_id=cue,
                **common,
            )
        )
    end = cross["3ft"] + 20.0
    if visit.ack_after_s is not None:
        acked = cued + visit.ack_after_s
        out.append(
            AckRecorded(
                id=new_id(),
                captured_at=utc(acked),
                cue_id=cue_id,
                device=visit.device,
                staff=visit.staff,
                via="mqtt",
                cued_at=utc(cued),
                latency_s=visit.ack_after_s,
                before={name: acked < t for name, t in cross.items()},
                zone="10ft",
                **common,
            )
        )
        end = max(end, acked + 1)
    else:
        out.append(
            CueUnacknowledged(
                id=new_id(),
                captured_at=utc(end - 1),
                cue_id=cue_id,
                reason="zone",
                cued_at=utc(cued),
                open_s=end - 1 - cued,
                zone="10ft",
                **common,
            )
        )
    for name, _ in reversed(ZONES):
        out.append(
            ZoneExit(
                id=new_id(),
                captured_at=utc(end - 0.5),
                zone=name,
                approach="leaving",
                dwell_s=end - 0.5 - cross[name],
                **common,
            )
        )
    reached = [name for name, _ in ZONES]
    out.append(
        TrackEnd(id=new_id(), captured_at=utc(end), duration_s=end - t0, reached=reached, **common)
    )
    return out


def visits(
    sites: int, cameras: int, days: int, per_day: int, end_s: float, seed: int = 7
) -> Iterator[Visit]:
    """Visits spread over ``days`` before ``end_s`` (trading hours 08-20 UTC), per camera."""
    rng = np.random.default_rng(seed)
    start = end_s - timedelta(days=days).total_seconds()
    for day in range(days):
        day_s = start + day * 86400.0
        day_s -= day_s % 86400.0
        for s in range(sites):
            for c in range(cameras):
                times = np.sort(rng.uniform(8 * 3600, 20 * 3600, per_day)) + day_s
                acks = rng.lognormal(np.log(4.0), 0.6, per_day)
                left = rng.random(per_day) < 0.06
                leads = rng.normal(0.6, 0.3, per_day)
                for i, t in enumerate(times):
                    yield Visit(
                        site=f"store-{s + 1}",
                        camera=f"counter-{c + 1}",
                        track_id=day * 10_000 + i,
                        start_s=float(t),
                        ack_after_s=None if left[i] else float(acks[i]),
                        lead_s=float(leads[i]),
                        staff=("sam", "alex", "kim")[i % 3],
                    )
