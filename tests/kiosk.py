"""The PETS kiosk set-up the service tests share: its configuration on a test broker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from edge.config import Config, load_config

KIOSK = Path(__file__).resolve().parent.parent / "deploy" / "examples" / "pets-kiosk.yaml"
PART0 = "pets2009_s2l1/vtest_part0.avi"
ACK_DELAY_S = 0.3


def kiosk_config(port: int | None, tmp: Path, **service: Any) -> Config:
    """The PETS kiosk example on the test broker (None: the embedded one), state in tmp."""
    data = load_config(KIOSK).model_dump(mode="json", exclude_none=True)
    if port is not None:
        data["mqtt"] = {"host": "127.0.0.1", "port": port}
    data["embedded_broker"] = {"port": 0, "state_dir": str(tmp / "broker")}
    data["outbox"] = {"path": str(tmp / "outbox.sqlite3")}
    data["service"] = {"metrics_port": None, "metrics_interval_s": 1.0, **service}
    return Config.model_validate(data)


def write_config(config: Config, path: Path) -> Path:
    """The configuration as a YAML file, for ``greetcue run --config``."""
    path.write_text(yaml.safe_dump(config.model_dump(mode="json", exclude_none=True)))
    return path
