"""Approach means approach: what fooled the cues on a real checkout camera, replayed through the
service's own turn with synthetic boxes (a camera 9 ft up, 640x480), at 10 and at 30 fps.

- box jitter made people standing at the register seem to close in at 1 ft/s: the positions
  must close in beyond their noise over a window, whatever the frame rate;
- an occlusion merge made a box top jump, and a man standing far away an approacher;
- a person cut off at a frame edge drifted nearer while standing still.
"""

from __future__ import annotations

from collections.abc import Callable
from unittest.mock import Mock

import numpy as np
import numpy.typing as npt
import pytest

from edge.contract import CueIssued, ZoneEnter
from edge.perception.detections import Detections
from edge.perception.detectors import Detector
from edge.perception.geometry.floor_position import FROM_BOTTOM, HEAD_CUE
from edge.perception.geometry.motion import MotionWindow, box_jumped
from edge.perception.sources import Frame
from edge.service.turn import Effects, Turn
from tests.unit.perception.geometry.test_ranging import SIZE, STEEP, person_box
from tests.unit.service.test_turn import WALL0, Clock, config, events

F64 = npt.NDArray[np.float64]
BoxEdit = Callable[[F64, int], F64]


def _as_is(box: F64, frame: int) -> F64:
    return box


class Scene:
    """The service's turn shown one person a frame at ``fps``, their box edited per frame."""

    def __init__(self, fps: int) -> None:
        self.fps, self.clock, self.frame = fps, Clock(), 0
        self.turn = Turn(config(), Mock(spec=Detector), self.clock)  # the turn is handed boxes
        self.image = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)

    def show(self, floor: F64, edit: BoxEdit = _as_is) -> Effects:
        t = self.frame / self.fps
        self.clock.now = WALL0 + t
        box = edit(person_box(STEEP, floor)[1], self.frame)
        detections = Detections(box[None].astype(np.float32), np.array([0.9], np.float32))
        effects = self.turn(Frame(self.image, self.frame, t, t, WALL0 + t), detections, ())
        self.frame += 1
        return effects

    def stand(self, floor: F64, seconds: float, edit: BoxEdit = _as_is) -> list[Effects]:
        return [self.show(floor, edit) for _ in range(round(seconds * self.fps))]

    def walk(self, start: F64, end: F64, speed_ftps: float) -> list[Effects]:
        steps = round(float(np.linalg.norm(end - start)) / speed_ftps * self.fps)
        return [self.show(start + (end - start) * i / steps) for i in range(steps + 1)]

    def distance_ft(self) -> float:
        [person] = self.turn.zones.people()
        return person.distance_ft


def approach_cues(effects: list[Effects]) -> list[CueIssued]:
    """The cues for someone walking up (not the waiting cue of someone left standing)."""
    return [e for e in events(effects) if isinstance(e, CueIssued) and e.reason == "zone"]


