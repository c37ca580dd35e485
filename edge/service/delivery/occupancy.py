"""Retained zone occupancy: who is in each zone now, published when it changes.

A count change goes out at once; the nearest distance only when it moved by ``STEP_FT`` and
at most every ``MIN_GAP_S`` (people walk, and a message per frame helps nobody); every zone is
republished each ``refresh_s`` so Home Assistant's ``expire_after`` only fires when the edge
is really gone.
"""

from __future__ import annotations

from collections.abc import Sequence

from edge.config import ZoneConfig
from edge.contract import Topic, ZoneOccupancy, encode, utc
from edge.service.presence.decisions import ZoneOccupancy as Inside

STEP_FT = 0.5
MIN_GAP_S = 1.0


class OccupancyBoard:
    """The last published state of each zone and what is due to be published now."""

    def __init__(
        self, site: str, camera: str, prefix: str, zones: Sequence[ZoneConfig], refresh_s: float
    ) -> None:
        self._site, self._camera = site, camera
        self._radius = {zone.name: zone.radius_ft for zone in zones}
        self._topic = {
            zone.name: Topic.ZONE.build(prefix=prefix, site=site, camera=camera, zone=zone.name)
            for zone in zones
        }
        self._refresh_s = refresh_s
        self._sent: dict[str, tuple[int, float | None, float]] = {}

    def due(self, inside: Sequence[Inside], now_wall: float) -> list[tuple[str, bytes]]:
        """(topic, payload) of each zone whose state should be published now."""
        out = []
        for zone in inside:
            last = self._sent.get(zone.zone)
            if last is None or self._changed(last, zone, now_wall):
                self._sent[zone.zone] = (zone.count, zone.nearest_ft, now_wall)
                out.append((self._topic[zone.zone], self._payload(zone, now_wall)))
        return out

    def _changed(self, last: tuple[int, float | None, float], zone: Inside, now: float) -> bool:
        count, nearest, at = last
        if zone.count != count or now - at >= self._refresh_s:
            return True
        if nearest is None or zone.nearest_ft is None:
            return (nearest is None) != (zone.nearest_ft is None)
        return abs(zone.nearest_ft - nearest) >= STEP_FT and now - at >= MIN_GAP_S

    def _payload(self, zone: Inside, now_wall: float) -> bytes:
        return encode(
            ZoneOccupancy(
                site=self._site,
                camera=self._camera,
                zone=zone.zone,
                radius_ft=self._radius[zone.zone],
                count=zone.count,
                nearest_ft=None if zone.nearest_ft is None else round(zone.nearest_ft, 2),
                updated_at=utc(now_wall),
            )
        )
