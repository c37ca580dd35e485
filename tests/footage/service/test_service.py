"""`greetcue run` end to end: real footage, the real detector, a real Mosquitto, a separate
subscriber and a staff member acknowledging cues over MQTT."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.config import CueConfig
from edge.contract import (
    AckRecorded,
    CueCommand,
    CueIssued,
    Metrics,
    ZoneEnter,
    ZoneOccupancy,
    decode,
    decode_event,
)
from edge.service.delivery.broker import Mosquitto
from edge.service.service import RunResult, Service
from edge.tools.demo.staff import DemoStaff
from tests.support.kiosk import ACK_DELAY_S, PART0, kiosk_config
from tests.support.mosquitto_fixture import Received, Subscriber


class KioskRun:
    """What one service run on PETS part 0 left on the broker."""

    def __init__(self, result: RunResult, seen: Subscriber, staff: DemoStaff, port: int) -> None:
        self.result, self.seen, self.staff, self.port = result, seen, staff, port

    def on(self, suffix: str) -> list[Received]:
        return [m for m in self.seen.messages if m.topic.endswith(suffix)]

    def events(self) -> list[Any]:
        return [decode_event(m.payload) for m in self.on("/event")]


@pytest.fixture(scope="module")
def kiosk(
    footage_dir: Path, model_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KioskRun]:
    tmp = tmp_path_factory.mktemp("kiosk")
    with Mosquitto(tmp / "mosquitto") as broker:
        seen = Subscriber(broker.port, "#").connect()
        staff = DemoStaff(broker.port, "pets2009", delay=lambda: ACK_DELAY_S, name="sam")
        config = kiosk_config(broker.port, tmp)
        result = Service(config, str(footage_dir / PART0)).run()
        time.sleep(ACK_DELAY_S + 0.5)  # the last acks are not waited for
        yield KioskRun(result, seen, staff, broker.port)
        staff.close()
        seen.disconnect()


@pytest.mark.footage
@pytest.mark.model
def test_every_event_arrives_once_and_follows_the_contract(kiosk: KioskRun) -> None:
    events = kiosk.events()
    assert kiosk.result.frames == 250 and kiosk.result.drained
    assert len(events) == kiosk.result.events >= 30
    assert len({event.id for event in events}) == len(events)
    assert all(event.id.version == 7 for event in events)
    assert {"track_start", "track_end", "zone_enter", "zone_exit", "cue"} <= {
        event.type for event in events
    }


@pytest.mark.footage
@pytest.mark.model
def test_zones_are_entered_from_the_outside_in(kiosk: KioskRun) -> None:
    radius = {"10ft": 10, "5ft": 5, "3ft": 3}
    entered: dict[int, list[str]] = defaultdict(list)
    for event in kiosk.events():
        if isinstance(event, ZoneEnter):
            assert event.track_id is not None and event.zone is not None
            outer = [z for z in radius if radius[z] > radius[event.zone]]
            assert set(outer) <= set(entered[event.track_id]), (event.track_id, event.zone)
            entered[event.track_id].append(event.zone)
    full = [track for track, zones in entered.items() if zones[:3] == ["10ft", "5ft", "3ft"]]
    assert len(full) >= 3, "several people walk right up to the kiosk in part 0"


@pytest.mark.footage
@pytest.mark.model
def test_cues_go_to_approaching_people_early_and_only_once(kiosk: KioskRun) -> None:
    events = kiosk.events()
    first_cues = [e for e in events if isinstance(e, CueIssued) and e.escalation == 0]
    assert len(first_cues) >= 4
    assert all(cue.zone == "10ft" and cue.reason == "zone" for cue in first_cues)
    assert all(cue.approach == "approaching" for cue in first_cues)
    assert len({cue.cue_id for cue in first_cues}) == len(first_cues)
    cued: set[int | None] = set()  # one cue per visit: until they leave the outer zone
    for event in events:
        if isinstance(event, CueIssued) and event.escalation == 0:
            assert event.track_id not in cued, f"track {event.track_id} buzzed twice"
            cued.add(event.track_id)
        elif event.type == "zone_exit" and event.zone == "10ft":
            cued.discard(event.track_id)
    leads = [e.lead_s for e in events if isinstance(e, ZoneEnter) and e.lead_s is not None]
    assert len(leads) >= len(first_cues) - 2, "most cued people walk on into the zone"
    assert sum(lead >= 0.3 for lead in leads) > len(leads) // 2, f"cued early: {leads}"


@pytest.mark.footage
@pytest.mark.model
def test_staff_acks_come_back_with_their_latency(kiosk: KioskRun) -> None:
    events = kiosk.events()
    cues = {e.cue_id: e for e in events if isinstance(e, CueIssued)}
    acks = [e for e in events if isinstance(e, AckRecorded)]
    assert kiosk.staff.cues and acks
    for ack in acks:
        assert ack.cue_id in cues and ack.staff == "sam" and ack.via == "mqtt"
        assert ACK_DELAY_S <= ack.latency_s < ACK_DELAY_S + 2.0
        assert set(ack.before) == {"10ft", "5ft", "3ft"}
    assert len({ack.cue_id for ack in acks}) == len(acks), "an ack counts once"


@pytest.mark.footage
@pytest.mark.model
def test_retained_state_waits_for_a_late_subscriber(kiosk: KioskRun) -> None:
    wanted = {
        "greetcue/pets2009/view001/availability",
        "homeassistant/device/greetcue_pets2009_view001/config",
        *(f"greetcue/pets2009/view001/zone/{zone}" for zone in ("10ft", "5ft", "3ft")),
    }
    late = Subscriber(kiosk.port, "#").connect()
    try:
        retained = late.wait_for(lambda ms: wanted <= {m.topic for m in ms})
    finally:
        late.disconnect()
    zones = [decode(ZoneOccupancy, m.payload) for m in retained if "/zone/" in m.topic]
    assert {zone.zone for zone in zones} == {"10ft", "5ft", "3ft"}
    assert all(m.retain for m in retained)
    by_topic = {m.topic: m.payload for m in retained}
    assert by_topic["greetcue/pets2009/view001/availability"] == b"offline"  # clean shutdown
    discovery = json.loads(by_topic["homeassistant/device/greetcue_pets2009_view001/config"])
    assert {c["p"] for c in discovery["cmps"].values()} == {"binary_sensor", "sensor"}


@pytest.mark.footage
@pytest.mark.model
def test_metrics_and_availability_while_running(kiosk: KioskRun) -> None:
    metrics = [decode(Metrics, m.payload) for m in kiosk.on("/metrics")]
    assert metrics and all(m.camera_online for m in metrics)
    assert any(m.fps > 0 and m.stage_ms["detect"] > 0 for m in metrics)
    states = [m.payload for m in kiosk.on("/availability")]
    assert states == [b"offline", b"online", b"offline"], "until the first frame, then shutdown"


@pytest.mark.footage
@pytest.mark.model
def test_unanswered_cues_escalate_and_waiting_customers_are_cued(
    footage_dir: Path, model_cache: Path, tmp_path: Path
) -> None:
    with Mosquitto(tmp_path / "mosquitto") as broker:
        watch = Subscriber(broker.port, "greetcue/pets2009/cue/watch-1").connect()
        seen = Subscriber(broker.port, "greetcue/+/+/event").connect()
        config = kiosk_config(broker.port, tmp_path)
        config = config.model_copy(
            update={
                "cues": CueConfig(rota=["counter", "watch-1"], ack_timeout_s=1.0),
                "presence": config.presence.model_copy(update={"waiting_s": 2.0}),
            }
        )
        result = Service(config, str(footage_dir / PART0)).run()
        assert result.drained
        watch.wait_for(lambda ms: len(ms) >= 1)
        events = [decode_event(m.payload) for m in seen.messages]
        watch.disconnect()
        seen.disconnect()
    cues = [e for e in events if isinstance(e, CueIssued)]
    escalated = [c for c in cues if c.escalation == 1]
    assert escalated and all(c.device == "watch-1" for c in escalated)
    first = {c.cue_id: c for c in cues if c.escalation == 0}
    assert all(c.cue_id in first and first[c.cue_id].device == "counter" for c in escalated)
    assert any(c.reason == "waiting" for c in cues), "someone lingers at the kiosk"
    commands = [decode(CueCommand, m.payload) for m in watch.messages]
    assert {c.cue_id for c in commands} <= {c.cue_id for c in cues if c.device == "watch-1"}
    assert all(m.properties.get("MessageExpiryInterval") for m in watch.messages)
