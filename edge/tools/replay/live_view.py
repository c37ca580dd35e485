"""A live console view of the running service, for the demo: who is where, which cue fired,
lead times and acknowledgement latencies, as they happen. Display only: it observes the loop's
:class:`~edge.service.service.Tick` and never feeds anything back."""

from __future__ import annotations

import json
import logging
from collections import deque
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from rich.console import Console, Group
from rich.live import Live
from rich.logging import RichHandler
from rich.table import Table
from rich.text import Text

from edge.contract import AckRecorded, CueIssued, CueUnacknowledged, EventBase, ZoneEnter
from edge.service.presence.zones import PersonView
from edge.service.service import Tick

RECENT = 10
STYLE = {
    "cue": "bold magenta",
    "ack": "bold green",
    "left_unacknowledged": "bold red",
    "zone_enter": "cyan",
    "zone_exit": "dim cyan",
}


def describe(event: EventBase) -> str:
    """One line a person reads: what happened, to whom, and the figure that matters."""
    kind = getattr(event, "type", "event")
    who = f"person {event.track_id}" if event.track_id is not None else ""
    where = f" {event.zone}" if event.zone else ""
    at = f" at {event.distance_ft:.1f} ft" if event.distance_ft is not None else ""
    extra = ""
    if isinstance(event, ZoneEnter) and event.lead_s is not None:
        extra = f", cued {event.lead_s:+.2f} s before crossing"
    elif isinstance(event, CueIssued):
        extra = f" -> {event.device}" + (
            f" (escalation {event.escalation})" * bool(event.escalation)
        )
    elif isinstance(event, AckRecorded):
        extra = f" by {event.staff or event.device} after {event.latency_s:.2f} s"
    elif isinstance(event, CueUnacknowledged):
        extra = f", left after {event.open_s:.1f} s with no acknowledgement"
    return f"{kind:<20} {who}{where}{at}{extra}"


class LiveView:
    """Draws the people table and the latest events; writes every event to ``log_path``."""

    def __init__(self, title: str, log_path: Path, console: Console | None = None) -> None:
        self._title = title
        self._recent: deque[Text] = deque(maxlen=RECENT)
        self._log: IO[str] = log_path.open("w", encoding="utf-8")
        self._console = console or Console()
        self._live = Live(console=self._console, refresh_per_second=8, transient=False)
        self._handlers: list[logging.Handler] = []
        self.counts: dict[str, int] = {}
        self.leads: list[float] = []
        self.latencies: list[float] = []

    def __enter__(self) -> Self:
        root = logging.getLogger()
        self._handlers, root.handlers = root.handlers, [RichHandler(console=self._console)]
        self._live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._live.__exit__(exc_type, exc, tb)
        logging.getLogger().handlers = self._handlers
        self._log.close()

    def __call__(self, tick: Tick) -> None:
        for event in tick.events:
            self._record(event)
        if tick.frame is not None or tick.events:
            self._live.update(self._render(tick))

    def _record(self, event: EventBase) -> None:
        self._log.write(event.model_dump_json() + "\n")
        kind = getattr(event, "type", "event")
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if isinstance(event, ZoneEnter) and event.lead_s is not None:
            self.leads.append(event.lead_s)
        if isinstance(event, AckRecorded):
            self.latencies.append(event.latency_s)
        if kind not in ("track_start", "track_end"):
            self._recent.append(Text(describe(event), style=STYLE.get(kind, "")))

    def _render(self, tick: Tick) -> Group:
        people = Table(title=self._title, expand=True)
        for column in ("person", "distance", "speed", "next ring in", "walking", "inside", "cued"):
            people.add_column(column)
        for person in tick.people:
            people.add_row(*_row(person))
        camera = "[green]camera online" if tick.camera_online else "[red]camera OFFLINE"
        frame = f"frame {tick.frame.index}" if tick.frame is not None else "waiting for frames"
        status = Text.from_markup(f"{camera}[/]  {frame}  events {sum(self.counts.values())}")
        return Group(people, status, Text("latest events:", style="bold"), *self._recent)


def _row(person: PersonView) -> list[str]:
    speed = "" if person.speed_ftps is None else f"{person.speed_ftps:+.1f} ft/s"
    tta = "" if person.next_ring_s is None else f"{person.next_ring_s:.1f} s"
    return [
        str(person.track_id),
        f"{person.distance_ft:.1f} ft",
        speed,
        tta,
        person.approach,
        " ".join(person.inside),
        " ".join(person.cued) + (" waiting" if person.waiting_cued else ""),
    ]


def read_event_log(path: Path) -> list[dict[str, object]]:
    """The events a live view wrote, one JSON object per line."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
