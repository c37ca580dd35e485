"""What the frame loop talks to, started and stopped in the right order.

Start: the embedded broker (when there is no ``mqtt`` section), the MQTT link, the publisher
with its outbox, Home Assistant discovery, the ack inputs, the cue outputs and ``/metrics``.
Stop, in reverse: inputs and outputs, then the publisher (which stores what is still queued),
then the link (``offline`` is its last message), then the broker.
"""

from __future__ import annotations

import logging
import os
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import platformdirs

from edge.config import Config, MqttConfig
from edge.contract import Topic
from edge.service.acks import AckInbox, AckTopicHandler, GpioButton
from edge.service.broker import Mosquitto
from edge.service.cues import CueDesk
from edge.service.discovery import Discovery
from edge.service.metrics import ServiceMetrics
from edge.service.mqtt import MqttLink
from edge.service.outbox import Outbox
from edge.service.outputs import CueOutput
from edge.service.outputs.gpio import build_outputs, open_pin_factory
from edge.service.publisher import Publisher

log = logging.getLogger(__name__)

STATE_ENV = "GREETCUE_STATE_DIR"


def state_dir() -> Path:
    """Where the outbox and the embedded broker keep their files: ``$GREETCUE_STATE_DIR``
    (``/var/lib/greetcue`` for the system service), else the user's state folder."""
    folder = os.environ.get(STATE_ENV) or platformdirs.user_state_dir("greetcue")
    return Path(folder).expanduser()


class Runtime:
    """The connections and devices of one camera's service; a context manager."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.prefix = (config.mqtt or MqttConfig()).prefix
        names = {"prefix": self.prefix, "site": config.site, "camera": config.camera.name}
        self.metrics_topic = Topic.METRICS.build(**names)
        self._availability = Topic.AVAILABILITY.build(**names)
        self._stack = ExitStack()
        self.broker: Mosquitto | None = None
        self.inbox = AckInbox()
        self.ack_handler = AckTopicHandler(self.inbox, self.prefix)
        self.metrics = ServiceMetrics.from_config(config)
        self.metrics_port: int | None = None
        self.discovery: Discovery | None = None

    def __enter__(self) -> Self:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.close()

    def _start(self) -> None:
        config, state = self.config, state_dir()
        mqtt = config.mqtt
        if mqtt is None:
            self.broker = Mosquitto.from_config(config.embedded_broker, state)
            self._stack.enter_context(self.broker.start())
            log.info("no mqtt section: embedded broker on 127.0.0.1:%d", self.broker.port)
            mqtt = MqttConfig(host="127.0.0.1", port=self.broker.port, discovery_prefix=None)
        self.link = MqttLink(
            mqtt, self._availability, f"greetcue-{config.site}-{config.camera.name}"
        )
        self._stack.callback(self.link.close)
        path = config.outbox.path or state / f"outbox-{config.site}-{config.camera.name}.sqlite3"
        self.publisher = Publisher(self.link, Outbox(path, config.outbox), config.outbox)
        self._stack.callback(self.publisher.close)
        self.publisher.start()
        self._start_discovery(config, mqtt)
        ack_topic = Topic.ACK.filter(prefix=self.prefix, site=config.site)
        self.link.subscribe(ack_topic, self.ack_handler, retained=False)  # only live acks
        self.link.set_available(False)  # until the camera delivers its first frame
        self.link.start()
        self.outputs = self._start_devices(config)
        self.desk = CueDesk(config, self.outputs)
        port = config.service.metrics_port
        if port is not None:
            self.metrics_port = self.metrics.start_http(config.service.metrics_host, port)
        self._stack.callback(self.metrics.close)

    def _start_discovery(self, config: Config, mqtt: MqttConfig) -> None:
        if mqtt.discovery_prefix is None:
            return
        discovery = Discovery(config.model_copy(update={"mqtt": mqtt}), self.publisher.send_now)
        self._stack.callback(discovery.close)
        self.discovery = discovery
        # Sent once: the publisher keeps the latest retained message and resends it on every
        # reconnect; Home Assistant's birth message asks for it again.
        discovery.on_connect()
        self.link.subscribe(discovery.status_topic, lambda topic, body: discovery.on_status(body))

    def _start_devices(self, config: Config) -> list[CueOutput]:
        pin_factory: Any = None
        if config.gpio is not None:
            pin_factory = open_pin_factory(config.gpio)
        outputs = build_outputs(config, self.publisher.send_now, pin_factory)
        for output in outputs:
            self._stack.callback(output.close)
        if config.gpio is not None and config.gpio.button is not None:
            button = GpioButton(config.gpio.button, self.inbox, pin_factory)
            self._stack.callback(button.close)
        return outputs
