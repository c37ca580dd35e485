"""The demo's service part: ``greetcue run`` on a real clip with the embedded broker, a live
console view, and a simulated staff member acknowledging cues over MQTT."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from edge.config import Config, load_config
from edge.service.service import Service, Tick
from edge.tools.demo.staff import DemoStaff
from edge.tools.footage.location import PETS_DIR, PETS_PARTS, footage_path
from edge.tools.replay.live_view import LiveView

KIOSK = "pets-kiosk.yaml"
EVENT_LOG = "service-events.jsonl"


class _Observer:
    """The live view, plus the demo staff member once the embedded broker is up."""

    def __init__(self, view: LiveView, site: str) -> None:
        self.view, self.site = view, site
        self.service: Service | None = None
        self.staff: DemoStaff | None = None

    def __call__(self, tick: Tick) -> None:
        port = self.service.broker_port if self.service is not None else None
        if self.staff is None and port is not None:
            self.staff = DemoStaff(port, self.site)
        self.view(tick)


def demo_config(examples: Path, state: Path, port: int | None = None, **service: Any) -> Config:
    """The kiosk example with its state in ``state``, no /metrics port, on the broker at
    ``port`` (None: the embedded one, on a free port); ``service`` keys override."""
    data = load_config(examples / KIOSK).model_dump(mode="json", exclude_none=True)
    if port is not None:
        data["mqtt"] = {"host": "127.0.0.1", "port": port}
    data["embedded_broker"] = {"port": 0, "state_dir": str(state / "broker")}
    data["outbox"] = {"path": str(state / "outbox.sqlite3")}
    data["service"] = {"metrics_port": None, **service}
    return Config.model_validate(data)


def service_part(out: Path, examples: Path, realtime: bool = True) -> list[str]:
    """Run the service on PETS part 0; the summary lines of what it did."""
    state = out / "service-state"
    shutil.rmtree(state, ignore_errors=True)
    config = demo_config(examples, state)
    clip = footage_path(f"{PETS_DIR}/{PETS_PARTS[0]}")
    title = "greetcue run: PETS 2009 kiosk (simulated staff member acknowledges cues)"
    with LiveView(title, out / EVENT_LOG) as view:
        observer = _Observer(view, config.site)
        service = Service(config, str(clip), realtime=realtime, observer=observer)
        observer.service = service
        try:
            result = service.run()
        finally:
            if observer.staff is not None:
                observer.staff.close()
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(view.counts.items()))
    return [
        "## Edge service: zone events, cues and acknowledgements over MQTT",
        "",
        f"- configuration `{KIOSK}` (a kiosk in the middle of the PETS plaza), embedded "
        f"Mosquitto, {result.frames} frames" + (" paced to the clip's frame rate" * realtime),
        f"- {result.events} events: {counts}",
        f"- {_figures('lead time at the 10 ft ring (crossing minus cue)', view.leads)}",
        f"- {_figures('acknowledgement latency (simulated staff, 0.6-1.5 s)', view.latencies)}",
        f"- outbox {'drained' if result.drained else f'kept {result.undelivered} events'}; "
        f"every event in `{EVENT_LOG}`",
        "",
    ]


def _figures(what: str, values: list[float]) -> str:
    if not values:
        return f"{what}: none in this run"
    data = np.asarray(values)
    return (
        f"{what}: median {np.median(data):.2f} s, min {data.min():.2f} s, "
        f"max {data.max():.2f} s over {len(data)}"
    )
