"""Acknowledgements in: the ack topic and a GPIO button, handed to the frame loop.

Acks arrive on paho's network thread and on gpiozero's callback thread, while the
:class:`~edge.service.cues.CueDesk` lives in the frame loop: both put into an
:class:`AckInbox` (stamped with the arrival time, which latency uses), and the loop drains it
every frame. The ack topic is untrusted input: a bad payload is refused, counted and logged
(rate-limited, so a flood cannot fill the log), and never raises into the network thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from gpiozero import Button

from edge.config import ButtonConfig
from edge.contract import Ack, ContractError, decode
from edge.service.cues import StaffAck
from edge.service.outputs.gpio import gpio_errors

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


class LogThrottle:
    """At most one report per ``interval_s``; says how many were held back in between."""

    def __init__(self, interval_s: float = 10.0, clock: Clock = time.monotonic) -> None:
        self._interval_s, self._clock = interval_s, clock
        self._next = float("-inf")
        self._held = 0

    def ready(self) -> int | None:
        """None while quiet; else the number of reports held back since the last one."""
        now = self._clock()
        if now < self._next:
            self._held += 1
            return None
        self._next = now + self._interval_s
        held, self._held = self._held, 0
        return held


class AckTopicHandler:
    """``handler(topic, payload)`` for the ack topic: validates each payload as an
    :class:`~edge.contract.Ack` and queues it; refusals are counted in ``refused``."""

    def __init__(
        self, inbox: AckInbox, clock: Clock = time.time, throttle: LogThrottle | None = None
    ) -> None:
        self._inbox, self._clock = inbox, clock
        self._throttle = throttle or LogThrottle()
        self.refused = 0

    def __call__(self, topic: str, payload: bytes) -> None:
        received = self._clock()
        if len(payload) > MAX_ACK_BYTES:
            self._refuse(topic, f"payload of {len(payload)} bytes (at most {MAX_ACK_BYTES})")
            return
        try:
            ack = decode(Ack, payload)
        except ContractError as exc:
            self._refuse(topic, str(exc))
            return
        staff_ack = StaffAck(ack.cue_id, ack.device, "mqtt", received, ack.staff)
        if not self._inbox.put(staff_ack):
            self._refuse(topic, "the ack inbox is full (is the frame loop stalled?)")

    def _refuse(self, topic: str, reason: str) -> None:
        self.refused += 1
        held = self._throttle.ready()
        if held is not None:
            more = f" ({held} more refused since the last report)" if held else ""
            log.warning("ack on %s refused: %s%s", topic, reason, more)


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
