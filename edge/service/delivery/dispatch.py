"""The dispatcher: everything the edge sends, and every output it drives, leaves from here.

A turn's :class:`~edge.service.turn.Effects` come in; out go its events (stored in the outbox
first, then published in order), the zones' retained state (when due), its cue commands (to
the devices' MQTT topics with an expiry, and to the GPIO buzzer, the log) and the counter
light's zone. Discovery and metrics go out through ``Dispatcher.send``, availability
through :meth:`Dispatcher.availability`; no other module holds the MQTT link or the
publisher. Nothing here blocks: the publisher and the outputs work on their own threads.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from edge.config import Config
from edge.contract import CueCommand, EventBase, Metrics, Topic, encode, utc
from edge.service.delivery.mqtt import MqttLink
from edge.service.delivery.occupancy import OccupancyBoard
from edge.service.delivery.outbox import Outgoing
from edge.service.delivery.outputs import CueOutput, DeviceCue
from edge.service.delivery.publisher import Publisher, Send
from edge.service.turn import Effects


class Dispatcher:
    """One camera's way out: the publisher over its MQTT link, and the local cue outputs
    (``outputs``: GPIO and log; the devices on MQTT are the dispatcher's own)."""

    def __init__(
        self,
        config: Config,
        prefix: str,
        link: MqttLink,
        publisher: Publisher,
        outputs: Sequence[CueOutput] = (),
    ) -> None:
        site, camera = config.site, config.camera.name
        self._link, self._publisher = link, publisher
        # Publish without storing: retained state, device cues, discovery and metrics.
        self.send: Send = publisher.send_now
        self._event_topic = Topic.EVENT.build(prefix=prefix, site=site, camera=camera)
        self._metrics_topic = Topic.METRICS.build(prefix=prefix, site=site, camera=camera)
        self._board = OccupancyBoard(
            site, camera, prefix, config.zones, config.service.occupancy_refresh_s
        )
        devices = DeviceCue(prefix, site, config.cues.rota, self.send)
        self._outputs: list[CueOutput] = [devices, *outputs]

    def effects(self, effects: Effects, captured_wall: float | None, now_wall: float) -> None:
        """Carry out one turn's effects: events to the outbox (their latency counted from
        ``captured_wall``), zone state when due, cue commands and the light to the outputs."""
        self.events(effects.events, captured_wall)
        for topic, payload in self._board.due(effects.occupancy, now_wall):
            self.send(topic, payload, 1, True)
        self.cues(effects.commands)
        for output in self._outputs:
            output.show(effects.nearest_zone)

    def events(self, events: Sequence[EventBase], captured_wall: float | None) -> None:
        """Events as QoS 1 messages on the event topic, stamped ``published_at`` now, into the
        outbox."""
        now = utc(time.time())
        self._publisher.submit(
            Outgoing(
                self._event_topic,
                encode(event.model_copy(update={"published_at": now})),
                qos=1,
                captured_wall=captured_wall,
            )
            for event in events
        )

    def cues(self, commands: Sequence[CueCommand]) -> None:
        """Hand each cue command to every output (each takes the ones for its device)."""
        for command in commands:
            for output in self._outputs:
                output.cue(command)

    def metrics(self, report: Metrics) -> None:
        """The metrics message, QoS 0."""
        self.send(self._metrics_topic, encode(report), 0, False)

    def availability(self, online: bool) -> None:
        """``online`` / ``offline`` on the retained availability topic (offline is the will)."""
        self._link.set_available(online)

    # Delivery, for metrics and the end of a file.

    def latencies(self) -> list[float]:
        """Capture-to-PUBACK seconds of the events delivered since the last call."""
        return self._publisher.latencies()

    @property
    def depth(self) -> int:
        """Events not yet acknowledged by the broker."""
        return self._publisher.depth

    @property
    def dropped(self) -> int:
        """Events dropped at an outbox bound."""
        return self._publisher.dropped

    @property
    def rejected(self) -> int:
        """Events the broker refused for good."""
        return self._publisher.rejected

    def drain(self, timeout_s: float) -> bool:
        """Wait until every event is delivered; False at the timeout."""
        return self._publisher.drain(timeout_s)
