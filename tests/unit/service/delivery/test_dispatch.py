"""The dispatcher carries out a turn's effects: events to the outbox, zone state, cues, light."""

from __future__ import annotations

from unittest.mock import Mock

from edge.config import parse_config
from edge.contract import TrackStart, ZoneOccupancy, decode, decode_event, new_id, utc
from edge.service.delivery.dispatch import Dispatcher
from edge.service.delivery.mqtt import MqttLink
from edge.service.delivery.outbox import Outgoing
from edge.service.delivery.outputs import CueOutput
from edge.service.delivery.publisher import Publisher
from edge.service.presence.decisions import ZoneOccupancy as Inside
from edge.service.turn import Effects
from tests.unit.service.delivery.test_outputs import command

WALL = 1_700_000_000.0


def effects(nearest: str | None, count: int) -> Effects:
    start = TrackStart(id=new_id(), site="store-1", camera="counter-1", captured_at=utc(WALL))
    occupancy = [Inside(zone, count, 4.0 if count else None) for zone in ("10ft", "5ft", "3ft")]
    return Effects([start], [command()], occupancy, nearest, None, [])


def test_effects_go_to_the_outbox_the_retained_zones_and_every_output() -> None:
    publisher, output = Mock(spec=Publisher), Mock(spec=CueOutput)
    dispatch = Dispatcher(parse_config({}), "greetcue", Mock(spec=MqttLink), publisher, [output])
    sent = effects("5ft", 1)
    dispatch.effects(sent, captured_wall=WALL, now_wall=WALL + 0.1)

    [stored] = [list(call.args[0]) for call in publisher.submit.call_args_list]
    [message] = stored
    assert isinstance(message, Outgoing) and message.topic == "greetcue/store-1/counter-1/event"
    assert (message.qos, message.captured_wall) == (1, WALL)
    event = decode_event(message.payload)
    assert event.id == sent.events[0].id and event.published_at is not None

    now = [call.args for call in publisher.send_now.call_args_list]
    zones = {args[0]: decode(ZoneOccupancy, args[1]) for args in now if "/zone/" in args[0]}
    assert sorted(zones) == [f"greetcue/store-1/counter-1/zone/{z}" for z in ("10ft", "3ft", "5ft")]
    assert all(args[2:4] == (1, True) for args in now if "/zone/" in args[0])
    [cue] = [args for args in now if args[0] == "greetcue/store-1/cue/counter"]
    assert cue[2] == 1 and cue[4] > 0, "QoS 1 with the cue's remaining lifetime as expiry"

    output.cue.assert_called_once_with(sent.commands[0])
    output.show.assert_called_once_with("5ft")


def test_unchanged_zone_state_is_not_sent_again() -> None:
    publisher = Mock(spec=Publisher)
    dispatch = Dispatcher(parse_config({}), "greetcue", Mock(spec=MqttLink), publisher)
    dispatch.effects(effects(None, 0), None, WALL)
    first = publisher.send_now.call_count
    dispatch.effects(effects(None, 0), None, WALL + 0.1)
    assert publisher.send_now.call_count - first == 1, "only the new cue command"
