"""Live sources: a reader thread keeps only the newest frame and reconnects when it fails.

A person detector that falls behind a camera must see what is happening now, not work
through a backlog; and a camera that drops off the network must come back by itself.
"""

from __future__ import annotations

import logging
import math
import threading
import time

import cv2

from edge.perception.sources.capture import Capture, CaptureFactory, open_capture
from edge.perception.sources.frame import Frame, FrameSource, Image, SourceError, as_image

log = logging.getLogger(__name__)

JOIN_TIMEOUT_S = 10.0


class Backoff:
    """Reconnect delays: ``initial_s``, doubling each failed attempt up to ``max_s``."""

    def __init__(self, initial_s: float = 0.5, max_s: float = 10.0) -> None:
        if not (0 < initial_s <= max_s):
            raise ValueError(
                f"reconnect delays need 0 < initial ({initial_s}) <= max ({max_s}) seconds"
            )
        self._initial = initial_s
        self._max = max_s
        self._next = initial_s

    def next(self) -> float:
        """The delay before the next attempt; each call doubles the one after."""
        delay = self._next
        self._next = min(delay * 2, self._max)
        return delay

    def reset(self) -> None:
        """Start again from the initial delay (after a frame came through)."""
        self._next = self._initial


class LiveSource(FrameSource):
    """A camera or stream read by a background thread into a one-frame slot.

    ``next()`` blocks until a frame newer than the last one returned arrives; frames the
    consumer was too slow to take are counted in ``dropped``. ``index`` keeps counting
    across reconnects, so gaps show exactly what was dropped or lost.
    """

    is_live = True

    def __init__(
        self,
        target: int | str,
        description: str,
        capture_factory: CaptureFactory = open_capture,
        reconnect_initial_s: float = 0.5,
        reconnect_max_s: float = 10.0,
    ) -> None:
        self._target = target
        self._factory = capture_factory
        self._backoff = Backoff(reconnect_initial_s, reconnect_max_s)
        capture, error = self._open()
        if capture is None:
            raise SourceError(
                f"cannot open {description} ({error}); check that it is connected and "
                "switched on, that the index, path or URL and credentials are right, and that "
                "no other program is using it"
            )
        try:
            image, error = _read(capture)
            if image is None:
                raise SourceError(
                    f"{description} opened but gave no frame ({error}); check that the camera "
                    "or stream plays (e.g. in ffplay) and that no other program is using it"
                )
            fps = capture.get(cv2.CAP_PROP_FPS)
            super().__init__(
                description,
                (image.shape[1], image.shape[0]),
                fps if math.isfinite(fps) and fps > 0 else 0.0,
                None,
            )
            self._opened_mono = time.monotonic()
            self._next_index = 0
            self._dropped = 0
            self._latest: Frame | None = None
            self._closed = False
            self._failure: Exception | None = None
            self._ready = threading.Condition()
            self._stop = threading.Event()
            self._publish(image)
        except BaseException:
            capture.release()
            raise
        self._reader = threading.Thread(
            target=self._run, args=(capture,), name=f"source {description}", daemon=True
        )
        self._reader.start()

    @property
    def dropped(self) -> int:
        return self._dropped

    def wait_frame(self, timeout: float | None = None) -> Frame | None:
        """The newest frame not yet returned, or ``None`` on timeout or once closed."""
        with self._ready:
            self._ready.wait_for(
                lambda: self._latest is not None or self._closed or self._failure is not None,
                timeout,
            )
            if self._closed:
                return None
            if self._failure is not None:
                raise SourceError(
                    f"{self._description}: reading stopped: {self._failure}"
                ) from self._failure
            frame, self._latest = self._latest, None
            return frame

    def __next__(self) -> Frame:
        frame = self.wait_frame()
        if frame is None:
            raise StopIteration
        return frame

    def close(self) -> None:
        with self._ready:
            if self._closed:
                return
            self._closed = True
            self._ready.notify_all()
        self._stop.set()
        self._reader.join(JOIN_TIMEOUT_S)
        if self._reader.is_alive():
            log.warning(
                "%s: reader is still blocked in read(); it releases the capture when that returns",
                self._description,
            )

    def _open(self) -> tuple[Capture | None, str]:
        """A capture ready to read, or ``None`` and why it failed."""
        try:
            capture = self._factory(self._target)
        except Exception as exc:  # any backend failure must lead to a retry, not a dead thread
            return None, f"open raised {type(exc).__name__}: {exc}"
        if not capture.isOpened():
            capture.release()
            return None, "could not open"
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # newest frame, not the driver's queue
        return capture, ""

    def _run(self, capture: Capture) -> None:
        """Reader thread: any unexpected error is handed to the consumer, never swallowed."""
        try:
            self._read_loop(capture)
        except Exception as exc:
            log.exception("%s: reader stopped by an unexpected error", self._description)
            with self._ready:
                self._failure = exc
                self._ready.notify_all()

    def _read_loop(self, capture: Capture | None) -> None:
        attempt, error = 0, ""
        try:
            while not self._stop.is_set():
                if capture is None:
                    attempt += 1
                    delay = self._backoff.next()
                    log.warning(
                        "%s: %s; reconnect attempt %d in %.2f s",
                        self._description,
                        error,
                        attempt,
                        delay,
                    )
                    if self._stop.wait(delay):
                        break
                    capture, error = self._open()
                    continue
                error = self._read_one(capture)
                if error:
                    capture.release()
                    capture = None
                    continue
                if attempt:
                    log.info("%s: reconnected after %d attempts", self._description, attempt)
                    attempt = 0
                self._backoff.reset()
        finally:
            if capture is not None:
                capture.release()

    def _read_one(self, capture: Capture) -> str:
        """Read and publish the next image; "" or why the stream is lost. Its own call, so this
        thread holds no reference to an image it published while it waits for the next."""
        image, error = _read(capture)
        if image is not None:
            self._publish(image)
        return error

    def _publish(self, image: Image) -> None:
        now = time.monotonic()
        frame = Frame(image, self._next_index, now - self._opened_mono, now, time.time())
        self._next_index += 1
        with self._ready:
            if self._latest is not None:
                self._dropped += 1
                log.debug(
                    "%s: consumer busy, dropped frame %d", self._description, self._latest.index
                )
            self._latest = frame
            self._ready.notify_all()


def _read(capture: Capture) -> tuple[Image | None, str]:
    """The next image, or ``None`` and why the stream is lost."""
    try:
        ok, image = capture.read()
    except Exception as exc:  # a backend error is a lost stream like any other
        return None, f"read raised {type(exc).__name__}: {exc}"
    return (as_image(image), "") if ok else (None, "read failed (stream lost)")
