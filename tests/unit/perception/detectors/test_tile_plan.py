"""The tile plan's geometry: coverage, overlap, scale and budget."""

from __future__ import annotations

import itertools

import pytest

from edge.perception.detectors.tile_plan import Tile, TilePlan, plan_tiles

INPUT = (416, 416)
HD = (1920, 1080)


def covered(tiles: tuple[Tile, ...], region: tuple[int, int, int, int]) -> bool:
    """Whether every pixel of the region lies in some tile (checked on a 4-px lattice)."""
    x, y, w, h = region
    return all(
        any(t.x <= px < t.x + t.w and t.y <= py < t.y + t.h for t in tiles)
        for px in range(x, x + w, 4)
        for py in range(y, y + h, 4)
    )


def test_a_region_that_fits_one_native_tile_gets_exactly_that() -> None:
    region = (700, 300, 300, 200)
    plan = plan_tiles(region, HD, INPUT, max_tiles=4, overlap_px=(50, 100))
    assert len(plan.tiles) == 1
    tile = plan.tiles[0]
    assert (tile.w, tile.h, tile.scale) == (416, 416, 1.0)
    assert covered(plan.tiles, region)
    assert not plan.whole_frame


def test_one_tile_over_the_whole_frame_is_the_untiled_detector() -> None:
    plan = plan_tiles((0, 0, *HD), HD, INPUT, max_tiles=1, overlap_px=(100, 200))
    assert plan.whole_frame
    assert plan == TilePlan.whole(HD, INPUT)
    assert plan.tiles[0].scale == pytest.approx(416 / 1920)


@pytest.mark.parametrize("budget", [2, 3, 4, 6, 9])
def test_tiles_cover_the_region_within_the_budget_with_the_overlap(budget: int) -> None:
    region, overlap = (0, 0, *HD), (150.0, 400.0)
    plan = plan_tiles(region, HD, INPUT, budget, overlap)
    assert 1 <= len(plan.tiles) <= budget
    assert covered(plan.tiles, region)
    for tile in plan.tiles:
        assert tile.x >= 0 and tile.x + tile.w <= HD[0] and tile.y >= 0 and tile.y + tile.h <= HD[1]
        assert 0 < tile.scale <= 1.0
    xs = sorted({t.x for t in plan.tiles})
    ys = sorted({t.y for t in plan.tiles})
    side_w, side_h = plan.tiles[0].w, plan.tiles[0].h
    assert all(side_w - (b - a) >= overlap[0] - 1 for a, b in itertools.pairwise(xs))
    assert all(side_h - (b - a) >= overlap[1] - 1 for a, b in itertools.pairwise(ys))


def test_a_larger_budget_never_lowers_the_scale() -> None:
    region, overlap = (0, 0, *HD), (150.0, 400.0)
    scales = [plan_tiles(region, HD, INPUT, n, overlap).tiles[0].scale for n in range(1, 10)]
    assert scales == sorted(scales)
    assert scales[-1] > scales[0] * 1.5


def test_native_scale_is_reached_with_the_fewest_tiles() -> None:
    region = (400, 200, 700, 380)  # two native tiles side by side hold it
    plan = plan_tiles(region, HD, INPUT, max_tiles=9, overlap_px=(60, 200))
    assert [t.scale for t in plan.tiles] == [1.0, 1.0]
    assert covered(plan.tiles, region)


def test_the_tolerance_trades_a_little_scale_for_fewer_tiles() -> None:
    region = (0, 0, 460, 460)  # one tile at 416/460 = 0.90, or four native ones
    exact = plan_tiles(region, HD, INPUT, 4, (40, 40))
    tolerant = plan_tiles(region, HD, INPUT, 4, (40, 40), scale_tolerance=0.85)
    assert len(exact.tiles) > 1 and exact.tiles[0].scale == 1.0
    assert len(tolerant.tiles) == 1 and tolerant.tiles[0].scale == pytest.approx(416 / 460)


@pytest.mark.parametrize(
    ("region", "budget", "tolerance"),
    [
        ((0, 0, 2000, 1080), 2, 1.0),
        ((0, 0, 0, 10), 2, 1.0),
        ((0, 0, 10, 10), 0, 1.0),
        ((0, 0, 10, 10), 2, 0.0),
    ],
)
def test_impossible_requests_name_the_problem(
    region: tuple[int, int, int, int], budget: int, tolerance: float
) -> None:
    with pytest.raises(ValueError, match=r"region|max_tiles"):
        plan_tiles(region, HD, INPUT, budget, (10, 10), tolerance)
