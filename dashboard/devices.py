"""What the Devices page says of each staff device: whether it can work, and whether it did.

Per live staff link (a device of a site): when it was last seen (its page connecting, or an
acknowledgement from it, by page, wearable or app), its pages open now, its Web Push
subscriptions, and whether any camera has cued it at all (a device on no camera's
``cues.rota`` never gets a cue: the page says so). The link itself is shown once, as text and
as a QR code the phone's camera opens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
    """The status of each (device, site, created) staff link: three grouped queries, however
    many devices."""
    e, p = EventRow.__table__.c, PushSubscriptionRow.__table__.c
    by_device = (e.site, e.device)
    acked = dict(
        _pairs(
            connection,
            select(*by_device, func.max(e.received_s)).where(e.type == "ack").group_by(*by_device),
        )
    )
    cued = {
        k
        for k, _ in _pairs(
            connection, select(*by_device, func.count()).where(e.type == "cue").group_by(*by_device)
        )
    }
    pushes = dict(
        _pairs(connection, select(p.site, p.device, func.count()).group_by(p.site, p.device))
    )
    found = []
    for device, site, created in links:
        key = (site, device)
        open_now, page_seen = hub.pages(DeviceId(site, device))
        seen = max((t for t in (acked.get(key), page_seen) if t is not None), default=None)
        found.append(
            DeviceStatus(site, device, created, seen, open_now, pushes.get(key, 0), key in cued)
        )
    return found


def _pairs(connection: Connection, query: Any) -> list[tuple[tuple[str, str], Any]]:
    """(site, device) -> value rows of a grouped query."""
    return [((site, device), value) for site, device, value in connection.execute(query)]


def qr_svg(url: str) -> str:
    """The link as an inline SVG QR code (medium error correction, dark on light)."""
    code = segno.make(url, error="m")
    svg: str = code.svg_inline(scale=4, border=2, dark="#0b1220", light="#ffffff")
    return svg
