"""The tile plan: which crops of a frame the detector runs on, and at what scale.

Shrinking a whole wide frame to the detector's small input leaves far people a few pixels
tall; tiles covering only the region where people can be keep them near native size. The
plan is pure geometry: a region, a frame, the detector's input size, a budget of passes and
how much neighbouring tiles must overlap (enough to hold a whole person) give the grid with
the fewest tiles that reach nearly (``scale_tolerance``) the largest scale the budget allows,
never above native (1 input pixel per frame pixel): a pass costs as much as the whole frame,
so a few per cent of scale is not worth one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Box = tuple[int, int, int, int]  # x, y, width, height in frame pixels
Size = tuple[int, int]  # width, height


@dataclass(frozen=True, slots=True)
class Tile:
    """A crop ``x, y, w, h`` of the frame and its ``scale`` (detector-input pixels per frame
    pixel: 1.0 is native, below 1 the crop is shrunk to fit the input)."""

    x: int
    y: int
    w: int
    h: int
    scale: float


@dataclass(frozen=True, slots=True)
class TilePlan:
    """The tiles of frames of ``frame_size`` covering ``region`` (both in frame pixels)."""

    frame_size: Size
    region: Box
    tiles: tuple[Tile, ...]

    @property
    def whole_frame(self) -> bool:
        """One tile that is the whole frame: the detector runs as it does without tiling."""
        width, height = self.frame_size
        if len(self.tiles) != 1:
            return False
        tile = self.tiles[0]
        return (tile.x, tile.y, tile.w, tile.h) == (0, 0, width, height)

    @classmethod
    def whole(cls, frame_size: Size, input_size: Size) -> TilePlan:
        """The plan without tiling: the whole frame, letterboxed into the input."""
        width, height = frame_size
        tile = Tile(0, 0, width, height, _scale((width, height), input_size))
        return cls(frame_size, (0, 0, width, height), (tile,))


def _scale(crop: Size, input_size: Size) -> float:
    """The letterbox scale of a crop: the input's side over the crop's, the tighter one."""
    return min(input_size[0] / crop[0], input_size[1] / crop[1])


def _grid_scale(extent: int, count: int, overlap: float, input_side: int) -> float:
    """The largest scale at which ``count`` tiles, overlapping by ``overlap`` frame pixels,
    span ``extent`` pixels (tile side = input side / scale)."""
    return input_side * count / (extent + (count - 1) * overlap)


def _starts(start: int, extent: int, side: int, count: int, frame_extent: int) -> list[int]:
    """Evenly spread tile starts covering ``[start, start + extent)``: one tile centred on the
    span when it fits, each kept inside the frame."""
    if count == 1:
        first = start + (extent - side) / 2
        return [int(np.clip(round(first), 0, frame_extent - side))]
    spread = np.linspace(start, start + extent - side, count)
    return [int(v) for v in np.clip(np.round(spread), 0, frame_extent - side)]


def plan_tiles(
    region: Box,
    frame_size: Size,
    input_size: Size,
    max_tiles: int,
    overlap_px: tuple[float, float],
    scale_tolerance: float = 1.0,
) -> TilePlan:
    """The fewest tiles covering ``region`` at a scale of at least ``scale_tolerance`` times
    the largest that ``max_tiles`` passes allow (1.0: the largest scale).

    ``overlap_px`` is the least overlap (frame pixels) across a vertical seam and across a
    horizontal one.
    """
    if max_tiles < 1 or not 0 < scale_tolerance <= 1:
        raise ValueError(
            f"max_tiles must be 1 or more and scale_tolerance in (0, 1], got {max_tiles} "
            f"and {scale_tolerance}"
        )
    frame_w, frame_h = frame_size
    x, y, w, h = region
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > frame_w or y + h > frame_h:
        raise ValueError(f"region {region} must be a non-empty box inside the frame {frame_size}")
    grids = [(nx, ny) for nx in range(1, max_tiles + 1) for ny in range(1, max_tiles // nx + 1)]
    scales = [
        min(
            1.0,
            _grid_scale(w, nx, overlap_px[0], input_size[0]),
            _grid_scale(h, ny, overlap_px[1], input_size[1]),
        )
        for nx, ny in grids
    ]
    good = max(scales) * scale_tolerance
    best = min(
        (k for k in range(len(grids)) if scales[k] >= good),
        key=lambda k: (grids[k][0] * grids[k][1], -scales[k]),
    )
    (nx, ny), scale = grids[best], scales[best]
    side_w = min(frame_w, round(input_size[0] / scale))
    side_h = min(frame_h, round(input_size[1] / scale))
    tile_scale = _scale((side_w, side_h), input_size)
    tiles = tuple(
        Tile(tx, ty, side_w, side_h, tile_scale)
        for ty in _starts(y, h, side_h, ny, frame_h)
        for tx in _starts(x, w, side_w, nx, frame_w)
    )
    return TilePlan(frame_size, region, tiles)
