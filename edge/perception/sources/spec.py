"""Source specs: turn ``0``, ``/dev/video0``, ``rtsp://...``, a file or a folder into a source.

The same string comes from the command line and from ``camera.source`` in the config, so a
wrong one must say which forms are accepted.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from edge.perception.sources.capture import CaptureFactory, open_capture
from edge.perception.sources.files import ImageFolderSource, VideoFileSource
from edge.perception.sources.frame import FrameSource, SourceError
from edge.perception.sources.live import LiveSource

STREAM_SCHEMES = frozenset({"rtsp", "rtsps", "http", "https"})
ACCEPTED = (
    "a source is a USB camera index (0), a V4L2 device (/dev/video0), an rtsp://, rtsps://, "
    "http:// or https:// stream URL, a video or GIF file, or a folder of images"
)
_SECRET_QUERY = re.compile(
    r"(?i)([?&](?:user|username|password|passwd|pass|pwd|token|key|apikey|api_key|auth)=)[^&#]*"
)


def redact_url(url: str) -> str:
    """Hide credentials before a URL reaches a log: ``rtsp://u:p@host/s`` -> ``rtsp://***@host/s``.

    Everything before the last ``@`` of the address part is hidden (passwords may hold
    unescaped ``@`` or ``/``), and so are values of query keys such as ``password`` or ``token``.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    address_end = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    address, tail = rest[:address_end], rest[address_end:]
    if "@" in address:
        address = "***@" + address.rpartition("@")[2]
    tail = _SECRET_QUERY.sub(r"\1***", tail)
    return f"{scheme}://{address}{tail}"


def is_live_spec(spec: str | int | os.PathLike[str]) -> bool:
    """Whether ``spec`` names a camera or stream (retried when down) rather than a file."""
    if isinstance(spec, bool):
        return False
    if isinstance(spec, int):
        return True
    text = os.fspath(spec).strip()
    return (text.isascii() and text.isdigit()) or "://" in text or text.startswith("/dev/")


def open_source(
    spec: str | int | os.PathLike[str],
    realtime: bool = False,
    *,
    fps: float | None = None,
    capture_factory: CaptureFactory = open_capture,
    reconnect_initial_s: float = 0.5,
    reconnect_max_s: float = 10.0,
) -> FrameSource:
    """Open the source ``spec`` names; raise ``SourceError`` if it cannot give a frame now.

    ``realtime`` paces files to their frame rate (live sources are real time anyway). ``fps``
    sets a folder's frame rate (default 10) or overrides a video file's. The capture factory
    and reconnect delays apply to live sources.
    """

    def live(target: int | str, description: str) -> LiveSource:
        return LiveSource(
            target, description, capture_factory, reconnect_initial_s, reconnect_max_s
        )

    if isinstance(spec, bool):
        raise SourceError(f"source {spec!r} is a yes/no value; {ACCEPTED}")
    if isinstance(spec, int):
        return live(_usb_index(spec), f"USB camera {spec}")
    text = os.fspath(spec).strip()
    if not text:
        raise SourceError(f"the source is empty; {ACCEPTED}")
    if text.isascii() and text.isdigit():
        return live(_usb_index(int(text)), f"USB camera {int(text)}")
    if "://" in text:
        scheme = text.partition("://")[0].lower()
        if scheme not in STREAM_SCHEMES:
            raise SourceError(f"{redact_url(text)}: unsupported scheme {scheme}://; {ACCEPTED}")
        return live(text, redact_url(text))
    if text.startswith("/dev/"):
        if not Path(text).exists():
            raise SourceError(
                f"{text}: no such device; list cameras with `v4l2-ctl --list-devices`"
            )
        return live(text, f"V4L2 camera {text}")
    path = Path(text).expanduser()
    if path.is_dir():
        return ImageFolderSource(path, realtime, 10.0 if fps is None else fps)
    if path.is_file():
        return VideoFileSource(path, realtime, fps)
    raise SourceError(f"{text}: no such file or folder; {ACCEPTED}")


def _usb_index(index: int) -> int:
    if index < 0:
        raise SourceError(f"USB camera index {index} is negative; use 0 for the first camera")
    return index
