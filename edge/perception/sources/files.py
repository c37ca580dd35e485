"""File sources: a video or GIF, or a folder of images, every frame in order.

Files are replayed for evaluation and demos, so nothing is ever skipped; ``realtime=True``
paces them to their frame rate to behave like a camera. Unpaced, a thread decodes one frame
ahead, so on a multi-core box decoding overlaps with inference instead of adding to it. Paced,
the rate is the file's, not the box's, so a frame is decoded when it is asked for and due, as
a camera hands over its latest: no thread, and no decoded frame waits out the pause beside
the one the loop holds (one frame fewer held: 1.3 MiB at PETS size, 6 MiB at 1080p).
"""

from __future__ import annotations

import math
import re
import threading
import time
from abc import abstractmethod
from pathlib import Path

import cv2

from edge.perception.sources.frame import Frame, FrameSource, Image, SourceError, as_image
from edge.perception.sources.handover import Handover
from edge.perception.sources.pacing import Pacer

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp"})
POLL_S = 0.1  # how often a decoder waiting for room checks for close()


def _check_fps(fps: float) -> None:
    if not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number of frames per second, got {fps}")


def _ends(item: Image | Exception | None) -> bool:
    """Whether a decoded item is the last: the end of the file, or an error."""
    return item is None or isinstance(item, Exception)


class FileSource(FrameSource):
    """Numbers, times and optionally paces the images a subclass decodes."""

    is_live = False

    def __init__(
        self,
        description: str,
        first: Image,
        fps: float,
        frame_count: int | None,
        realtime: bool,
    ) -> None:
        super().__init__(description, (first.shape[1], first.shape[0]), fps, frame_count)
        self._pending: Image | None = first
        self._index = 0
        self._pacer = Pacer() if realtime else None
        self._closed = False
        self._stop = threading.Event()
        self._ahead: Handover[Image | Exception | None] = Handover(self._stop, POLL_S)
        self._reader: threading.Thread | None = None
        if not realtime:
            self._reader = threading.Thread(target=self._read_ahead, name="decode", daemon=True)
            self._reader.start()

    @abstractmethod
    def _decode(self) -> Image | None:
        """The image after the last one decoded, or ``None`` at the end."""

    def _read_ahead(self) -> None:
        """Decode into the hand-over until the end, an error, or ``close()``: one image ahead."""
        self._ahead.produce(self._decode_or_error, _ends)

    def _decode_or_error(self) -> Image | Exception | None:
        """The next image, None at the end, or the error that stopped decoding (raised by
        ``__next__`` once it is reached)."""
        try:
            return self._decode()
        except Exception as exc:
            return exc

    def __next__(self) -> Frame:
        if self._closed:
            raise StopIteration
        t = self._index / self.fps
        if self._pacer is not None:  # wait, then decode: no image waits beside the loop's
            self._pacer.wait(t)
        if self._pending is not None:
            image: Image | Exception | None = self._pending
        elif self._reader is None:
            image = self._decode_or_error()
        else:
            image = self._ahead.take()
        self._pending = None
        if isinstance(image, Exception):
            self.close()
            raise image
        if image is None:
            self.close()
            raise StopIteration
        frame = Frame(image, self._index, t, time.monotonic(), time.time())
        self._index += 1
        return frame

    def close(self) -> None:
        self._closed = True
        self._pending = None
        self._stop.set()
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join()


class VideoFileSource(FileSource):
    """A video or GIF file decoded by OpenCV; ``fps`` overrides a container that lies."""

    def __init__(self, path: Path, realtime: bool = False, fps: float | None = None) -> None:
        if fps is not None:
            _check_fps(fps)
        capture = cv2.VideoCapture(str(path))
        if not capture.isOpened():
            raise SourceError(
                f"{path}: OpenCV cannot open this file as a video; give a video (.mp4, .avi, ...)"
                " or GIF file, or a folder of images"
            )
        ok, first = capture.read()
        if not ok:
            capture.release()
            raise SourceError(
                f"{path}: opened, but no frame could be decoded; the file is empty, truncated "
                "or not a video"
            )
        if fps is None:
            fps = capture.get(cv2.CAP_PROP_FPS)
            if not (math.isfinite(fps) and fps > 0):
                capture.release()
                raise SourceError(f"{path}: the file does not state its frame rate; pass fps")
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self._capture = capture
        super().__init__(str(path), as_image(first), fps, count if count > 0 else None, realtime)

    def _decode(self) -> Image | None:
        ok, image = self._capture.read()
        return as_image(image) if ok else None

    def close(self) -> None:
        super().close()
        self._capture.release()


def natural_key(name: str) -> tuple[str | int, ...]:
    """Sort key that orders digit runs by value: ``frame2`` before ``frame10``."""
    return tuple(int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name))


class ImageFolderSource(FileSource):
    """The .jpg/.jpeg/.png/.bmp files of one folder in natural order, at ``fps`` frames/s."""

    def __init__(self, path: Path, realtime: bool = False, fps: float = 10.0) -> None:
        _check_fps(fps)
        files = sorted(
            (p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
            key=lambda p: natural_key(p.name),
        )
        if not files:
            raise SourceError(
                f"{path}: no images in this folder; put .jpg, .jpeg, .png or .bmp frames in it "
                "(sorted by name in natural order: frame2 before frame10)"
            )
        self._files = iter(files)
        first = self._load(next(self._files))
        super().__init__(str(path), first, fps, len(files), realtime)

    def _load(self, file: Path) -> Image:
        image = cv2.imread(str(file), cv2.IMREAD_COLOR)
        if image is None:
            raise SourceError(f"{file}: cannot decode this image; replace or remove the file")
        return as_image(image)

    def _decode(self) -> Image | None:
        file = next(self._files, None)
        if file is None:
            return None
        image = self._load(file)
        if (image.shape[1], image.shape[0]) != self.size:
            raise SourceError(
                f"{file}: image is {image.shape[1]}x{image.shape[0]} but the folder's first "
                f"image is {self.size[0]}x{self.size[1]}; every frame must have one size"
            )
        return image
