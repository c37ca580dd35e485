"""Wide test frames from PETS: four frames side by side (2 x 2), their ground truth carried over.

The team has no 1080p store footage. A 2 x 2 mosaic of 768x576 PETS frames is a 1536x1152
frame where each person covers a quarter of the share of the frame they do in PETS, as on a
wide store camera; shrunk whole to the detector's input they are half as tall as in PETS.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.perception.sources import Image, open_source
from edge.tools.evaluation.groundtruth import FrameTruth, load_pets_xml
from edge.tools.footage.location import PETS_PART_FRAMES, PETS_PARTS, PETS_TRUTH

QUADRANTS = 4


@dataclass(frozen=True, slots=True)
class Mosaic:
    """One mosaic, its truth, and the frames (with their truth) it is made of, in quadrant
    order: top left, top right, bottom left, bottom right."""

    image: Image
    truth: FrameTruth
    parts: tuple[Image, ...]
    part_truths: tuple[FrameTruth, ...]


def tile_2x2(images: Sequence[Image]) -> Image:
    """Four equally sized images as one, two by two."""
    if len(images) != QUADRANTS:
        raise ValueError(f"a 2 x 2 mosaic needs 4 images, got {len(images)}")
    rows = [cv2.hconcat(list(images[:2])), cv2.hconcat(list(images[2:]))]
    return np.asarray(cv2.vconcat(rows), np.uint8)


def carried_truth(truths: Sequence[FrameTruth], part_size: tuple[int, int]) -> FrameTruth:
    """The parts' truth in mosaic pixels: each quadrant's boxes offset by its corner."""
    width, height = part_size
    corners = [(0, 0), (width, 0), (0, height), (width, height)]
    boxes = [
        t.xyxy + np.array([x, y, x, y], np.float32)
        for t, (x, y) in zip(truths, corners, strict=True)
    ]
    return FrameTruth(
        np.concatenate([t.ids for t in truths]), np.concatenate(boxes).astype(np.float32)
    )


def pets_mosaics(pets_dir: Path, every: int = 1) -> Iterator[Mosaic]:
    """Mosaics of PETS parts 0-1, four consecutive frames each; only every ``every``-th."""
    truth = load_pets_xml(pets_dir / PETS_TRUTH)
    empty = FrameTruth(np.zeros(0, np.int64), np.zeros((0, 4), np.float32))
    group: list[tuple[Image, FrameTruth]] = []
    count = 0
    for part, clip in enumerate(PETS_PARTS):
        with open_source(pets_dir / clip) as frames:
            for index, frame in enumerate(frames):
                group.append((frame.image, truth.get(index + PETS_PART_FRAMES * part, empty)))
                if len(group) < QUADRANTS:
                    continue
                images, truths = zip(*group, strict=True)
                group = []
                count += 1
                if (count - 1) % every:
                    continue
                height, width = images[0].shape[:2]
                yield Mosaic(
                    tile_2x2(images), carried_truth(truths, (width, height)), images, truths
                )
