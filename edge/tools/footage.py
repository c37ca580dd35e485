"""Where the shared footage lives: the folder named by ``GREETCUE_FOOTAGE``."""

from __future__ import annotations

import os
from pathlib import Path

ENV = "GREETCUE_FOOTAGE"

PETS_DIR = "pets2009_s2l1"
PETS_TRUTH = "PETS2009-S2L1.xml"
PETS_CALIBRATION = "View_001.xml"
PETS_PARTS = ("vtest_part0.avi", "vtest_part1.avi")
PETS_PART_FRAMES = 250  # frame N of part k is ground-truth frame N + 250 * k

PETS_CREDIT = "PETS 2009 benchmark data, University of Reading"
INTEL_CREDIT = "Sample videos by Intel Corporation (intel-iot-devkit/sample-videos), CC BY 4.0"


class FootageError(FileNotFoundError):
    """The footage folder or a clip in it is missing."""


def footage_path(relative: str) -> Path:
    """A file under the footage folder, checked to exist."""
    root = os.environ.get(ENV)
    if not root:
        raise FootageError(
            f"{ENV} is not set: point it at the footage folder (pets2009_s2l1/, intel/)"
        )
    path = Path(root).expanduser() / relative
    if not path.exists():
        raise FootageError(f"{path} does not exist: is {ENV}={root} the footage folder?")
    return path
