"""The connections and devices of one camera's service, started and stopped in the right order.

Start: the embedded broker (when there is no ``mqtt`` section), the MQTT link, the publisher
with its outbox, the dispatcher over them, Home Assistant discovery, the ack inputs, the cue
outputs and ``/metrics``. Stop, in reverse: inputs and outputs, then the publisher (which
stores what is still queued), then the link (``offline`` is its last message), then the
broker. The frame loop gets only :class:`Connections`: the way out, the acks in, and the
inputs' refusal counts.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import platformdirs

from edge.config import Config, MqttConfig
from edge.contract import Topic
from edge.service.cues.acks import AckInbox, AckTopicHandler, GpioButton
from edge.service.delivery.broker import Mosquitto
from edge.service.delivery.discovery import Discovery
from edge.service.delivery.dispatch import Dispatcher
from edge.service.delivery.mqtt import MqttLink
from edge.service.delivery.outbox import Outbox
from edge.service.delivery.outputs import CueOutput
from edge.service.delivery.outputs.gpio import build_outputs, open_pin_factory
from edge.service.delivery.publisher import Publisher
from edge.service.health.metrics import ServiceMetrics

log = logging.getLogger(__name__)

STATE_ENV = "GREETCUE_STATE_DIR"


def state_dir() -> Path:
    """Where the outbox and the embedded broker keep their files: ``$GREETCUE_STATE_DIR``
    (``/var/lib/greetcue`` for the system service), else the user's state folder."""
    folder = os.environ.get(STATE_ENV) or platformdirs.user_state_dir("greetcue")
    return Path(folder).expanduser()


@dataclass(frozen=True, slots=True)
class Connections:
    """What the frame loop uses of the running connections: ``dispatch`` (everything sent),
    ``acks`` (staff acks in), ``refused()`` (messages the inputs refused, by kind), and the
    ports the embedded broker and ``/metrics`` listen on (None: not running)."""

    dispatch: Dispatcher
    acks: AckInbox
    refused: Callable[[], dict[str, int]]
    broker_port: int | None
    metrics_port: int | None


class Runtime:
    """The connections and devices of one camera's service; a context manager whose
    ``with`` gives the :class:`Connections`. ``metrics`` is served on ``/metrics`` when
    ``service.metrics_port`` is set."""

    def __init__(self, config: Config, metrics: ServiceMetrics | None = None) -> None:
        self._config = config
        self._metrics = metrics or ServiceMetrics.from_config(config)
        self._stack = ExitStack()

    def __enter__(self) -> Connections:
        try:
            return self._start()
        except BaseException:
            self._stack.close()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.close()

    def _start(self) -> Connections:
        config, state = self._config, state_dir()
        mqtt, broker_port = config.mqtt, None
        prefix = (mqtt or MqttConfig()).prefix
        names = {"prefix": prefix, "site": config.site, "camera": config.camera.name}
        if mqtt is None:
            broker = Mosquitto.from_config(config.embedded_broker, state)
            self._stack.enter_context(broker.start())
            broker_port = broker.port
            log.info("no mqtt section: embedded broker on 127.0.0.1:%d", broker_port)
            mqtt = MqttConfig(host="127.0.0.1", port=broker_port, discovery_prefix=None)
        availability = Topic.AVAILABILITY.build(**names)
        link = MqttLink(mqtt, availability, f"greetcue-{config.site}-{config.camera.name}")
        self._stack.callback(link.close)
        path = config.outbox.path or state / f"outbox-{config.site}-{config.camera.name}.sqlite3"
        publisher = Publisher(link, Outbox(path, config.outbox), config.outbox)
        self._stack.callback(publisher.close)
        publisher.start()
        inbox = AckInbox()
        pin_factory = open_pin_factory(config.gpio) if config.gpio is not None else None
        dispatch = Dispatcher(config, prefix, link, publisher, self._outputs(pin_factory))
        discovery = self._start_discovery(config, mqtt, link, dispatch)
        ack_handler = AckTopicHandler(inbox, prefix)
        ack_topic = Topic.ACK.filter(prefix=prefix, site=config.site)
        link.subscribe(ack_topic, ack_handler, retained=False)  # only live acks
        dispatch.availability(False)  # until the camera delivers its first frame
        link.start()
        self._start_button(inbox, pin_factory)
        metrics_port = None
        port = config.service.metrics_port
        if port is not None:
            metrics_port = self._metrics.start_http(config.service.metrics_host, port)
        self._stack.callback(self._metrics.close)

        def refused() -> dict[str, int]:
            return {
                **ack_handler.refused,
                "handler_error": link.handler_errors,
                **(discovery.counts if discovery is not None else {}),
            }

        return Connections(dispatch, inbox, refused, broker_port, metrics_port)

    def _start_discovery(
        self, config: Config, mqtt: MqttConfig, link: MqttLink, dispatch: Dispatcher
    ) -> Discovery | None:
        if mqtt.discovery_prefix is None:
            return None
        discovery = Discovery(config.model_copy(update={"mqtt": mqtt}), dispatch.send)
        self._stack.callback(discovery.close)
        # Sent once: the publisher keeps the latest retained message and resends it on every
        # reconnect; Home Assistant's birth message asks for it again.
        discovery.on_connect()
        link.subscribe(discovery.status_topic, lambda topic, body: discovery.on_status(body))
        return discovery

    def _outputs(self, pin_factory: Any) -> list[CueOutput]:
        outputs = build_outputs(self._config, pin_factory)
        for output in outputs:
            self._stack.callback(output.close)
        return outputs

    def _start_button(self, inbox: AckInbox, pin_factory: Any) -> None:
        gpio = self._config.gpio
        if gpio is not None and gpio.button is not None:
            button = GpioButton(gpio.button, inbox, pin_factory)
            self._stack.callback(button.close)
