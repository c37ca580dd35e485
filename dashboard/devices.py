"""What the Devices page says of each staff device: whether it can work, and whether it did.

Per live staff link (a device of a site): when it was last seen (its page connecting, or an
acknowledgement from it, by page, wearable or app), its pages open now, its Web Push
subscriptions, and whether any camera has cued it at all (a device on no camera's
``cues.rota`` never gets a cue: the page says so). The link itself is shown once, as text and
as a QR code the phone's camera opens.
"""

from __future__ import annotations

from dataclasses import dataclass

import segno
from sqlalchemy import Connection, func, select

from dashboard.live import DeviceId, LiveHub
from dashboard.store.tables import EventRow, PushSubscriptionRow


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """One device's line on the Devices page."""

    site: str
    device: str
    created_s: float
    last_seen_s: float | None
    pages_open: int
    push_subscriptions: int
    ever_cued: bool


def statuses(
    connection: Connection, links: list[tuple[str, str, float]], hub: LiveHub
) -> list[DeviceStatus]:
    """The status of each (device, site, created) staff link."""
    found = []
    for device, site, created in links:
        of = (EventRow.site == site) & (EventRow.device == device)
        acked = connection.execute(
            select(func.max(EventRow.received_s)).where(of, EventRow.type == "ack")
        ).scalar()
        cued = connection.execute(select(EventRow.id).where(of, EventRow.type == "cue").limit(1))
        pushes = connection.execute(
            select(func.count()).where(
                PushSubscriptionRow.site == site, PushSubscriptionRow.device == device
            )
        ).scalar_one()
        open_now, page_seen = hub.pages(DeviceId(site, device))
        seen = max((t for t in (acked, page_seen) if t is not None), default=None)
        found.append(
            DeviceStatus(
                site, device, created, seen, open_now, int(pushes), cued.first() is not None
            )
        )
    return found


def qr_svg(url: str) -> str:
    """The link as an inline SVG QR code (medium error correction, dark on light)."""
    code = segno.make(url, error="m")
    svg: str = code.svg_inline(scale=4, border=2, dark="#0b1220", light="#ffffff")
    return svg
