"""The one interface every cue output implements."""

from __future__ import annotations

from abc import ABC, abstractmethod

from edge.contract import CueCommand


class CueOutput(ABC):
    """Somewhere a cue goes. Called from the frame loop, so no method may block or raise:
    anything slow (a buzz pattern, a publish) runs in the background."""

    @abstractmethod
    def cue(self, command: CueCommand) -> None:
        """Deliver one cue (outputs ignore commands for devices that are not theirs)."""

    def show(self, nearest_zone: str | None) -> None:  # noqa: B027 (a deliberate default)
        """The nearest occupied zone, every frame (None: nobody in any zone); most outputs
        only care about cues."""

    def close(self) -> None:  # noqa: B027 (a deliberate default)
        """Release pins and threads; outputs holding neither have nothing to do."""
