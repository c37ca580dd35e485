"""A simulated staff member for the demo and the tests: a wearable that acknowledges cues.

Clearly a stand-in, never part of the product: it listens on ``<prefix>/<site>/cue/+`` like a
real wearable and answers each cue on the ack topic after a human-like delay, so the demo
shows acknowledgement latency without anyone at the counter.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from edge.contract import (
    DEFAULT_PREFIX,
    Ack,
    ContractError,
    CueCommand,
    Topic,
    decode,
    encode,
)

log = logging.getLogger(__name__)

STAFF_NAME = "demo-staff"
# People react to a vibration in 0.3-0.5 s; looking up and pressing takes a little longer.
HUMAN_DELAY_S = (0.6, 1.5)


class DemoStaff:
    """Acknowledges every cue it receives after ``delay()`` seconds (default: 0.6-1.5 s)."""

    def __init__(
        self,
        port: int,
        site: str,
        *,
        host: str = "127.0.0.1",
        prefix: str = DEFAULT_PREFIX,
        delay: Callable[[], float] = lambda: random.uniform(*HUMAN_DELAY_S),
        name: str = STAFF_NAME,
    ) -> None:
        self.cues: list[CueCommand] = []
        self.name = name
        self._delay = delay
        self._prefix, self._site = prefix, site
        self._timers: list[threading.Timer] = []
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{name}-{uuid.uuid4().hex[:6]}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self._client.on_message = self._on_cue
        self._client.connect(host, port)
        self._client.subscribe(Topic.CUE.filter(prefix=prefix, site=site), qos=1)
        self._client.loop_start()

    def close(self) -> None:
        """Stop answering (pending answers are dropped) and disconnect."""
        for timer in self._timers:
            timer.cancel()
        self._client.disconnect()
        self._client.loop_stop()

    def _on_cue(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            command = decode(CueCommand, bytes(message.payload))
        except ContractError as exc:
            log.warning("demo staff: cue on %s refused: %s", message.topic, exc)
            return
        self.cues.append(command)
        ack = Ack(cue_id=command.cue_id, device=command.device, staff=self.name)
        topic = Topic.ACK.build(prefix=self._prefix, site=self._site, device=command.device)
        timer = threading.Timer(self._delay(), client.publish, (topic, encode(ack), 1))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()
