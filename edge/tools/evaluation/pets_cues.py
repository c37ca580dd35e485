"""Cue truth for the PETS 2009 S2.L1 parts, derived from the dataset's own ground truth.

Every annotated person of a part is labelled. Their true walk is the annotated foot point
(bottom centre of the box) through the dataset's Tsai calibration, measured to the kiosk
example's counter (:func:`~edge.tools.evaluation.ranging.true_paths`), at the clip's media
time (frame / the rate the file states). Rules, in this order:

- approaching: seen beyond the middle ring (``APPROACH_FT``, the smile) and then within it.
  A walk-in runs from their last sight beyond the outer ring (or, first seen inside it, from
  there) until they are next beyond the outer ring; each ring's time is its first inward
  crossing in the walk-in (linear between the two frames either side). A person who comes
  back within ``APPROACH_FT`` after that walks in again.
- standing: not approaching, and never farther than ``STANDING_FT`` (on the floor) from where
  first seen.
- leaving: not approaching, and their distance at last sight is at least ``LEAVING_FT`` more
  than at first sight, and they never came ``LEAVING_FT`` nearer than where first seen.
- passing: everyone else (walking by, near or far).

``greetcue eval pets-truth`` writes the files; a footage test checks the committed ones are
what this derives.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.config import load_config
from edge.perception.geometry.tsai import TsaiCamera
from edge.perception.sources import open_source
from edge.tools.evaluation.cue_labels import BoxTruth, CueTruth, Person, PersonClass, Sighting
from edge.tools.evaluation.groundtruth import FrameTruth, load_pets_xml
from edge.tools.evaluation.ranging import F64, FloorOf, TruePath, foot_points, true_paths
from edge.tools.footage.location import (
    PETS_CALIBRATION,
    PETS_DIR,
    PETS_PART_FRAMES,
    PETS_PARTS,
    PETS_TRUTH,
)

CONFIG = "pets-kiosk.yaml"
APPROACH_FT = 5.0
STANDING_FT = 3.0
LEAVING_FT = 3.0
METHOD = (
    "derived by `greetcue eval pets-truth` from the PETS ground-truth boxes and the Tsai "
    "calibration (rules in edge/tools/evaluation/pets_cues.py)"
)


def derive_pets_truth(footage: Path, part: int, examples: Path) -> CueTruth:
    """The cue truth of PETS part ``part`` (``footage``: the footage folder)."""
    folder = footage / PETS_DIR
    clip = folder / PETS_PARTS[part]
    with open_source(clip) as source:
        fps, count = source.fps, source.frame_count or 0
    offset = PETS_PART_FRAMES * part
    truth = load_pets_xml(folder / PETS_TRUTH)
    times = {offset + k: k / fps for k in range(count) if offset + k in truth}
    floor_of = TsaiCamera.from_xml(folder / PETS_CALIBRATION).ground_points_ft
    config = load_config(examples / CONFIG)
    radii = sorted((z.radius_ft for z in config.zones), reverse=True)
    paths = true_paths(truth, floor_of, config.counter.position_ft, times)
    people = [_person(pid, path, truth, floor_of, radii) for pid, path in sorted(paths.items())]
    return CueTruth(
        clip=f"{PETS_DIR}/{PETS_PARTS[part]}",
        config=CONFIG,
        labelled="derived",
        method=METHOD,
        ground_truth=BoxTruth(file=PETS_TRUTH, frame_offset=offset),
        people=people,
    )


def _person(
    pid: int, path: TruePath, truth: dict[int, FrameTruth], floor_of: FloorOf, radii: list[float]
) -> Person:
    boxes = np.asarray(
        [truth[int(f)].xyxy[int(np.flatnonzero(truth[int(f)].ids == pid)[0])] for f in path.frames]
    )
    floor = floor_of(foot_points(boxes))
    rings = _rings(path.t, path.distance_ft, radii)
    return Person(
        id=pid,
        kind=_kind(path.distance_ft, floor, rings),
        seen=[Sighting(t=round(float(path.t[0]), 2), box=tuple(round(float(v)) for v in boxes[0]))],
        last_seen_s=round(float(path.t[-1]), 2),
        rings=rings,
    )


def _rings(t: F64, distance: F64, radii: list[float]) -> list[dict[float, float]]:
    """Per walk-in to within ``APPROACH_FT``: ring radius -> inward crossing time."""
    walks: list[dict[float, float]] = []
    pos = 0
    while True:
        outside = np.flatnonzero(distance[pos:] > APPROACH_FT)
        arrive = np.flatnonzero(distance[pos:] <= APPROACH_FT)
        if not len(outside) or not len(arrive[arrive > outside[0]]):
            return walks
        arrive_at = pos + int(arrive[arrive > outside[0]][0])
        beyond = np.flatnonzero(distance[pos:arrive_at] > radii[0])
        start = pos + int(beyond[-1]) if len(beyond) else pos
        gone = np.flatnonzero(distance[arrive_at:] > radii[0])
        end = arrive_at + int(gone[0]) if len(gone) else len(distance)
        walks.append(_crossings(t[start:end], distance[start:end], radii))
        if end == len(distance):
            return walks
        pos = end


def _crossings(t: F64, distance: F64, radii: list[float]) -> dict[float, float]:
    """Ring radius -> the first inward crossing's time, linear between the frames either side."""
    rings = {}
    for radius in radii:
        crossing = np.flatnonzero((distance[:-1] > radius) & (distance[1:] <= radius))
        if len(crossing):
            k = int(crossing[0])
            share = (distance[k] - radius) / (distance[k] - distance[k + 1])
            rings[radius] = round(float(t[k] + share * (t[k + 1] - t[k])), 2)
    return rings


def _kind(distance: F64, floor: F64, rings: list[dict[float, float]]) -> PersonClass:
    """The class by the module's rules (``floor``: positions [K, 2], ft; ``rings``: empty
    unless they approach)."""
    if rings:
        return "approaching"
    if np.linalg.norm(floor - floor[0], axis=1).max() <= STANDING_FT:
        return "standing"
    if distance[-1] - distance[0] >= LEAVING_FT and distance.min() > distance[0] - LEAVING_FT:
        return "leaving"
    return "passing"
