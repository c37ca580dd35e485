"""CueDesk: one cue per customer, escalation along the rota, acks counted once, leavers."""

from __future__ import annotations

import logging
from collections.abc import Collection
from uuid import UUID

import pytest

from edge.config import Config, parse_config
from edge.contract import AckRecorded, CueIssued, CueUnacknowledged, new_id, utc
from edge.service.cues.desk import CueDesk, CueEvent, PersonSnapshot, Reached, StaffAck

ROTA = ["counter", "manager", "owner"]


def config() -> Config:
    return parse_config(
        {
            "cues": {"rota": ROTA, "ack_timeout_s": 8, "expiry_s": 3},
            "presence": {"rejoin_s": 3},
        }
    )


def visit_id(number: int) -> UUID:
    return UUID(int=number)


def person(track_id: int = 1, visit: int = 1) -> PersonSnapshot:
    return PersonSnapshot(track_id, visit_id(visit), 9.5, -4.0, 1.2, "approaching")


def mqtt_ack(event: CueEvent, at: float, device: str = "counter") -> StaffAck:
    assert isinstance(event, CueIssued)
    return StaffAck(event.cue_id, device, "mqtt", at, "ana")


def press(at: float, device: str = "counter") -> StaffAck:
    return StaffAck(None, device, "button", at)


def reached(zones: Collection[str] = ()) -> Reached:
    """Every customer's visit has entered ``zones``."""
    return lambda track_id: zones


@pytest.fixture
def desk() -> CueDesk:
    return CueDesk(config())


def test_issue_cues_the_first_device_under_the_decision_s_id_and_queues_its_command(
    desk: CueDesk,
) -> None:
    cue_id = new_id()
    [event] = desk.issue(person(), "10ft", cue_id, now_wall=100.0, captured_wall=99.9)
    assert isinstance(event, CueIssued)
    assert (event.cue_id, event.visit_id) == (cue_id, visit_id(1))
    assert (event.device, event.reason, event.escalation, event.zone) == (
        "counter",
        "zone",
        0,
        "10ft",
    )
    assert (event.site, event.camera, event.track_id, event.distance_ft) == (
        "store-1",
        "counter-1",
        1,
        9.5,
    )
    assert event.captured_at == utc(99.9)
    [command] = desk.take_commands()
    assert (command.cue_id, command.device, command.expires_at, command.tta_s) == (
        cue_id,
        "counter",
        utc(103.0),
        1.2,
    )
    assert desk.take_commands() == []


def test_escalation_follows_the_rota_after_each_timeout(desk: CueDesk) -> None:
    [first] = desk.issue(person(), "10ft", new_id(), 0.0, 0.0)
    assert isinstance(first, CueIssued)
    steps = [(7.9, None), (8.0, ("manager", 1)), (15.9, None), (16.0, ("owner", 2))]
    for at, expected in steps:
        events = desk.tick(at)
        got = [(e.device, e.escalation) for e in events if isinstance(e, CueIssued)]
        assert got == ([expected] if expected else []), at
        assert all(isinstance(e, CueIssued) and e.cue_id == first.cue_id for e in events)
    commands = desk.take_commands()
    assert [c.device for c in commands] == ROTA
    assert commands[-1].expires_at == utc(19.0)


def test_end_of_the_rota_keeps_the_cue_open_and_logs_once(
    desk: CueDesk, caplog: pytest.LogCaptureFixture
) -> None:
    desk.issue(person(), "10ft", new_id(), 0.0, 0.0)
    desk.tick(8.0)
    desk.tick(16.0)
    with caplog.at_level(logging.WARNING, "edge.service.cues.desk"):
        later = [desk.tick(at) for at in (24.0, 32.0, 60.0)]
    assert later == [[], [], []]
    assert [c.device for c in desk.open_cues()] == ["owner"]
    assert len(caplog.records) == 1
    assert "every device of the rota" in caplog.records[0].getMessage()
    assert desk.counts.rota_exhausted == 1


@pytest.mark.parametrize(
    ("zones_reached", "before"),
    [
        ((), {"10ft": True, "5ft": True, "3ft": True}),
        (("10ft",), {"10ft": False, "5ft": True, "3ft": True}),
        (("10ft", "5ft", "3ft"), {"10ft": False, "5ft": False, "3ft": False}),
    ],
)
def test_ack_records_latency_and_whether_it_came_before_each_zone(
    desk: CueDesk, zones_reached: tuple[str, ...], before: dict[str, bool]
) -> None:
    [cue] = desk.issue(person(), "10ft", new_id(), 10.0, 10.0)
    [ack] = desk.ack(mqtt_ack(cue, at=12.5), reached(zones_reached))
    assert isinstance(ack, AckRecorded)
    assert isinstance(cue, CueIssued)
    assert (ack.cue_id, ack.latency_s, ack.cued_at, ack.via, ack.staff) == (
        cue.cue_id,
        2.5,
        utc(10.0),
        "mqtt",
        "ana",
    )
    assert ack.before == before
    assert desk.open_cues() == []