@pytest.mark.parametrize("fps", [10, 30])
@pytest.mark.parametrize("y", [1.5, 2.0])
def test_a_box_top_jumping_in_a_merge_is_no_approach(fps: int, y: float) -> None:
    """A customer standing at the counter, their feet below the frame (ranged from the box
    top); for half a second their box merges with a taller one passing behind (the top jumps
    120 px) and then splits back. Before boxes that jump were kept out of the speed, the
    split made them approach at 1.5 ft/s and buzzed staff at 10 and 30 fps alike."""
    scene = Scene(fps)
    merged = range(3 * fps, 3 * fps + fps // 2)

    def merge(box: F64, frame: int) -> F64:
        return box - np.array([10.0, 120.0, 0.0, 0.0]) if frame in merged else box

    assert approach_cues(scene.stand(np.array([0.3, y]), 4.5, merge)) == []
    assert scene.distance_ft() == pytest.approx(float(np.hypot(0.3, y)), abs=0.3)


def jittery(seed: int, jitter_px: float, correlation: float) -> BoxEdit:
    """Box edges jittering by ``jitter_px`` (sd), from frame to frame (``correlation`` 0) or
    drifting."""
    rng = np.random.default_rng(seed)
    jitter: F64 = np.zeros(4)

    def edit(box: F64, frame: int) -> F64:
        nonlocal jitter
        noise = rng.normal(0, jitter_px, 4)
        jitter = correlation * jitter + np.sqrt(1 - correlation**2) * noise
        return box + jitter

    return edit


@pytest.mark.parametrize(
    ("fps", "correlation", "jitter_px"),
    [
        *[(10, 0.0, 4.0), (10, 0.0, 6.0), (10, 0.9, 4.0)],
        *[(30, 0.0, 4.0), (30, 0.0, 6.0), (30, 0.0, 8.0), (30, 0.9, 4.0)],
    ],
)
def test_people_standing_with_jittery_boxes_are_never_cued(
    fps: int, correlation: float, jitter_px: float
) -> None:
    """Box jitter well over the modelled pixel_noise_px (3 px), at every level where no
    standing person was cued in a sample of 60 people x 20 s: standing people near and far get
    no approach cue in 10 s. A jittery box often gives a still person a heading at the counter;
    the approach must hold classify_s on positions that bear it out. The people at 8 and 12 ft
    are ones whom a quicker rule (approach borne out on two frames in a row once the heading
    held) cued at 30 fps, so this is the guard for any shortcut tried later."""
    for y, seed in ((4.0, 100), (8.0, 118), (12.0, 107)):
        edit = jittery(seed, jitter_px, correlation)
        assert approach_cues(Scene(fps).stand(np.array([0.5, y]), 10.0, edit)) == []


@pytest.mark.parametrize("fps", [10, 30])
def test_a_still_person_cut_off_at_the_left_edge_does_not_drift_nearer(fps: int) -> None:
    """A customer walks in to 2 ft, their feet below the frame and their side cut by its left
    edge, and stands there with an unchanging box for 5 s: they never drift nearer."""
    scene = Scene(fps)
    stop = np.array([-2.5, 2.0])
    scene.walk(np.array([-5.5, 14.0]), stop, 3.5)
    stopped_at = scene.distance_ft()
    scene.stand(stop, 5.0, lambda box, f: np.maximum(box, [0, 0, 0, 0]))
    assert scene.distance_ft() >= stopped_at - 0.1


@pytest.mark.parametrize("fps", [10, 30])
def test_a_customer_walking_in_is_still_cued_before_the_10_ft_ring(fps: int) -> None:
    """The evidence the positions need costs no lead: from 20 ft at 3.5 ft/s the cue comes
    about the zone's lead_s (0.5 s) before the 10-ft entry, at either frame rate."""
    scene = Scene(fps)
    seen = events(scene.walk(np.array([0.0, 20.0]), np.array([0.0, 2.5]), 3.5))
    [cue] = [e for e in seen if isinstance(e, CueIssued)]
    [entry] = [e for e in seen if isinstance(e, ZoneEnter) and e.zone == "10ft"]
    assert entry.cue_id == cue.cue_id
    assert entry.lead_s is not None and entry.lead_s >= 0.35


def test_the_window_needs_displacement_beyond_noise_whatever_the_frame_rate() -> None:
    """A still person's fixes scattered by their own noise move nowhere; a walk at 1.5 ft/s
    does, and at 30 fps the noise bar is no lower than at 10 fps."""
    rng = np.random.default_rng(7)
    for fps in (10, 30):
        still, walking = MotionWindow(1.0), MotionWindow(1.0)
        for frame in range(2 * fps):
            t = frame / fps
            still.add(t, np.array([0.0, 8.0]) + rng.normal(0, 0.3, 2), 0.3, 0.3, 0)
            walking.add(t, np.array([0.0, 12.0 - 1.5 * t]) + rng.normal(0, 0.3, 2), 0.3, 0.3, 0)
        quiet, moving = still.movement(np.zeros(2)), walking.movement(np.zeros(2))
        assert quiet.sd_ft == pytest.approx(moving.sd_ft) == pytest.approx(0.3 * np.sqrt(2))
        assert abs(quiet.closing_ft) < 2 * quiet.sd_ft < moving.closing_ft


def test_fixes_made_different_ways_differ_by_their_assumed_sizes_which_is_no_step() -> None:
    """A still person whose feet leave the frame is ranged from the head from then on, half a
    foot nearer (taller than assumed, within the spread of heights). Fixes made one way differ
    only by their jitter, so half a foot in a walk is a step; across ways the assumed size's
    spread counts too, and the same half foot is none."""
    still, walking = MotionWindow(1.0), MotionWindow(1.0)
    for frame in range(10):
        t, cut = frame / 10, frame >= 5
        way = HEAD_CUE if cut else FROM_BOTTOM
        still.add(t, np.array([0.0, 4.0 - 0.5 * cut]), 0.1, 0.8, way)
        walking.add(t, np.array([0.0, 4.0 - 0.05 * frame]), 0.1, 0.8, FROM_BOTTOM)
    assert still.mixed and not walking.mixed
    quiet, moving = still.movement(np.zeros(2)), walking.movement(np.zeros(2))
    assert quiet.sd_ft == pytest.approx(0.8 * np.sqrt(2))
    assert moving.sd_ft == pytest.approx(0.1 * np.sqrt(2))
    assert quiet.closing_ft < quiet.sd_ft
    assert moving.closing_ft > moving.sd_ft


def test_box_jumps_allow_for_walking_near_but_not_for_a_merge() -> None:
    box = np.array([100.0, 100.0, 160.0, 300.0])
    assert not box_jumped(box, box + np.array([0, -15, 0, 15]), 0.1, 0.25, 1.5)  # walking closer
    assert box_jumped(box, box + np.array([0, -100, 0, 0]), 0.1, 0.25, 1.5)  # a taller box over it
    assert box_jumped(box, box + np.array([0, 0, 0, -110]), 0.1, 0.25, 1.5)  # cut by an occluder
