"""A file played as a slower camera would deliver it: cues are measured at the rate a store box
runs, and a clip recorded faster than that must not give the service frames it would not get."""

from __future__ import annotations

import math

from edge.perception.sources import Frame, FrameSource


class AtRate(FrameSource):
    """At most ``fps`` of ``source``'s frames per second of its own media time; each kept frame
    keeps its index and time, so labels and ground truth still line up. A source at or below
    ``fps`` passes unchanged."""

    is_live = False

    def __init__(self, source: FrameSource, fps: float) -> None:
        if not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"the replay rate must be a positive number of frames/s, got {fps}")
        rate = min(fps, source.fps) if source.fps > 0 else fps
        count = source.frame_count
        if count is not None and source.fps > 0:
            count = math.ceil(count * rate / source.fps)
        super().__init__(source.description, source.size, rate, count)
        self._source, self._period, self._due = source, 1.0 / rate, 0.0

    def __next__(self) -> Frame:
        for frame in self._source:
            if frame.t + 1e-6 >= self._due:
                self._due = (math.floor(frame.t / self._period + 1e-6) + 1) * self._period
                return frame
        raise StopIteration

    def close(self) -> None:
        self._source.close()
