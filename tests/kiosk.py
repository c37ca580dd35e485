"""The PETS kiosk set-up the service tests share: its configuration on a test broker, and a
staff member who acknowledges cues over MQTT."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from edge.config import Config, load_config
from edge.contract import Ack, CueCommand, decode, encode

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


class StaffMember:
    """A wearable that acknowledges every cue it gets after ``ACK_DELAY_S``."""

    def __init__(self, port: int, site: str) -> None:
        self.site = site
        self.cues: list[CueCommand] = []
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"staff-{uuid.uuid4().hex[:6]}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self._client.on_message = self._on_cue
        self._client.connect("127.0.0.1", port)
        self._client.subscribe(f"greetcue/{site}/cue/+", qos=1)
        self._client.loop_start()

    def _on_cue(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        command = decode(CueCommand, bytes(message.payload))
        self.cues.append(command)
        ack = Ack(cue_id=command.cue_id, device=command.device, staff="sam")
        topic = f"greetcue/{self.site}/ack"
        threading.Timer(ACK_DELAY_S, client.publish, (topic, encode(ack), 1)).start()

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def write_config(config: Config, path: Path) -> Path:
    """The configuration as a YAML file, for ``greetcue run --config``."""
    path.write_text(yaml.safe_dump(config.model_dump(mode="json", exclude_none=True)))
    return path
