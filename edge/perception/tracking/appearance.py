"""A cheap appearance cue: the colour of a person's clothes, to know them again after an
occlusion.

Each box is described by a hue-saturation histogram of its torso (the middle of the box, where
clothes are and the background and floor are least), with dark and greyish pixels, which have
no reliable hue, counted in one bin of their own. Histograms are kept as the square roots of
their shares, so the Bhattacharyya coefficient of two (1: the same colours, 0: none in common)
is one dot product.

>>> image = np.zeros((100, 100, 3), np.uint8)
>>> image[:, :50] = (0, 0, 200)  # a person in red on the left
>>> image[:, 50:] = (200, 0, 0)  # one in blue on the right
>>> boxes = np.array([[5, 0, 45, 100], [55, 0, 95, 100], [10, 0, 40, 90]], np.float32)
>>> np.round(similarity(describe(image, boxes), describe(image, boxes[2:])), 2)[:, 0]
array([1., 0., 1.])
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]

HUE_BINS = 12
SAT_BINS = 3
FEATURES = HUE_BINS * SAT_BINS + 1  # the last: dark or grey pixels
MIN_SATURATION = 40  # below this (of 255) or below MIN_VALUE a pixel has no reliable hue
MIN_VALUE = 40
# The torso: this share of the box's height from its top to its bottom, and of its width.
TORSO_ROWS = (0.2, 0.6)
TORSO_COLUMNS = (0.2, 0.8)
MAX_SIDE_PX = 32  # a torso is shrunk to at most this before counting: the cue costs microseconds


def describe(image: npt.NDArray[np.uint8], xyxy: npt.NDArray[np.floating]) -> F32:
    """One descriptor [len(xyxy), FEATURES] per box of the BGR ``image``; a box with no
    pixels in the frame gets zeros (similar to nothing)."""
    out = np.zeros((len(xyxy), FEATURES), np.float32)
    height, width = image.shape[:2]
    for row, (x1, y1, x2, y2) in enumerate(np.asarray(xyxy, np.float64).tolist()):
        box_w, box_h = x2 - x1, y2 - y1
        left = max(0, int(x1 + TORSO_COLUMNS[0] * box_w))
        right = min(width, int(x1 + TORSO_COLUMNS[1] * box_w))
        top = max(0, int(y1 + TORSO_ROWS[0] * box_h))
        bottom = min(height, int(y1 + TORSO_ROWS[1] * box_h))
        if right <= left or bottom <= top:
            continue
        out[row] = _histogram(image[top:bottom, left:right])
    return out


def describe_strong(
    image: npt.NDArray[np.uint8], xyxy: npt.NDArray[np.floating], scores: F32, min_score: float
) -> F32:
    """:func:`describe` for the boxes scoring ``min_score`` or more; zeros for the rest (weak
    boxes are often partial or someone else's, and only extend tracks)."""
    out = np.zeros((len(xyxy), FEATURES), np.float32)
    strong = np.flatnonzero(scores >= min_score)
    if len(strong):
        out[strong] = describe(image, np.asarray(xyxy)[strong])
    return out


def similarity(a: F32, b: F32) -> npt.NDArray[np.float64]:
    """Bhattacharyya coefficients [len(a), len(b)] of two sets of descriptors, in [0, 1]."""
    return np.clip(a.astype(np.float64) @ b.astype(np.float64).T, 0.0, 1.0)


def _histogram(crop: npt.NDArray[np.uint8]) -> F32:
    """The square-rooted shares of one crop's pixels over the hue-saturation bins."""
    scale = MAX_SIDE_PX / max(crop.shape[:2])
    if scale < 1:
        size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
        crop = np.asarray(cv2.resize(crop, size, interpolation=cv2.INTER_AREA), np.uint8)
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV).reshape(-1, 3).astype(np.int32)
    hue, sat, value = hsv[:, 0], hsv[:, 1], hsv[:, 2]
    chromatic = (sat >= MIN_SATURATION) & (value >= MIN_VALUE)
    sat_bin = np.minimum((sat - MIN_SATURATION) * SAT_BINS // (256 - MIN_SATURATION), SAT_BINS - 1)
    bins = np.where(chromatic, hue * HUE_BINS // 180 * SAT_BINS + sat_bin, FEATURES - 1)
    counts = np.bincount(bins, minlength=FEATURES).astype(np.float32)
    shares: F32 = np.sqrt(counts / counts.sum())
    return shares
