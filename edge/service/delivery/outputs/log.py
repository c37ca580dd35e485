"""Cues in the log: a box with no buzzer or wearable still shows what it would have cued."""

from __future__ import annotations

import logging

from edge.contract import CueCommand
from edge.service.delivery.outputs.base import CueOutput

log = logging.getLogger(__name__)


class LogOutput(CueOutput):
    """One readable INFO line per cue (and per escalation)."""

    def cue(self, command: CueCommand) -> None:
        """Log who is cued, for whom and how far away the customer is."""
        step = f", escalation {command.escalation}" if command.escalation else ""
        distance = "?" if command.distance_ft is None else f"{command.distance_ft:.1f}"
        log.info(
            "cue %s -> %s: track %d, %s (%s) at %s ft%s",
            command.cue_id,
            command.device,
            command.track_id,
            command.zone,
            command.reason,
            distance,
            step,
        )
