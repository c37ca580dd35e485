"""Tiles on real footage with the real weights: a 2 x 2 PETS mosaic (a wide frame of small
people, as on a 1080p store camera) and PETS with its real calibration (the kiosk example).

Figures are printed (``pytest -s``) for the README; the assertions are the claims: on the wide
frame, tiles find clearly more people than the whole frame shrunk, nearly as many as the
detector finds in the unshrunk PETS frames, with the precision the detector has at their
scale, and a person cut by a seam counts once where plain NMS over the tiles keeps both
pieces.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from edge.config import load_config
from edge.perception.detections import Detections
from edge.perception.detectors import Detector, create_detector
from edge.perception.detectors.detector import Image, finish
from edge.perception.detectors.tile_merge import MergeRule
from edge.perception.detectors.tile_plan import Size, TilePlan, plan_tiles
from edge.perception.detectors.tiled import TiledDetector
from edge.perception.geometry.calibration import camera_for
from edge.perception.geometry.person_region import person_region
from edge.perception.sources import open_source
from edge.perception.tiling import customer_region, tiled_detector
from edge.tools.evaluation.detection import DetectionScore, count_duplicates, score_frames
from edge.tools.evaluation.groundtruth import FrameTruth, load_pets_xml
from edge.tools.evaluation.mosaic import pets_mosaics
from edge.tools.footage.location import PETS_DIR, PETS_PART_FRAMES, PETS_PARTS, PETS_TRUTH
from tests.support.paths import REPO

EXAMPLES = REPO / "deploy" / "examples"
SCORE = 0.4  # the README's detection figures' threshold
BUDGETS = (2, 4)
EVERY = 2  # every other mosaic (and kiosk frame): half the time, the same spread of scenes
DEFAULTS = load_config(None).detector.tiles


class Recording:
    """A detector that keeps what each call found (a tile's boxes, in its crop's pixels)."""

    def __init__(self, detector: Detector) -> None:
        self.detector = detector
        self.calls: list[Detections] = []

    def detect(self, image: Image) -> Detections:
        found = self.detector.detect(image)
        self.calls.append(found)
        return found


@dataclass
class Tally:
    """Detection score and seam duplicates of one way of detecting, summed over frames."""

    score: DetectionScore = field(default_factory=lambda: DetectionScore(0, 0, 0, 0))
    duplicates: int = 0

    def add(self, found: Detections, truth: FrameTruth) -> None:
        self.score += score_frames({0: found}, {0: truth}, [0])
        self.duplicates += count_duplicates(truth.xyxy, found.xyxy)

    def line(self, name: str) -> str:
        s = self.score
        return (
            f"{name}: recall {s.recall:.3f}, precision {s.precision:.3f}, "
            f"{s.truths} people, {self.duplicates} duplicates"
        )


@pytest.fixture(scope="module")
def model(model_cache: Path) -> Detector:
    return create_detector("yolox-nano", cache=model_cache, score=SCORE)


def plain_nms(plan: TilePlan, calls: list[Detections], nms_iou: float) -> Detections:
    """The tiles' boxes in frame pixels, merged by plain NMS only (what tiling is without the
    seam-aware merge)."""
    offsets = np.array([[t.x, t.y, t.x, t.y] for t in plan.tiles], np.float32)
    xyxy = np.concatenate([d.xyxy + o for d, o in zip(calls, offsets, strict=True)])
    scores = np.concatenate([d.scores for d in calls])
    width, height = plan.frame_size
    return finish(xyxy.reshape(-1, 4), scores, (height, width), nms_iou)


def fixed(plan: TilePlan) -> Callable[[Size], TilePlan]:
    """A planner giving ``plan`` whatever the frame size (the mosaic's region is given)."""
    return lambda _: plan


@pytest.fixture(scope="module")
def mosaic(footage_dir: Path, model: Detector) -> dict[str, Tally]:
    """Every way of detecting on the same mosaics, and the detector on their PETS frames."""
    pets = footage_dir / PETS_DIR
    camera = camera_for(load_config(EXAMPLES / "pets-view001.yaml"), (768, 576))
    middle = camera.backproject(np.array([[384.0, 288.0]]))[0]
    # The largest person anywhere on the PETS floor sets the seams' overlap.
    view = person_region(camera, middle, 300.0, DEFAULTS.person_height_ft, 1.6)
    assert view is not None
    overlap = (view.largest_px[0] * DEFAULTS.overlap, view.largest_px[1] * DEFAULTS.overlap)
    rule = MergeRule(DEFAULTS.seam_px, DEFAULTS.merge_iou, DEFAULTS.merge_ios)
    size = (1536, 1152)
    tiled: dict[int, tuple[TiledDetector[Recording], TilePlan]] = {}
    for budget in BUDGETS:
        plan = plan_tiles(
            (0, 0, *size), size, model.input_size, budget, overlap, DEFAULTS.scale_tolerance
        )
        tiled[budget] = (TiledDetector(Recording(model), fixed(plan), rule), plan)
    tallies: dict[str, Tally] = {}

    def tally(name: str) -> Tally:
        return tallies.setdefault(name, Tally())

    for m in pets_mosaics(pets, every=EVERY):
        tally("whole mosaic").add(model.detect(m.image), m.truth)
        for budget, (detector, plan) in tiled.items():
            detector.detector.calls.clear()
            tally(f"{budget} tiles").add(detector.detect(m.image), m.truth)
            raw = plain_nms(plan, detector.detector.calls, model.nms_iou)
            tally(f"{budget} tiles, plain NMS").add(raw, m.truth)
        for part, truth in zip(m.parts, m.part_truths, strict=True):
            tally("PETS frames").add(model.detect(part), truth)
    for budget, (_, plan) in tiled.items():
        scales = {round(t.scale, 3) for t in plan.tiles}
        print(f"\n{budget} tiles budget: {len(plan.tiles)} tiles at scale {scales}")
    print(f"whole mosaic at scale {min(416 / 1536, 416 / 1152):.3f}, PETS frames at 0.542")
    for name, t in tallies.items():
        print(t.line(name))
    return tallies


def test_tiles_find_clearly_more_people_on_the_wide_frame(mosaic: dict[str, Tally]) -> None:
    whole = mosaic["whole mosaic"].score
    for budget in BUDGETS:
        assert mosaic[f"{budget} tiles"].score.recall >= whole.recall + 0.1, budget


def test_four_tiles_come_close_to_the_unshrunk_frames(mosaic: dict[str, Tally]) -> None:
    assert mosaic["4 tiles"].score.recall >= mosaic["PETS frames"].score.recall - 0.05


def test_tiles_lose_no_precision(mosaic: dict[str, Tally]) -> None:
    """No worse than the whole mosaic or, at the larger scale of four tiles, than the detector
    on the PETS frames at that scale (where it also finds people the truth leaves out)."""
    whole, pets = mosaic["whole mosaic"].score, mosaic["PETS frames"].score
    assert mosaic["2 tiles"].score.precision >= whole.precision - 0.02
    assert mosaic["4 tiles"].score.precision >= pets.precision - 0.02


def test_a_person_cut_by_a_seam_counts_once(mosaic: dict[str, Tally]) -> None:
    for budget in BUDGETS:
        merged = mosaic[f"{budget} tiles"]
        # No more duplicates than the detector makes by itself on frames without seams.
        worst = max(mosaic["PETS frames"].duplicates, mosaic["whole mosaic"].duplicates)
        assert merged.duplicates <= worst + 0.01 * merged.score.truths, budget
    # Across the horizontal seam of the 2 x 2 plan, people are cut in halves that plain NMS
    # keeps apart.
    assert mosaic["4 tiles, plain NMS"].duplicates > 5 * (mosaic["4 tiles"].duplicates + 1)


def test_kiosk_tiles_find_the_customers_the_whole_frame_does(
    footage_dir: Path, model: Detector
) -> None:
    """PETS with its real calibration: the automatic plan (one tile around the kiosk's outer
    zone, nearer native scale) finds at least as many of the people inside the covered floor
    disc as the whole frame does. (The example itself runs the whole frame: see its comment.)"""
    example = load_config(EXAMPLES / "pets-kiosk.yaml")
    tiles_on = example.detector.tiles.model_copy(update={"mode": "auto"})
    config = example.model_copy(
        update={"detector": example.detector.model_copy(update={"tiles": tiles_on})}
    )
    tiled = tiled_detector(config, model)
    pets = footage_dir / PETS_DIR
    truth = load_pets_xml(pets / PETS_TRUTH)
    camera = camera_for(config, (768, 576))
    reach = max(z.radius_ft for z in config.zones) + config.detector.tiles.margin_ft
    counter = np.asarray(config.counter.position_ft)

    def near(xyxy: np.ndarray) -> np.ndarray:
        feet = camera.backproject(np.column_stack([(xyxy[:, 0] + xyxy[:, 2]) / 2, xyxy[:, 3]]))
        return np.asarray(np.linalg.norm(feet - counter, axis=1) <= reach)

    whole, tiles = Tally(), Tally()
    for part, clip in enumerate(PETS_PARTS):
        with open_source(pets / clip) as frames:
            for index, frame in enumerate(frames):
                if index % EVERY:
                    continue
                people = truth[index + PETS_PART_FRAMES * part]
                keep = near(people.xyxy)
                close = FrameTruth(people.ids[keep], people.xyxy[keep])
                for tally, detector in ((whole, model), (tiles, tiled)):
                    found = detector.detect(frame.image)
                    tally.add(found[near(found.xyxy)], close)
    plan = tiled.plan((768, 576))
    print(f"\nkiosk plan: region {customer_region(config, camera)}, tiles {plan.tiles}")
    print(whole.line("whole frame, in the zone disc"))
    print(tiles.line("tiles, in the zone disc"))
    assert not plan.whole_frame and len(plan.tiles) <= config.detector.tiles.max_tiles
    assert plan.tiles[0].scale > TilePlan.whole((768, 576), model.input_size).tiles[0].scale
    assert whole.score.truths > 200
    assert tiles.score.recall >= whole.score.recall - 0.01
    assert tiles.score.precision >= whole.score.precision - 0.02
