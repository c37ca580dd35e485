"""Frame and FrameSource: what every camera, stream, video file and image folder yields.

Every frame is stamped where it is read, so latency can be measured end to end.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import ClassVar, Self, cast

import numpy as np
import numpy.typing as npt
from cv2.typing import MatLike

Image = npt.NDArray[np.uint8]


def as_image(mat: MatLike) -> Image:
    """An OpenCV result as an array; ``Frame`` checks it really is BGR uint8."""
    return cast(Image, np.asarray(mat))


class SourceError(RuntimeError):
    """A frame source cannot be opened or read; the message names the source and the fix."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One BGR image, its place in the source and when it was read.

    ``index`` counts frames read from the source, from 0. ``t`` is the source's own clock in
    seconds: media time ``index / fps`` for files (repeatable across runs, whatever the speed),
    seconds since the source opened (monotonic) for live sources. ``captured_mono`` is
    ``time.monotonic()`` at reading, for latency inside the process; ``captured_wall`` is
    ``time.time()`` at reading, seconds since the Unix epoch (UTC), for timestamps that leave
    the process (``datetime.fromtimestamp(captured_wall, UTC)``). A float keeps stamping cheap.
    """

    image: Image
    index: int
    t: float
    captured_mono: float
    captured_wall: float

    def __post_init__(self) -> None:
        if self.image.dtype != np.uint8 or self.image.ndim != 3 or self.image.shape[2] != 3:
            raise ValueError(
                f"frame image must be BGR uint8 [H, W, 3], got {self.image.dtype} "
                f"{self.image.shape}"
            )

    @property
    def info(self) -> FrameInfo:
        """This frame without its pixels."""
        return FrameInfo(self.index, self.t, self.captured_mono, self.captured_wall)


@dataclass(frozen=True, slots=True)
class FrameInfo:
    """A frame without its pixels: its place in the source and its times, as :class:`Frame`'s.
    What is kept of a frame once its turn is over, so no image outlives its use."""

    index: int
    t: float
    captured_mono: float
    captured_wall: float


class FrameSource(Iterator[Frame], ABC):
    """An iterator of frames that owns a capture: use it in ``with`` so ``close()`` runs.

    ``fps`` is the rate the source states (0.0 when a live camera does not say), ``size`` is
    the first frame's (width, height), ``frame_count`` is ``None`` for live sources.
    """

    is_live: ClassVar[bool]

    def __init__(
        self, description: str, size: tuple[int, int], fps: float, frame_count: int | None
    ) -> None:
        self._description = description
        self._size = size
        self._fps = fps
        self._frame_count = frame_count

    @property
    def description(self) -> str:
        """What this source is, for logs and progress bars (credentials redacted)."""
        return self._description

    @property
    def size(self) -> tuple[int, int]:
        """Frame (width, height) in pixels."""
        return self._size

    @property
    def fps(self) -> float:
        """Frames per second the source states; 0.0 if a live camera does not report it."""
        return self._fps

    @property
    def frame_count(self) -> int | None:
        """Frames in a file or folder as its container states them; ``None`` for live sources."""
        return self._frame_count

    @property
    def dropped(self) -> int:
        """Frames skipped because the consumer was slower than the source (files never skip)."""
        return 0

    @abstractmethod
    def __next__(self) -> Frame:
        """The next frame; ``StopIteration`` at the end of a file or after ``close()``."""

    @abstractmethod
    def close(self) -> None:
        """Release the capture and stop any reader thread; safe to call twice."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._description}>"
