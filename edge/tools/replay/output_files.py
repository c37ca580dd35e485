"""Output files: refuse to replace earlier results unless asked, and fail at open, not later."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]


class OutputError(ValueError):
    """An output file cannot be written."""


class VideoOut:
    """An MP4 writer that fails at open, not silently at the first frame."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int]) -> None:
        if path.suffix.lower() not in (".mp4", ".avi"):
            raise OutputError(f"{path}: annotated video must end in .mp4 or .avi")
        path.parent.mkdir(parents=True, exist_ok=True)
        fourcc = cv2.VideoWriter.fourcc(*("mp4v" if path.suffix.lower() == ".mp4" else "MJPG"))
        self._writer = cv2.VideoWriter(str(path), fourcc, max(fps, 1.0), size)
        if not self._writer.isOpened():
            raise OutputError(f"{path}: OpenCV cannot write video here; check the folder")
        self.path = path

    def write(self, image: Image) -> None:
        self._writer.write(image)

    def close(self) -> None:
        self._writer.release()

    def __enter__(self) -> VideoOut:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


def check_outputs(*paths: Path | None, overwrite: bool = False) -> None:
    """Refuse to replace existing results unless asked: an earlier run's output is data too."""
    for path in paths:
        if path is not None and path.exists() and not overwrite:
            raise OutputError(
                f"{path} already exists; pass --overwrite to replace it, or choose another path"
            )
