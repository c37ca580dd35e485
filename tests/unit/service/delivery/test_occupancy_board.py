"""OccupancyBoard on a clock the test gives it: every zone's state once, then a count change at
once, the nearest distance only past a step and a gap, and every zone again each refresh."""

from __future__ import annotations

import json
from typing import Any

import pytest

from edge.config import Config, parse_config
from edge.contract import Topic
from edge.service.delivery.occupancy import MIN_GAP_S, STEP_FT, OccupancyBoard
from edge.service.presence.decisions import ZoneOccupancy

REFRESH_S = 60.0
T0 = 1_700_000_000.0


@pytest.fixture
def config() -> Config:
    return parse_config({"site": "store-1", "camera": {"name": "counter-1"}})


@pytest.fixture
def board(config: Config) -> OccupancyBoard:
    zones = config.zones
    return OccupancyBoard(config.site, config.camera.name, "greetcue", zones, REFRESH_S)


def inside(count: int = 0, nearest_ft: float | None = None, zone: str = "10ft") -> ZoneOccupancy:
    return ZoneOccupancy(zone, count, nearest_ft)


def published(due: list[tuple[str, bytes]]) -> list[dict[str, Any]]:
    return [json.loads(payload) for _, payload in due]


def test_every_zone_is_published_first_on_its_own_topic(
    board: OccupancyBoard, config: Config
) -> None:
    zones = [inside(1, 7.256, "10ft"), inside(0, None, "5ft"), inside(0, None, "3ft")]
    due = board.due(zones, T0)
    assert [topic for topic, _ in due] == [
        Topic.ZONE.build(prefix="greetcue", site="store-1", camera="counter-1", zone=name)
        for name in ("10ft", "5ft", "3ft")
    ]
    first = published(due)[0]
    radius = {zone.name: zone.radius_ft for zone in config.zones}
    assert (first["zone"], first["count"], first["nearest_ft"]) == ("10ft", 1, 7.26)
    assert first["radius_ft"] == radius["10ft"] and first["updated_at"].startswith("2023-11-14")
    assert board.due(zones, T0 + 0.1) == [], "nothing changed"


def test_a_count_change_goes_out_at_once(board: OccupancyBoard) -> None:
    board.due([inside(1, 8.0)], T0)
    assert published(board.due([inside(2, 8.0)], T0 + 0.01))[0]["count"] == 2
    assert published(board.due([inside(0, None)], T0 + 0.02))[0]["count"] == 0


def test_the_nearest_distance_waits_for_a_step_and_a_gap(board: OccupancyBoard) -> None:
    board.due([inside(1, 8.0)], T0)
    assert board.due([inside(1, 8.0 - STEP_FT / 2)], T0 + 2 * MIN_GAP_S) == [], "a small move"
    assert board.due([inside(1, 8.0 - STEP_FT)], T0 + MIN_GAP_S / 2) == [], "too soon"
    moved = board.due([inside(1, 8.0 - STEP_FT)], T0 + MIN_GAP_S)
    assert published(moved)[0]["nearest_ft"] == 8.0 - STEP_FT


def test_a_distance_appearing_or_going_is_published(board: OccupancyBoard) -> None:
    board.due([inside(1, None)], T0)
    assert published(board.due([inside(1, 6.0)], T0 + 0.01))[0]["nearest_ft"] == 6.0
    assert published(board.due([inside(1, None)], T0 + 0.02))[0]["nearest_ft"] is None


def test_an_unchanged_zone_is_republished_each_refresh(board: OccupancyBoard) -> None:
    board.due([inside(0)], T0)
    assert board.due([inside(0)], T0 + REFRESH_S - 0.1) == []
    again = board.due([inside(0)], T0 + REFRESH_S)
    assert published(again)[0]["count"] == 0
    assert board.due([inside(0)], T0 + REFRESH_S + 0.1) == [], "the refresh restarts its clock"
