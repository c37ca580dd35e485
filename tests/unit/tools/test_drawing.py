"""Labels: drawn whole, where asked, and moved inside the frame when asked for outside it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.tools.replay.drawing import FONT, label

FILL = (0, 0, 255)
TEXT = "10 ft"


@pytest.mark.parametrize(
    ("corner", "expected_corner"),
    [((60, 40), (60, 40)), ((-40, -40), None), ((5000, 5000), None), ((150, 5), None)],
)
def test_label_box_is_whole_and_inside_the_frame(
    corner: tuple[int, int], expected_corner: tuple[int, int] | None
) -> None:
    image = np.zeros((120, 160, 3), np.uint8)
    label(image, TEXT, corner, (255, 255, 255), FILL)
    filled = np.argwhere((image == FILL).all(axis=2))
    (w, h), base = cv2.getTextSize(TEXT, FONT, 0.45, 1)
    rows, cols = filled[:, 0], filled[:, 1]
    assert cols.max() - cols.min() + 1 == w + 3
    assert rows.max() - rows.min() + 1 == h + base + 3
    if expected_corner is not None:
        assert (cols.min(), rows.max()) == expected_corner
    assert (image != FILL).any(axis=2)[rows.min() : rows.max(), cols.min() : cols.max()].any()
