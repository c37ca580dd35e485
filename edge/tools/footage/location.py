"""Where the footage lives: the local folder named by ``GREETCUE_FOOTAGE`` (offline machines,
CI), else the cache that ``greetcue footage pull`` fills from the footage manifest."""

from __future__ import annotations

import os
from pathlib import Path

from edge import download

ENV = "GREETCUE_FOOTAGE"
CACHE_ENV = "GREETCUE_FOOTAGE_CACHE"
PULL_COMMAND = "greetcue footage pull"

PETS_DIR = "pets2009_s2l1"
PETS_TRUTH = "PETS2009-S2L1.xml"
PETS_CALIBRATION = "View_001.xml"
PETS_PARTS = ("vtest_part0.avi", "vtest_part1.avi")
PETS_PART_FRAMES = 250  # frame N of part k is ground-truth frame N + 250 * k

PETS_CREDIT = "PETS 2009 benchmark data, University of Reading"
INTEL_CREDIT = "Sample videos by Intel Corporation (intel-iot-devkit/sample-videos), CC BY 4.0"


class FootageError(FileNotFoundError):
    """The footage folder or a clip in it is missing."""


def cache_dir(cache: Path | str | None = None) -> Path:
    """Where pulled footage lives: ``cache``, else ``$GREETCUE_FOOTAGE_CACHE``, else the user
    cache."""
    return download.cache_dir(cache, CACHE_ENV, "footage")


def footage_path(relative: str) -> Path:
    """A file under the footage folder (``$GREETCUE_FOOTAGE``, else the cache), checked to exist."""
    root = os.environ.get(ENV)
    if root:
        path = Path(root).expanduser() / relative
        if not path.exists():
            raise FootageError(
                f"{path} does not exist: is {ENV}={root} the footage folder (pets2009_s2l1/, "
                f"intel/)? Fix the folder, or unset {ENV} and run `{PULL_COMMAND}`"
            )
        return path
    cache = cache_dir()
    path = cache / relative
    if not path.exists():
        raise FootageError(
            f"{relative} is not in the footage cache {cache}: run `{PULL_COMMAND}`, or set {ENV} "
            "to a local footage folder (pets2009_s2l1/, intel/)"
        )
    return path
