"""The service's camera: frames when there are some, and a camera that is down never ends it.

A live camera that cannot be opened is retried with back-off for as long as the service runs;
one that stops delivering frames for ``camera_stall_s`` is reported offline until frames come
again (its source reconnects by itself). A file is the exception: it ends, and a file that
cannot be opened is a configuration error, not a camera to wait for.

Opening a live camera can block for many seconds (an unreachable RTSP host), so it runs on
a daemon thread, one attempt at a time; the frame loop only polls for the result and keeps
ticking meanwhile. A file is local and opens on the caller's thread.

Frame times given to perception must never go backwards, also across reconnects: a live
frame's time is its monotonic capture stamp; a file's is its media time.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, wait

from edge.perception.sources import (
    Backoff,
    Frame,
    FrameSource,
    LiveSource,
    SourceError,
    is_live_spec,
    open_source,
    redact_url,
)

log = logging.getLogger(__name__)

OpenSource = Callable[[], FrameSource]
# A live source that is opened is polled this often, so the loop can tick while it waits.
POLL_S = 0.2


class CameraFeed:
    """Frames from one camera; ``online`` says whether it is delivering.

    ``next_frame()`` returns a frame, or ``None`` after at most ``POLL_S`` without one
    (also while a live camera is being opened or waited for), so the caller can do its
    periodic work; ``ended`` turns true at the end of a file. ``on_change(online)`` is
    called on every change of ``online``. ``close()`` is final.
    """

    def __init__(
        self,
        opener: OpenSource,
        live: bool,
        description: str,
        stall_s: float,
        retry_max_s: float,
        on_change: Callable[[bool], None] = lambda online: None,
    ) -> None:
        self._open = opener
        self._live = live
        self.description = description
        self._stall_s = stall_s
        self._backoff = Backoff(min(0.5, retry_max_s), retry_max_s)
        self._on_change = on_change
        self._source: FrameSource | None = None
        self._opening: Future[FrameSource] | None = None
        self._closed = False
        self._retry_at = 0.0
        self._last_frame = time.monotonic()
        self._attempts = 0
        self.online = False
        self.ended = False

    @classmethod
    def for_spec(
        cls,
        spec: str | int,
        realtime: bool,
        stall_s: float,
        retry_max_s: float,
        on_change: Callable[[bool], None] = lambda online: None,
        fps: float | None = None,
    ) -> CameraFeed:
        """A feed for a source spec as ``camera.source`` or ``--source`` give it; ``fps``
        overrides a file's frame rate (for pacing)."""
        description = redact_url(str(spec))
        return cls(
            lambda: open_source(spec, realtime, fps=fps),
            is_live_spec(spec),
            description,
            stall_s,
            retry_max_s,
            on_change,
        )

    @property
    def dropped(self) -> int:
        """Frames the loop was too slow for, on the source open now."""
        return 0 if self._source is None else self._source.dropped

    def next_frame(self) -> Frame | None:
        """The next frame, or ``None`` when there is none yet (see the class docstring)."""
        if self.ended or self._closed:
            return None
        deadline = time.monotonic() + POLL_S
        if self._source is None and not self._try_open(deadline):
            return None
        assert self._source is not None
        frame = self._read(self._source, deadline)
        now = time.monotonic()
        if frame is not None:
            self._last_frame = now
            self._set_online(True)
            return dataclasses.replace(frame, t=frame.captured_mono) if self._live else frame
        if self._live and now - self._last_frame > self._stall_s:
            self._set_online(False)
        return None

    def close(self) -> None:
        """Release the camera (no ``on_change``: the service says ``offline`` as it stops).

        Never waits for an open in progress: its thread closes what it opens.
        """
        self._closed = True
        if self._opening is not None:
            self._opening.add_done_callback(_close_opened)
            self._opening = None
        if self._source is not None:
            self._source.close()
            self._source = None
        self.online = False

    def _try_open(self, deadline: float) -> bool:
        """Whether a source is open now; waits at most until ``deadline`` for one."""
        if self._opening is None:
            now = time.monotonic()
            if now < self._retry_at:
                time.sleep(max(0.0, min(deadline, self._retry_at) - now))
                return False
            if not self._live:  # local: opens at once, and a failure is a configuration error
                self._opened(self._open())
                return True
            self._opening = _open_in_background(self._open, f"open {self.description}")
        if not wait([self._opening], max(0.0, deadline - time.monotonic())).done:
            return False
        opening, self._opening = self._opening, None
        try:
            source = opening.result()
        except SourceError as exc:
            self._attempts += 1
            delay = self._backoff.next()
            self._retry_at = time.monotonic() + delay
            log.warning(
                "camera %s is offline (%s); retry %d in %.1f s",
                self.description,
                exc,
                self._attempts,
                delay,
            )
            self._set_online(False)
            return False
        self._opened(source)
        return True

    def _opened(self, source: FrameSource) -> None:
        self._source = source
        if self._attempts:
            log.info("camera %s opened after %d retries", self.description, self._attempts)
        self._attempts = 0
        self._backoff.reset()
        self._last_frame = time.monotonic()

    def _read(self, source: FrameSource, deadline: float) -> Frame | None:
        try:
            if isinstance(source, LiveSource):
                return source.wait_frame(max(0.0, deadline - time.monotonic()))
            return next(source)
        except StopIteration:
            self.ended = True
            log.info("%s: end of file", self.description)
            return None
        except SourceError as exc:
            if not self._live:
                raise
            log.warning("camera %s failed (%s); reopening", self.description, exc)
            source.close()
            self._source = None
            self._set_online(False)
            return None

    def _set_online(self, online: bool) -> None:
        if online != self.online:
            self.online = online
            if not online and self._source is not None:
                log.warning(
                    "camera %s is offline: no frame for %.1f s", self.description, self._stall_s
                )
            elif online:
                log.info("camera %s is online", self.description)
            self._on_change(online)


def _open_in_background(opener: OpenSource, name: str) -> Future[FrameSource]:
    """Run ``opener`` on a daemon thread; the future holds its source or its exception."""
    future: Future[FrameSource] = Future()

    def run() -> None:
        try:
            source = opener()
        except BaseException as exc:  # handed to whoever picks up the result
            future.set_exception(exc)
            return
        future.set_result(source)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


def _close_opened(future: Future[FrameSource]) -> None:
    """Close the source of an open nobody is waiting for any more (once it has finished)."""
    if future.exception() is None:
        future.result().close()
