"""Has a person really moved? Their floor fixes over a window, against the noise of the fixes.

A Kalman velocity alone cannot tell a slow walk from box jitter: on a real checkout camera
jitter of one box edge made people standing at the register seem to close in at 1 ft/s, and
three cues in four went to them. So each track keeps its latest floor fixes for
``motion_window_s`` and measures its displacement over the window by a straight-line fit (robust
to one jittery frame). Only a displacement of ``motion_sigmas`` times its noise counts as
movement. The noise is the fixes' own jitter (from the calibration geometry and the box noise, so
it is larger far away and for cut-off boxes) times sqrt(2), as for two independent fixes: it does
not shrink with the frame rate, because a box's jitter is not independent from frame to frame.
The jitter leaves out the spread of a size assumed for a cut-off person, which is the same on
every frame and never makes a displacement; unless the window holds fixes made different ways
(``reference``: from the feet, from the head, from the width), which that spread sets apart:
then the widest whole spread of its fixes counts.

A box whose height or top jumps implausibly between frames (two people merged into one box, or
one half hidden) is no measurement of movement: :func:`box_jumped` finds it, and the track's
window starts again from it.

>>> window = MotionWindow(1.0)
>>> for frame in range(11):
...     window.add(frame / 10, np.array([0.0, 10.0 - 0.4 * frame]), 0.2, 1.5, reference=0)
>>> move = window.movement(np.array([0.0, 0.0]))
>>> round(move.closing_ft, 2), round(move.moved_ft, 2), round(move.sd_ft, 2), move.fixes
(4.0, 4.0, 0.28, 11)
>>> window.add(1.1, np.array([0.0, 5.4]), 0.2, 1.5, reference=2)  # the feet left the frame
>>> round(window.movement(np.array([0.0, 0.0])).sd_ft, 2)
2.12
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from statistics import median

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

NOT_YET = float("nan")
# The window must span this share of motion_window_s before it says anything.
MIN_SPAN_SHARE = 0.3


@dataclass(frozen=True, slots=True)
class Movement:
    """Over the window: displacement toward the counter (negative: away), in any direction,
    and the noise of either (all feet; NaN while the window is too short), from ``fixes``."""

    closing_ft: float
    moved_ft: float
    sd_ft: float
    fixes: int


STILL_UNKNOWN = Movement(NOT_YET, NOT_YET, NOT_YET, 0)


class MotionWindow:
    """One track's floor fixes (time, position, jitter and whole spread along the line to the
    counter, how it was made) over the latest ``window_s`` seconds."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._fixes: deque[tuple[float, float, float, float, float, int]] = deque()

    @property
    def mixed(self) -> bool:
        """Whether the window holds fixes made different ways."""
        return any(fix[5] != self._fixes[0][5] for fix in self._fixes)

    def clear(self) -> None:
        """Start again (after a box jump): nothing before now says how the person moves."""
        self._fixes.clear()

    def add(self, t: float, floor: F64, sd_ft: float, size_sd_ft: float, reference: int) -> None:
        """Keep one finite fix: ``sd_ft`` its jitter, ``size_sd_ft`` its spread with the
        assumed size's, ``reference`` how it was made; drop those older than the window."""
        if not (math.isfinite(sd_ft) and math.isfinite(size_sd_ft) and np.isfinite(floor).all()):
            return
        self._fixes.append((t, float(floor[0]), float(floor[1]), sd_ft, size_sd_ft, reference))
        while self._fixes and t - self._fixes[0][0] > self.window_s:
            self._fixes.popleft()

    def movement(self, counter: F64) -> Movement:
        """The displacement over the window, fitted; :data:`STILL_UNKNOWN` while it spans less
        than MIN_SPAN_SHARE of the window."""
        if len(self._fixes) < 2:
            return STILL_UNKNOWN
        fixes = np.asarray(self._fixes, np.float64)
        t = fixes[:, 0] - fixes[:, 0].mean()
        span = float(fixes[-1, 0] - fixes[0, 0])
        if span < MIN_SPAN_SHARE * self.window_s:
            return STILL_UNKNOWN
        slope = (t @ (fixes[:, 1:3] - fixes[:, 1:3].mean(axis=0))) / (t @ t)  # ft/s, x and y
        step = slope * span
        to_counter = counter - fixes[-1, 1:3]
        distance = float(np.linalg.norm(to_counter))
        closing = float(step @ to_counter) / distance if distance > 0 else 0.0
        spread = np.max(fixes[:, 4]) if self.mixed else median(fixes[:, 3].tolist())
        sd = math.sqrt(2.0) * float(spread)
        return Movement(closing, float(np.linalg.norm(step)), sd, len(fixes))


def box_jumped(previous: F64, box: F64, dt: float, share: float, per_s: float) -> bool:
    """Whether a box's height or top moved by more than ``share + per_s * dt`` of its height
    (the smaller of the two) between two sightings ``dt`` seconds apart: more than walking
    explains. The smaller height, so a merged box splitting back counts as a jump too."""
    height = float(min(previous[3] - previous[1], box[3] - box[1]))
    if not height > 0:
        return False
    allowed = (share + per_s * max(dt, 0.0)) * height
    grew = abs(float((box[3] - box[1]) - (previous[3] - previous[1])))
    rose = abs(float(box[1] - previous[1]))
    return grew > allowed or rose > allowed
