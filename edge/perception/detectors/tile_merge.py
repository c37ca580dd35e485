"""Merging the tiles' detections so a person cut by a seam counts once.

Plain NMS keeps both halves of a person cut by a seam: the tile that saw part of them gives a
box that overlaps the other tile's whole box too little. Here a box touching an inner edge of
its tile (not the frame's border) is *cut*; boxes of different tiles are one person when their
IoU is high, or when one is cut and their intersection covers most of the smaller box. Boxes
not cut are taken first, best score first, so a group keeps a whole person's box; a group of
cut boxes only (a person larger than the overlap) becomes their union.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.perception.detections import Detections, FloatArray, iou_matrix
from edge.perception.detectors.tile_plan import Tile, TilePlan

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class MergeRule:
    """When boxes of two tiles are one person (see the module docstring); ``seam_px`` is in
    detector-input pixels."""

    seam_px: float
    iou: float
    ios: float


def seam_cut(
    xyxy: FloatArray, tile: Tile, frame_size: tuple[int, int], seam_px: float
) -> BoolArray:
    """Which boxes [N, 4] (frame pixels) of ``tile`` touch one of its edges inside the frame."""
    margin = seam_px / tile.scale
    width, height = frame_size
    near = np.zeros(len(xyxy), np.bool_)
    if tile.x > 0:
        near |= xyxy[:, 0] <= tile.x + margin
    if tile.y > 0:
        near |= xyxy[:, 1] <= tile.y + margin
    if tile.x + tile.w < width:
        near |= xyxy[:, 2] >= tile.x + tile.w - margin
    if tile.y + tile.h < height:
        near |= xyxy[:, 3] >= tile.y + tile.h - margin
    return near


def intersection_over_smaller(xyxy: FloatArray) -> npt.NDArray[np.float64]:
    """Pairwise intersection over the smaller box's area, [N, N]."""
    boxes = xyxy.astype(np.float64)
    lt = np.maximum(boxes[:, None, :2], boxes[None, :, :2])
    rb = np.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0.0, None), axis=2)
    area = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    smaller = np.minimum(area[:, None], area[None, :])
    return np.where(smaller > 0, inter / np.maximum(smaller, 1e-12), 0.0)


def merge_tiles(found: Sequence[Detections], plan: TilePlan, rule: MergeRule) -> Detections:
    """One frame's detections from each tile of ``plan`` (frame pixels), each person once,
    best score first."""
    if len(found) != len(plan.tiles):
        raise ValueError(f"{len(found)} tiles' detections for a plan of {len(plan.tiles)} tiles")
    xyxy = np.concatenate([d.xyxy for d in found]).reshape(-1, 4)
    scores = np.concatenate([d.scores for d in found])
    tile_of = np.repeat(np.arange(len(found)), [len(d) for d in found])
    cut = np.concatenate(
        [
            seam_cut(d.xyxy, t, plan.frame_size, rule.seam_px)
            for d, t in zip(found, plan.tiles, strict=True)
        ]
    )
    same = (iou_matrix(xyxy, xyxy) >= rule.iou) | (
        (cut[:, None] | cut[None, :]) & (intersection_over_smaller(xyxy) >= rule.ios)
    )
    same &= tile_of[:, None] != tile_of[None, :]
    group = np.full(len(scores), -1)
    leaders: list[int] = []
    for i in np.lexsort((-scores, cut)):  # whole boxes first, each best score first
        joinable = [
            g
            for g in np.unique(group[same[i] & (group >= 0)])
            if not np.any(tile_of[group == g] == tile_of[i])  # a tile's own boxes stay apart
        ]
        if joinable:  # the earliest group: its leader is the best whole box
            group[i] = joinable[0]
        else:
            group[i] = len(leaders)
            leaders.append(int(i))
    boxes = np.empty((len(leaders), 4), np.float32)
    best = np.empty(len(leaders), np.float32)
    for g, leader in enumerate(leaders):
        members = group == g
        best[g] = scores[members].max()
        if cut[leader]:
            boxes[g, :2] = xyxy[members, :2].min(axis=0)
            boxes[g, 2:] = xyxy[members, 2:].max(axis=0)
        else:
            boxes[g] = xyxy[leader]
    order = np.argsort(-best, kind="stable")
    return Detections(boxes[order], best[order])
