"""One turn, driven with synthetic detections: no camera, no detector, no MQTT.

A counter camera 9 ft up sees simulated people (their boxes projected as in the ranging
tests); the turn tracks, ranges, decides zones, runs the cue desk and returns what the service
would send. The wall clock is the test's.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from unittest.mock import Mock

import numpy as np
import pytest

from edge.config import Config, parse_config
from edge.contract import AckRecorded, CueIssued, EventBase, TrackStart, ZoneEnter
from edge.perception.detections import Detections
from edge.perception.detectors import Detector
from edge.perception.sources import Frame
from edge.service.cues.desk import StaffAck
from edge.service.turn import Effects, Turn
from tests.unit.perception.geometry.test_ranging import SIZE, STEEP, person_box

FPS = 10
WALL0 = 1_700_000_000.0
FLOOR_POINTS = [(-4.0, 2.0), (4.0, 2.0), (-6.0, 14.0), (6.0, 14.0), (0.0, 8.0), (3.0, 5.0)]


class Clock:
    """Wall-clock seconds the test sets."""

    def __init__(self) -> None:
        self.now = WALL0

    def __call__(self) -> float:
        return self.now


def config() -> Config:
    """The default 10/5/3-ft zones, calibrated for the simulated camera."""
    pixels = STEEP.project(np.array([[x, y, 0.0] for x, y in FLOOR_POINTS]))
    points = [
        {"pixel": [float(u), float(v)], "floor_ft": [x, y]}
        for (u, v), (x, y) in zip(pixels, FLOOR_POINTS, strict=True)
    ]
    return parse_config(
        {
            "camera": {"hfov_deg": 66.0},
            "calibration": {"floor_points": points},
            "cues": {"rota": ["counter"], "ack_timeout_s": 30},
        }
    )


class Scene:
    """A turn and a clock; ``step`` shows it one frame of people at floor points."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.detector = Mock(spec=Detector)  # the turn is handed its detections
        self.turn = Turn(config(), self.detector, self.clock)
        self.index = 0
        self.image = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)

    def step(self, people: Sequence[tuple[float, float]], acks: Sequence[StaffAck] = ()) -> Effects:
        t = self.index / FPS
        self.clock.now = WALL0 + t
        boxes = [person_box(STEEP, np.asarray(p, np.float64))[1] for p in people]
        xyxy = np.asarray(boxes, np.float32).reshape(-1, 4)
        detections = Detections(xyxy, np.full(len(boxes), 0.9, np.float32))
        frame = Frame(self.image, self.index, t, t, WALL0 + t)
        self.index += 1
        return self.turn(frame, detections, acks)

    def walk(self, start_y: float, end_y: float, speed_ftps: float) -> list[Effects]:
        """One person straight at the counter (x = 0) from ``start_y`` to ``end_y`` ft."""
        steps = round(abs(end_y - start_y) / speed_ftps * FPS)
        return [self.step([(0.0, float(y))]) for y in np.linspace(start_y, end_y, steps + 1)]

    def stand(self, y: float, seconds: float) -> list[Effects]:
        return [self.step([(0.0, y)]) for _ in range(round(seconds * FPS))]


def events(effects: Sequence[Effects]) -> list[EventBase]:
    return [event for effect in effects for event in effect.events]


def test_a_person_walking_in_is_cued_once_entries_name_the_cue_and_an_ack_closes_it() -> None:
    scene = Scene()
    walked = scene.walk(16.0, 2.0, 4.0) + scene.stand(2.0, 1.0)
    seen = events(walked)
    assert isinstance(seen[0], TrackStart)
    entries = [e for e in seen if isinstance(e, ZoneEnter)]
    assert [e.zone for e in entries] == ["10ft", "5ft", "3ft"]
    [cue] = [e for e in seen if isinstance(e, CueIssued)]
    assert (cue.zone, cue.device, cue.approach) == ("10ft", "counter", "approaching")
    assert seen.index(cue) < seen.index(entries[0]), "the cue, then the entry that names it"
    assert entries[0].cue_id == cue.cue_id and entries[0].lead_s is not None
    assert entries[0].lead_s > 0, "cued before the crossing"
    assert {e.visit_id for e in seen} == {cue.visit_id} and cue.visit_id is not None
    [command] = [c for effect in walked for c in effect.commands]
    assert (command.cue_id, command.device) == (cue.cue_id, "counter")
    assert walked[-1].nearest_zone == "3ft"
    assert [z.count for z in walked[-1].occupancy] == [1, 1, 1]

    ack = StaffAck(cue.cue_id, "counter", "mqtt", scene.clock.now + 0.05, "ana")
    [acked] = scene.step([(0.0, 2.0)], [ack]).events
    assert isinstance(acked, AckRecorded)
    assert (acked.cue_id, acked.visit_id) == (cue.cue_id, cue.visit_id)
    assert acked.before == {"10ft": False, "5ft": False, "3ft": False}
    assert scene.turn.desk.open_cues() == []


