"""The PETS kiosk set-up the service tests share: the demo's configuration on a test broker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge.config import Config
from edge.tools.demo.replays import EXAMPLES
from edge.tools.demo.service import demo_config
from edge.tools.footage.location import PETS_DIR, PETS_PARTS

PART0 = f"{PETS_DIR}/{PETS_PARTS[0]}"
ACK_DELAY_S = 0.3


def kiosk_config(port: int | None, tmp: Path, **service: Any) -> Config:
    """The PETS kiosk example on the test broker (None: the embedded one), state in tmp."""
    return demo_config(EXAMPLES, tmp, port, metrics_interval_s=1.0, **service)
