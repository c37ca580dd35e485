"""Drawing on frames for replays and demos: boxes, track labels, credits. Display only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from edge.perception.geometry.camera import Camera
from edge.tools.replay.drawing import FONT, label
from edge.tools.replay.rings import ZONE_COLOURS, ring_pieces

Image = npt.NDArray[np.uint8]

DETECTION_BGR = (0, 200, 255)
TEXT_BGR = (255, 255, 255)
LABEL_INK = (0, 0, 0)


def _box(image: Image, box: list[float], colour: tuple[int, int, int]) -> tuple[int, int]:
    x1, y1, x2, y2 = (round(v) for v in box)
    cv2.rectangle(image, (x1, y1), (x2, y2), colour, 2, cv2.LINE_AA)
    return x1, y1


def draw_detections(image: Image, row: dict[str, Any]) -> Image:
    """Boxes and scores of one ``greetcue detect`` row."""
    for det in row["detections"]:
        x, y = _box(image, det["box"], DETECTION_BGR)
        label(image, f"{det['score']:.2f}", (x, y), LABEL_INK, DETECTION_BGR)
    return image


def draw_credit(image: Image, text: str) -> Image:
    """The footage's attribution line on a dark band, bottom left, as its licence asks."""
    if text:
        (w, h), base = cv2.getTextSize(text, FONT, 0.4, 1)
        bottom = image.shape[0]
        cv2.rectangle(image, (0, bottom - h - base - 6), (w + 8, bottom), (0, 0, 0), cv2.FILLED)
        cv2.putText(image, text, (4, bottom - base - 2), FONT, 0.4, TEXT_BGR, 1, cv2.LINE_AA)
    return image


OUTSIDE_BGR = (200, 200, 200)


class TrackOverlay:
    """Draws ``greetcue track`` rows: zone rings on the floor, boxes coloured by zone, labels.

    The rings are projected once; each frame only draws polylines and boxes.
    """

    def __init__(
        self, camera: Camera, counter_ft: Sequence[float], zones: Sequence[tuple[str, float]]
    ) -> None:
        self._zones = sorted(zones, key=lambda z: -z[1])  # outermost first
        self._rings = [
            (name, ring_pieces(camera, counter_ft, radius), ZONE_COLOURS[i % len(ZONE_COLOURS)])
            for i, (name, radius) in enumerate(self._zones)
        ]

    def _colour(self, distance: float | None) -> tuple[int, int, int]:
        """The colour of the innermost zone the distance lies in."""
        colour = OUTSIDE_BGR
        for (_, radius), (_, _, ring_colour) in zip(self._zones, self._rings, strict=True):
            if distance is not None and distance <= radius:
                colour = ring_colour
        return colour

    def __call__(self, image: Image, row: dict[str, Any]) -> Image:
        for _, pieces, colour in self._rings:
            cv2.polylines(image, pieces, False, colour, 1, cv2.LINE_AA)
        for track in row["tracks"]:
            distance = track["distance_ft"]
            colour = self._colour(distance)
            x, y = _box(image, track["box"], colour)
            text = f"#{track['id']}"
            if distance is not None:
                text += f" {distance:.1f} ft"
                if track["speed_ftps"] is not None:
                    text += f" {track['speed_ftps']:+.1f} ft/s"
            if track["truncated"]:
                text += " (cut off)"
            label(image, text, (x, y), LABEL_INK, colour)
        return image
