"""Merging tiles' detections: a person cut by a seam counts once, distinct people stay."""

from __future__ import annotations

import numpy as np
import pytest

from edge.perception.detections import Detections
from edge.perception.detectors.tile_merge import MergeRule, merge_tiles, seam_cut
from edge.perception.detectors.tile_plan import Tile, TilePlan

RULE = MergeRule(seam_px=4.0, iou=0.5, ios=0.6)
FRAME = (1000, 500)
# Two tiles side by side overlapping on x in [400, 600).
LEFT, RIGHT = Tile(0, 0, 600, 500, 0.8), Tile(400, 0, 600, 500, 0.8)
PLAN = TilePlan(FRAME, (0, 0, *FRAME), (LEFT, RIGHT))


def dets(*rows: tuple[float, float, float, float, float]) -> Detections:
    array = np.asarray(rows, np.float32).reshape(-1, 5)
    return Detections(array[:, :4].copy(), array[:, 4].copy())


def test_only_edges_inside_the_frame_are_seams() -> None:
    boxes = np.array([[0, 10, 50, 100], [560, 10, 600, 100], [300, 0, 350, 500]], np.float32)
    assert seam_cut(boxes, LEFT, FRAME, RULE.seam_px).tolist() == [False, True, False]
    assert seam_cut(boxes, RIGHT, FRAME, RULE.seam_px).tolist() == [True, False, True]


def test_a_person_cut_by_the_seam_counts_once_with_the_whole_box() -> None:
    whole = (560, 100, 640, 300, 0.7)  # inside the right tile, across the left tile's edge
    half = (560, 100, 600, 300, 0.9)  # the left tile saw the part up to its edge
    merged = merge_tiles([dets(half), dets(whole)], PLAN, RULE)
    assert len(merged) == 1
    np.testing.assert_allclose(merged.xyxy[0], whole[:4])
    assert merged.scores[0] == pytest.approx(0.9)


def test_a_person_larger_than_the_overlap_becomes_the_union_of_the_pieces() -> None:
    left_piece = (350, 50, 600, 450, 0.8)  # cut by the left tile's right edge
    right_piece = (400, 50, 700, 450, 0.6)  # cut by the right tile's left edge
    merged = merge_tiles([dets(left_piece), dets(right_piece)], PLAN, RULE)
    assert len(merged) == 1
    np.testing.assert_allclose(merged.xyxy[0], [350, 50, 700, 450])


def test_the_same_whole_person_seen_by_two_tiles_counts_once() -> None:
    person = (450, 100, 520, 300)
    merged = merge_tiles([dets((*person, 0.8)), dets((452, 101, 521, 302, 0.85))], PLAN, RULE)
    assert len(merged) == 1
    assert merged.scores[0] == pytest.approx(0.85)


def test_people_side_by_side_and_one_tiles_own_boxes_stay_apart() -> None:
    # Two people in the overlap, one partly behind the other: each tile saw both.
    front, behind = (450, 100, 530, 330, 0.9), (480, 90, 540, 260, 0.6)
    far_left, far_right = (50, 50, 90, 150, 0.8), (900, 60, 950, 170, 0.7)
    merged = merge_tiles(
        [dets(front, behind, far_left), dets(front, behind, far_right)], PLAN, RULE
    )
    assert len(merged) == 4
    assert merged.scores.tolist() == sorted(merged.scores.tolist(), reverse=True)


def test_no_detections_merge_to_none_and_a_mismatch_is_refused() -> None:
    assert len(merge_tiles([Detections.empty(), Detections.empty()], PLAN, RULE)) == 0
    with pytest.raises(ValueError, match="2 tiles"):
        merge_tiles([Detections.empty()], PLAN, RULE)
