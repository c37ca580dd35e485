"""Capture: the slice of ``cv2.VideoCapture`` a live source needs, and how cameras are opened.

Live sources take the opening function as a parameter, so a flaky camera can be simulated
in tests without hardware.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import cv2
from cv2.typing import MatLike

OPEN_TIMEOUT_MS = 10_000
READ_TIMEOUT_MS = 5_000


class Capture(Protocol):
    """What a live source calls on a capture (``cv2.VideoCapture`` fits)."""

    def isOpened(self) -> bool: ...  # noqa: N802 (OpenCV's name)

    def read(self) -> tuple[bool, MatLike]: ...

    def set(self, propId: int, value: float) -> bool: ...  # noqa: N803 (OpenCV's name)

    def get(self, propId: int) -> float: ...  # noqa: N803 (OpenCV's name)

    def release(self) -> None: ...


CaptureFactory = Callable[[int | str], Capture]


def open_capture(target: int | str) -> Capture:
    """Open a USB index, a V4L2 device path or a stream URL with OpenCV.

    Streams get open and read timeouts so a dead camera ends in a failed read (and a
    reconnect) instead of a reader blocked forever.
    """
    if isinstance(target, int):
        return cv2.VideoCapture(target)
    if target.startswith("/dev/"):
        return cv2.VideoCapture(target, cv2.CAP_V4L2)
    timeouts = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
        OPEN_TIMEOUT_MS,
        cv2.CAP_PROP_READ_TIMEOUT_MSEC,
        READ_TIMEOUT_MS,
    ]
    return cv2.VideoCapture(target, cv2.CAP_FFMPEG, timeouts)
