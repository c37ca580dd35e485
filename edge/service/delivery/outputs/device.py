"""Cues to wearables, phones and lights that listen on MQTT."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from edge.config import ConfigError
from edge.contract import ContractError, CueCommand, Topic, encode
from edge.service.delivery.outputs.base import CueOutput
from edge.service.delivery.publisher import Send

log = logging.getLogger(__name__)


class DeviceCue(CueOutput):
    """Publishes every cue on ``<prefix>/<site>/cue/<device>``, QoS 1, never retained, with
    MQTT 5 message expiry = the cue's remaining lifetime: a device that connects late gets
    no stale buzz, because the broker drops the message once it expires."""

    def __init__(
        self,
        prefix: str,
        site: str,
        devices: Iterable[str],
        send: Send,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._prefix, self._site, self._send, self._clock = prefix, site, send, clock
        try:
            self._topics = {device: self._topic(device) for device in devices}
        except ContractError as exc:
            raise ConfigError(f"cues.rota: {exc}") from None
        self.stale = 0

    def cue(self, command: CueCommand) -> None:
        """Publish now, unless the cue has already expired (counted in ``stale``)."""
        remaining = command.expires_at.timestamp() - self._clock()
        if remaining <= 0:
            self.stale += 1
            log.debug("cue %s for %s expired before it was sent", command.cue_id, command.device)
            return
        topic = self._topics.get(command.device) or self._topic(command.device)
        self._send(topic, encode(command), 1, False, remaining)

    def _topic(self, device: str) -> str:
        return Topic.CUE.build(prefix=self._prefix, site=self._site, device=device)