def test_a_cue_given_on_its_zone_entry_s_frame_is_named_by_that_entry() -> None:
    """First seen just outside the ring, and inside it by the time the positions bear the
    approach out: the cue and the entry come on one frame; the entry still names the cue,
    with a lead <= 0."""
    scene = Scene()
    seen = events(scene.walk(11.0, 3.5, 4.0))
    [cue] = [e for e in seen if isinstance(e, CueIssued)]
    [entry] = [e for e in seen if isinstance(e, ZoneEnter) and e.zone == "10ft"]
    assert cue.captured_at == entry.captured_at, "one frame"
    assert entry.cue_id == cue.cue_id
    assert entry.lead_s is not None and entry.lead_s <= 0


@pytest.mark.parametrize(("y", "inside"), [(2.0, 3), (8.0, 1), (12.0, 0)])
def test_a_standing_person_gets_no_cue(y: float, inside: int) -> None:
    """Someone standing is inside the rings around them (occupancy, entries) but no customer
    walking up: nobody is buzzed."""
    scene = Scene()
    effects = scene.stand(y, 4.0)
    seen = events(effects)
    assert isinstance(seen[0], TrackStart)
    assert [e.zone for e in seen if isinstance(e, ZoneEnter)] == ["10ft", "5ft", "3ft"][:inside]
    assert [e for e in seen if isinstance(e, CueIssued)] == []
    assert [c for effect in effects for c in effect.commands] == []
    assert sum(z.count for z in effects[-1].occupancy) == inside


def test_a_re_linked_track_keeps_the_visit_and_its_cue() -> None:
    """The tracker loses the person for 2 s (nobody detected: the track ends) and finds them
    again under a new track: one visit, one cue, no entry of a zone before its outer ones."""
    scene = Scene()
    first = scene.walk(16.0, 7.0, 4.0)
    gap = [scene.step([]) for _ in range(2 * FPS)]
    again = scene.walk(6.5, 2.0, 4.0) + scene.stand(2.0, 1.0)
    seen = events(first + gap + again)
    starts = [e for e in seen if isinstance(e, TrackStart)]
    assert len(starts) == 2 and starts[0].track_id != starts[1].track_id
    assert len({e.visit_id for e in seen}) == 1
    assert len([e for e in seen if isinstance(e, CueIssued)]) == 1
    later = [e.zone for e in seen if isinstance(e, ZoneEnter) and e.track_id == starts[1].track_id]
    assert later == ["10ft", "5ft", "3ft"]


def test_a_turn_without_a_frame_escalates_and_a_lost_camera_ends_every_visit() -> None:
    scene = Scene()
    scene.walk(16.0, 6.0, 4.0)
    scene.clock.now += 5.0
    lost = scene.turn(None, camera_lost=True)
    assert {type(e).__name__ for e in lost.events} >= {"TrackEnd", "ZoneExit"}
    assert lost.perceived is None and lost.nearest_zone is None


def test_no_frame_image_outlives_its_turn() -> None:
    scene = Scene()
    scene.walk(16.0, 10.0, 4.0)
    image = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    held = sys.getrefcount(image)
    t = scene.index / FPS
    box = person_box(STEEP, np.array([0.0, 9.0]))[1]
    detections = Detections(np.asarray([box], np.float32), np.array([0.9], np.float32))
    effects = scene.turn(Frame(image, scene.index, t, t, WALL0 + t), detections)
    assert effects.perceived is not None and effects.perceived.frame.image is image
    del effects
    assert sys.getrefcount(image) == held, "the turn kept the frame (and its image)"
