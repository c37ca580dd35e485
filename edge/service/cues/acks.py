"""Acknowledgements in: the ack topic and a GPIO button, handed to the frame loop.

Acks arrive on paho's network thread and on gpiozero's callback thread, while the
:class:`~edge.service.cues.desk.CueDesk` lives in the frame loop: both put into an
:class:`AckInbox` (stamped with the arrival time, which latency uses), and the loop drains it
every frame. The ack topic is untrusted input: a bad payload, or one speaking for another
device than its topic names, is refused, counted by kind and logged (rate-limited, so a flood
cannot fill the log), and never raises into the network thread. Whether the device may
acknowledge that cue at all is the desk's check (:mod:`edge.service.cues.desk`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from edge.config import ButtonConfig
from edge.contract import (
    DEFAULT_PREFIX,
    Ack,
    ContractError,
    Topic,
    check_topic_agreement,
    decode,
    parse_topic,
)
from edge.plumbing.throttle import LogThrottle
from edge.service.cues.desk import StaffAck
from edge.service.delivery.outputs.gpio import gpio_errors

log = logging.getLogger(__name__)

Clock = Callable[[], float]
# An ack is well under 1 KiB; anything much larger is refused before it is parsed.
MAX_ACK_BYTES = 4096


class AckInbox:
    """A bounded, thread-safe queue of acks awaiting the frame loop; when full (the loop has
    stalled), new acks are refused and counted in ``dropped``."""

    def __init__(self, capacity: int = 256) -> None:
        self._capacity = capacity
        self._lock = threading.Lock()
        self._pending: deque[StaffAck] = deque()
        self.dropped = 0

    def put(self, ack: StaffAck) -> bool:
        """Queue an ack from any thread; False when the inbox is full."""
        with self._lock:
            if len(self._pending) >= self._capacity:
                self.dropped += 1
                return False
            self._pending.append(ack)
            return True

    def drain(self) -> list[StaffAck]:
        """Every pending ack, in arrival order (the frame loop calls this each frame)."""
        with self._lock:
            acks = list(self._pending)
            self._pending.clear()
        return acks


class AckTopicHandler:
    """``handler(topic, payload)`` for ``<prefix>/<site>/ack/+``: validates each payload as an
    :class:`~edge.contract.Ack` naming the device of its topic and queues it. Refusals are
    counted in ``refused`` by kind: ``ack_payload`` (not a valid ack), ``ack_topic_mismatch``
    (the payload speaks for another device than its topic: the broker's ACL lets a device
    write only its own topic, so this is a forgery) and ``ack_inbox_full``."""

    def __init__(
        self,
        inbox: AckInbox,
        prefix: str = DEFAULT_PREFIX,
        clock: Clock = time.time,
        throttle: LogThrottle | None = None,
    ) -> None:
        self._inbox, self._prefix, self._clock = inbox, prefix, clock
        self._throttle = throttle or LogThrottle()
        self.refused: Counter[str] = Counter()

    def __call__(self, topic: str, payload: bytes) -> None:
        received = self._clock()
        if len(payload) > MAX_ACK_BYTES:
            reason = f"payload of {len(payload)} bytes (at most {MAX_ACK_BYTES})"
            self._refuse("ack_payload", topic, reason)
            return
        try:
            ack = decode(Ack, payload)
        except ContractError as exc:
            self._refuse("ack_payload", topic, str(exc))
            return
        try:
            self._check_topic(topic, ack)
        except ContractError as exc:
            self._refuse("ack_topic_mismatch", topic, str(exc))
            return
        staff_ack = StaffAck(ack.cue_id, ack.device, "mqtt", received, ack.staff)
        if not self._inbox.put(staff_ack):
            self._refuse("ack_inbox_full", topic, "the frame loop is not draining acks (stalled?)")

    def _check_topic(self, topic: str, ack: Ack) -> None:
        parsed = parse_topic(topic, self._prefix)
        if parsed is None or parsed[0] is not Topic.ACK:
            raise ContractError(f"not an ack topic under {self._prefix!r}")
        check_topic_agreement(*parsed, ack)

    def _refuse(self, kind: str, topic: str, reason: str) -> None:
        self.refused[kind] += 1
        held = self._throttle.ready()
        if held is not None:
            log.warning(
                "ack on %s refused (%s): %s%s", topic, kind, reason, LogThrottle.since(held)
            )


class GpioButton:
    """A push button (wired to ground) that acknowledges for its device: a press names no
    cue, so the desk takes the oldest open cue of that device."""

    def __init__(
        self,
        config: ButtonConfig,
        inbox: AckInbox,
        pin_factory: Any = None,
        clock: Clock = time.time,
    ) -> None:
        self.device = config.device
        self._inbox, self._clock = inbox, clock
        with gpio_errors("gpio.button.pin"):
            from gpiozero import Button  # loaded only on a box with a button configured

            self._button = Button(
                config.pin,
                pull_up=True,
                bounce_time=config.bounce_s or None,
                pin_factory=pin_factory,
            )
        self._button.when_pressed = self._pressed

    def close(self) -> None:
        """Release the pin."""
        self._button.close()

    def _pressed(self) -> None:
        if not self._inbox.put(StaffAck(None, self.device, "button", self._clock())):
            log.warning("button press on %s dropped: the ack inbox is full", self.device)