def test_latency_counts_from_the_first_issue_not_the_escalation(desk: CueDesk) -> None:
    [cue] = desk.issue(person(), "10ft", new_id(), 10.0, 10.0)
    desk.tick(18.0)
    [ack] = desk.ack(mqtt_ack(cue, at=19.0, device="manager"), reached())
    assert isinstance(ack, AckRecorded)
    assert (ack.latency_s, ack.device) == (9.0, "manager")


def test_button_ack_takes_the_oldest_open_cue_of_its_device(desk: CueDesk) -> None:
    [escalated] = desk.issue(person(1, visit=1), "10ft", new_id(), 0.0, 0.0)
    [at_counter] = desk.issue(person(2, visit=2), "10ft", new_id(), 5.0, 5.0)
    desk.tick(8.0)  # the first cue moves on to the manager
    [ack] = desk.ack(press(at=9.0), reached())
    assert isinstance(ack, AckRecorded)
    assert isinstance(at_counter, CueIssued) and isinstance(escalated, CueIssued)
    assert (ack.cue_id, ack.via, ack.latency_s) == (at_counter.cue_id, "button", 4.0)
    assert [c.cue_id for c in desk.open_cues()] == [escalated.cue_id]


def test_button_ack_with_no_cue_at_its_device_takes_the_oldest_open_cue(desk: CueDesk) -> None:
    [first] = desk.issue(person(1, visit=1), "10ft", new_id(), 0.0, 0.0)
    desk.issue(person(2, visit=2), "10ft", new_id(), 1.0, 1.0)
    desk.tick(8.0)
    desk.tick(9.0)  # both cues are at the manager now
    [ack] = desk.ack(press(at=10.0), reached())
    assert isinstance(ack, AckRecorded) and isinstance(first, CueIssued)
    assert ack.cue_id == first.cue_id


def test_button_press_before_a_cue_was_issued_does_not_acknowledge_it(desk: CueDesk) -> None:
    desk.issue(person(), "10ft", new_id(), 5.0, 5.0)
    assert desk.ack(press(at=4.9), reached()) == []
    assert len(desk.open_cues()) == 1
    assert desk.counts.unknown_acks == 1


@pytest.mark.parametrize(
    ("second", "unknown", "duplicate"),
    [
        ("same cue again", 0, 1),
        ("a cue never issued", 1, 0),
        ("a button with nothing open", 1, 0),
    ],
)
def test_an_ack_for_no_open_cue_returns_nothing_and_is_counted(
    desk: CueDesk, second: str, unknown: int, duplicate: int
) -> None:
    [cue] = desk.issue(person(), "10ft", new_id(), 0.0, 0.0)
    assert len(desk.ack(mqtt_ack(cue, at=1.0), reached())) == 1
    again = {
        "same cue again": mqtt_ack(cue, at=2.0),
        "a cue never issued": StaffAck(new_id(), "counter", "mqtt", 2.0),
        "a button with nothing open": press(at=2.0),
    }[second]
    assert desk.ack(again, reached()) == []
    counts = desk.counts
    assert (counts.acked, counts.unknown_acks, counts.duplicate_acks) == (1, unknown, duplicate)


