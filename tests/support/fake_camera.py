"""A scripted camera, so reconnects, stalls and slow consumers need no hardware."""

from __future__ import annotations

import threading

import cv2
import numpy as np

from edge.perception.sources import Capture, Image

WAIT_S = 10.0  # guards against a hung test only; never a speed requirement


class FakeCamera:
    """Gives ``frames`` good reads (``None``: endless), then fails; pixel (0, 0) is (id, read).

    ``gated`` cameras block in ``read()`` until the test allows more reads, so the test knows
    exactly which frames the reader has published.
    """

    def __init__(
        self, camera_id: int, frames: int | None = None, opened: bool = True, gated: bool = False
    ) -> None:
        self.camera_id = camera_id
        self.frames = frames
        self.opened = opened
        self.gated = gated
        self.reads = 0
        self.released = False
        self.props: dict[int, float] = {}
        self.shape: tuple[int, ...] = (4, 6, 3)
        self._gate = threading.Condition()
        self._allowed = 0
        self._blocked = False

    def isOpened(self) -> bool:  # noqa: N802 (OpenCV's name)
        return self.opened

    def read(self) -> tuple[bool, Image]:
        if self.gated:
            with self._gate:
                self._blocked = True
                self._gate.notify_all()
                self._gate.wait_for(lambda: self._allowed > 0)
                self._blocked = False
                self._allowed -= 1
        if self.frames is not None and self.reads >= self.frames:
            return False, np.zeros((0, 0, 3), np.uint8)
        self.reads += 1
        image = np.zeros(self.shape, np.uint8)
        image.flat[:2] = (self.camera_id, self.reads % 256)
        return True, image

    def set(self, propId: int, value: float) -> bool:  # noqa: N803 (OpenCV's name)
        self.props[propId] = value
        return True

    def get(self, propId: int) -> float:  # noqa: N803 (OpenCV's name)
        return 25.0 if propId == cv2.CAP_PROP_FPS else 0.0

    def release(self) -> None:
        self.released = True

    def allow(self, reads: int) -> None:
        with self._gate:
            self._allowed += reads
            self._gate.notify_all()

    def wait_blocked_after(self, reads: int) -> None:
        """Wait until ``reads`` reads are done and the reader waits for the next one."""
        with self._gate:
            assert self._gate.wait_for(lambda: self.reads == reads and self._blocked, WAIT_S)


class Factory:
    """Hands out the scripted cameras in turn and records what it was asked to open."""

    def __init__(self, *cameras: FakeCamera, error: Exception | None = None) -> None:
        self.cameras = list(cameras)
        self.error = error
        self.targets: list[int | str] = []

    def __call__(self, target: int | str) -> Capture:
        self.targets.append(target)
        if self.error is not None:
            raise self.error
        index = len(self.targets) - 1
        if index >= len(self.cameras):  # past the script: a camera that stays unplugged
            return FakeCamera(-1, opened=False)
        return self.cameras[index]
