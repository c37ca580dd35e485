"""Text labels on frames, shared by the calibration check picture and the replay overlays."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

FONT = cv2.FONT_HERSHEY_SIMPLEX
BGR = tuple[int, int, int]


def label(
    image: npt.NDArray[np.uint8],
    text: str,
    corner: tuple[int, int],
    ink: BGR,
    fill: BGR,
    scale: float = 0.45,
) -> None:
    """``text`` in ``ink`` on a ``fill`` box whose bottom-left corner is ``corner``, moved as
    little as needed to stay inside the frame so labels near an edge remain readable."""
    (w, h), base = cv2.getTextSize(text, FONT, scale, 1)
    x = min(max(corner[0], 0), max(image.shape[1] - w - 3, 0))
    y = min(max(corner[1], h + base + 2), image.shape[0] - 1)
    cv2.rectangle(image, (x, y - h - base - 2), (x + w + 2, y), fill, cv2.FILLED)
    cv2.putText(image, text, (x + 1, y - base), FONT, scale, ink, 1, cv2.LINE_AA)
