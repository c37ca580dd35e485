"""Frame sources: USB cameras, V4L2 devices, RTSP/HTTP streams, video and GIF files, folders.

``open_source(spec)`` picks the right one. Live sources hand out only the newest frame and
reconnect on their own; files give every frame in order, optionally paced to their fps.

>>> with open_source("clip.mp4") as frames:  # doctest: +SKIP
...     for frame in frames:
...         print(frame.index, frame.t, frame.image.shape)
"""

from edge.perception.sources.capture import Capture, CaptureFactory, open_capture
from edge.perception.sources.files import ImageFolderSource, VideoFileSource
from edge.perception.sources.frame import Frame, FrameInfo, FrameSource, Image, SourceError
from edge.perception.sources.live import Backoff, LiveSource
from edge.perception.sources.pacing import Pacer
from edge.perception.sources.spec import is_live_spec, open_source, redact_url

__all__ = [
    "Backoff",
    "Capture",
    "CaptureFactory",
    "Frame",
    "FrameInfo",
    "FrameSource",
    "Image",
    "ImageFolderSource",
    "LiveSource",
    "Pacer",
    "SourceError",
    "VideoFileSource",
    "is_live_spec",
    "open_capture",
    "open_source",
    "redact_url",
]
