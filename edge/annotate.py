"""Drawing on frames for replays and demos: boxes, track labels, credits. Display only."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]

DETECTION_BGR = (0, 200, 255)
TEXT_BGR = (255, 255, 255)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _label(image: Image, text: str, x: int, y: int, colour: tuple[int, int, int]) -> None:
    """Text on a filled background, kept inside the frame."""
    (w, h), base = cv2.getTextSize(text, FONT, 0.45, 1)
    x = min(max(x, 0), max(image.shape[1] - w - 2, 0))
    y = min(max(y, h + base + 2), image.shape[0] - 1)
    cv2.rectangle(image, (x, y - h - base - 2), (x + w + 2, y), colour, cv2.FILLED)
    cv2.putText(image, text, (x + 1, y - base), FONT, 0.45, (0, 0, 0), 1, cv2.LINE_AA)


def _box(image: Image, box: list[float], colour: tuple[int, int, int]) -> tuple[int, int]:
    x1, y1, x2, y2 = (round(v) for v in box)
    cv2.rectangle(image, (x1, y1), (x2, y2), colour, 2, cv2.LINE_AA)
    return x1, y1


def draw_detections(image: Image, row: dict[str, Any]) -> Image:
    """Boxes and scores of one ``greetcue detect`` row."""
    for det in row["detections"]:
        x, y = _box(image, det["box"], DETECTION_BGR)
        _label(image, f"{det['score']:.2f}", x, y, DETECTION_BGR)
    return image


def draw_credit(image: Image, text: str) -> Image:
    """The footage's attribution line, bottom left, as its licence asks."""
    if text:
        h = image.shape[0]
        cv2.putText(image, text, (6, h - 8), FONT, 0.4, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(image, text, (6, h - 8), FONT, 0.4, TEXT_BGR, 1, cv2.LINE_AA)
    return image