@pytest.mark.parametrize("device", ["owner", "intruder", "manager"])
def test_an_mqtt_ack_from_a_device_the_cue_was_not_sent_to_is_refused(
    desk: CueDesk, device: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Cue ids are readable on the cue topic: anyone could name one. Only the devices the cue
    went to may acknowledge it (here only the counter; later devices of the rota not yet)."""
    [cue] = desk.issue(person(), "10ft", new_id(), 0.0, 0.0)
    with caplog.at_level(logging.WARNING, "edge.service.cues.desk"):
        assert desk.ack(mqtt_ack(cue, at=1.0, device=device), reached()) == []
    assert [c.cue_id for c in desk.open_cues()] == [cue.cue_id]
    assert (desk.counts.not_cued_acks, desk.counts.acked) == (1, 0)
    [record] = caplog.records
    assert repr(device) in record.getMessage() and "['counter']" in record.getMessage()
    [ack] = desk.ack(mqtt_ack(cue, at=2.0), reached())  # the counter's own ack still counts
    assert isinstance(ack, AckRecorded) and ack.device == "counter"


@pytest.mark.parametrize("device", ["counter", "manager"])
def test_after_an_escalation_every_device_cued_so_far_may_acknowledge(
    desk: CueDesk, device: str
) -> None:
    [cue] = desk.issue(person(), "10ft", new_id(), 0.0, 0.0)
    desk.tick(8.0)  # on to the manager; the counter may still answer late
    [ack] = desk.ack(mqtt_ack(cue, at=9.0, device=device), reached())
    assert isinstance(ack, AckRecorded) and ack.device == device
    assert desk.counts.not_cued_acks == 0


def test_a_flood_of_acks_from_a_device_not_cued_logs_one_line(
    desk: CueDesk, caplog: pytest.LogCaptureFixture
) -> None:
    [cue] = desk.issue(person(), "10ft", new_id(), 0.0, 0.0)
    with caplog.at_level(logging.WARNING, "edge.service.cues.desk"):
        for at in range(500):
            desk.ack(mqtt_ack(cue, at=float(at), device="intruder"), reached())
    assert (desk.counts.not_cued_acks, len(caplog.records)) == (500, 1)
    assert len(desk.open_cues()) == 1


def test_ack_closes_every_open_cue_of_the_customer(desk: CueDesk) -> None:
    desk.issue(person(), "10ft", new_id(), 0.0, 0.0)
    [waiting] = desk.waiting(person(), "3ft", 4.0, 4.0)
    acks = desk.ack(mqtt_ack(waiting, at=6.0, device="manager"), reached())
    assert [a.latency_s for a in acks if isinstance(a, AckRecorded)] == [6.0, 2.0]
    assert desk.open_cues() == []
    assert desk.tick(30.0) == []


def test_waiting_cue_is_issued_once_per_customer(desk: CueDesk) -> None:
    first = desk.waiting(person(), "3ft", 10.0, 10.0)
    again = desk.waiting(person(track_id=7), "3ft", 11.0, 11.0)  # same visit, new track
    assert [(e.reason, e.device) for e in first if isinstance(e, CueIssued)] == [
        ("waiting", "counter")
    ]
    assert again == []


def test_waiting_cue_is_skipped_once_the_customer_was_acknowledged(desk: CueDesk) -> None:
    [cue] = desk.issue(person(), "10ft", new_id(), 0.0, 0.0)
    desk.ack(mqtt_ack(cue, at=1.0), reached())
    assert desk.waiting(person(), "3ft", 10.0, 10.0) == []


@pytest.mark.parametrize(
    ("zone_cue_ticks", "waiting_device"),
    [
        (None, "counter"),  # no open cue: the first device
        ((), "manager"),  # open at the counter: the next one
        ((8.0,), "owner"),  # escalated to the manager: past it
        ((8.0, 16.0), "owner"),  # at the end of the rota: stays there
    ],
)
def test_waiting_cue_goes_past_the_device_already_cued(
    desk: CueDesk, zone_cue_ticks: tuple[float, ...] | None, waiting_device: str
) -> None:
    if zone_cue_ticks is not None:
        desk.issue(person(), "10ft", new_id(), 0.0, 0.0)
        for at in zone_cue_ticks:
            desk.tick(at)
    [waiting] = desk.waiting(person(), "3ft", 17.0, 17.0)
    assert isinstance(waiting, CueIssued)
    assert (waiting.device, waiting.escalation) == (waiting_device, 0)


def test_customer_who_left_gets_left_unacknowledged_after_the_rejoin_grace(desk: CueDesk) -> None:
    [cue] = desk.issue(person(), "10ft", new_id(), 10.0, 10.0)
    desk.track_ended(1, visit=visit_id(1), now_wall=15.0)
    assert desk.tick(17.9) == []
    [left] = desk.tick(18.0)
    assert isinstance(left, CueUnacknowledged) and isinstance(cue, CueIssued)
    assert (left.cue_id, left.reason, left.open_s) == (cue.cue_id, "zone", 5.0)
    assert (left.cued_at, left.captured_at) == (utc(10.0), utc(15.0))
    assert desk.open_cues() == []
    assert desk.ack(mqtt_ack(cue, at=19.0), reached()) == []
    assert desk.counts.duplicate_acks == 1


def test_a_track_taking_up_the_visit_keeps_the_customer_cue_open(desk: CueDesk) -> None:
    [cue] = desk.issue(person(), "10ft", new_id(), 10.0, 10.0)
    desk.track_ended(1, visit=visit_id(1), now_wall=12.0)
    desk.track_started(2, visit=visit_id(1))
    assert [e for e in desk.tick(30.0) if isinstance(e, CueUnacknowledged)] == []
    assert len(desk.ack(mqtt_ack(cue, at=31.0), reached())) == 1


def test_a_track_starting_a_new_visit_leaves_the_old_one(desk: CueDesk) -> None:
    desk.issue(person(1, visit=1), "10ft", new_id(), 10.0, 10.0)
    desk.issue(person(1, visit=2), "10ft", new_id(), 40.0, 40.0)  # walked off and came back
    left = [e for e in desk.tick(43.0) if isinstance(e, CueUnacknowledged)]
    assert [e.open_s for e in left] == [30.0]
    assert [c.person.visit for c in desk.open_cues()] == [visit_id(2)]


def test_a_cue_waits_to_escalate_while_its_customer_is_out_of_sight(desk: CueDesk) -> None:
    desk.issue(person(), "10ft", new_id(), 10.0, 10.0)
    desk.track_ended(1, visit=visit_id(1), now_wall=17.0)
    assert desk.tick(19.0) == []
    desk.track_started(2, visit=visit_id(1))
    [escalated] = desk.tick(19.5)
    assert isinstance(escalated, CueIssued)
    assert (escalated.device, escalated.escalation) == ("manager", 1)
