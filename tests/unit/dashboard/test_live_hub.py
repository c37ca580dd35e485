"""The hub is watched (the ingest makes an event's page update) only while a page that takes
every update is open: a staff device's page takes only its own cues."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from dashboard.live import DeviceId, LiveHub, Update

GUARD_S = 10.0  # guards a hung test only


async def _opened(
    hub: LiveHub, device: DeviceId | None, streams: int
) -> tuple[AsyncGenerator[Update, None], asyncio.Future[Update]]:
    """A stream and its next update, once the stream is registered (``streams`` open then)."""
    stream = hub.stream(device)
    following = asyncio.ensure_future(anext(stream))
    while hub.listeners() < streams:
        await asyncio.sleep(0)
    return stream, following


async def _scenario() -> tuple[bool, bool, bool, Update, bool]:
    hub = LiveHub()
    idle = hub.watched()
    _, staff = await _opened(hub, DeviceId("store-1", "counter"), 1)
    staff_only = hub.watched()
    page, update = await _opened(hub, None, 2)
    with_page = hub.watched()
    hub.post(Update("event", {"type": "cue"}))
    got = await asyncio.wait_for(update, GUARD_S)
    await page.aclose()  # the page goes; the staff page stays
    left = hub.watched()
    staff.cancel()
    return idle, staff_only, with_page, got, left


def test_only_an_open_page_that_takes_every_update_makes_the_hub_watched() -> None:
    idle, staff_only, with_page, got, after = asyncio.run(_scenario())
    assert (idle, staff_only, with_page, after) == (False, False, True, False)
    assert got == Update("event", {"type": "cue"})
