"""Tracking evaluation: CLEAR MOT and identity scores against ground truth, and a side-by-side
run of several trackers on the same cached detections.

Detection runs once (it costs far more than tracking); every tracker then sees identical
input, each recorded sequence starting from a reset. Only the trackers' own update calls are
timed: converting detections to a peer's input type happens outside the timer, so the peer is
not charged for our data layout.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge.config import TrackerConfig
from edge.perception.detections import Detections, iou_matrix
from edge.perception.tracking.appearance import F32, describe_strong
from edge.perception.tracking.tracker import Tracker, Tracks
from edge.tools.evaluation.groundtruth import FrameTruth, load_pets_xml
from edge.tools.footage.location import (
    PETS_DIR,
    PETS_PART_FRAMES,
    PETS_PARTS,
    PETS_TRUTH,
    FootageError,
)

log = logging.getLogger(__name__)

PEER_INSTALL = "deploy/requirements-peers.txt"


class PeerUnavailableError(RuntimeError):
    """The peer tracker's package is not installed."""


@dataclass(frozen=True, slots=True)
class EvalFrame:
    """One frame of a recorded sequence: its time, the detector's output and the truth."""

    t: float
    detections: Detections
    truth: FrameTruth
    appearance: F32 | None = None  # of the strong detections, for our tracker's re-link


@dataclass(frozen=True, slots=True)
class MotScore:
    """CLEAR MOT and identity scores over every evaluated sequence together."""

    mota: float
    idf1: float
    id_switches: int
    frames: int
    truths: int
    false_positives: int
    misses: int


@dataclass(frozen=True, slots=True)
class Contender:
    """A tracker under test, split so that only ``step`` is timed.

    ``prepare`` turns a frame's detections (and appearance) into the tracker's input,
    ``step(input, t)`` is the tracker's own update, ``to_tracks`` turns its output into
    :class:`Tracks`.
    """

    name: str
    reset: Callable[[], None]
    prepare: Callable[[EvalFrame], Any]
    step: Callable[[Any, float], Any]
    to_tracks: Callable[[Any], Tracks]


@dataclass(frozen=True, slots=True)
class TrackerResult:
    """One row of a comparison: scores, per-frame update cost, and cost relative to row one."""

    name: str
    score: MotScore
    ms_mean: float
    ms_p99: float
    cost_ratio: float


def evaluate_mot(
    sequences: Iterable[Iterable[tuple[FrameTruth, Tracks]]], iou: float = 0.5
) -> MotScore:
    """Score tracked sequences against truth; a track matches a person at IoU >= ``iou``.

    Ids are compared within a sequence only; the figures are over all frames of all sequences.
    """
    import motmetrics as mm

    accumulators = []
    for sequence in sequences:
        acc = mm.MOTAccumulator(auto_id=True)
        for truth, tracks in sequence:
            overlap = iou_matrix(truth.xyxy, tracks.xyxy)
            # motmetrics' own iou_matrix needs NumPy < 2; build its distance matrix here.
            distance = np.where(overlap >= iou, 1.0 - overlap, np.nan)
            acc.update(truth.ids.tolist(), tracks.ids.tolist(), distance)
        accumulators.append(acc)
    if not accumulators:
        raise ValueError("no sequences to evaluate; pass at least one sequence of frames")
    names = [f"seq{i}" for i in range(len(accumulators))]
    fields = [
        "mota",
        "idf1",
        "num_switches",
        "num_frames",
        "num_objects",
        "num_false_positives",
        "num_misses",
    ]
    logging.disable(logging.INFO)  # motmetrics logs its timings at INFO on the root logger
    try:
        table = mm.metrics.create().compute_many(
            accumulators, metrics=fields, names=names, generate_overall=True
        )
    finally:
        logging.disable(logging.NOTSET)
    row = table.loc["OVERALL" if len(names) > 1 else names[0]]
    return MotScore(
        mota=float(row["mota"]),
        idf1=float(row["idf1"]),
        id_switches=int(row["num_switches"]),
        frames=int(row["num_frames"]),
        truths=int(row["num_objects"]),
        false_positives=int(row["num_false_positives"]),
        misses=int(row["num_misses"]),
    )


def run_contender(
    contender: Contender, sequences: Sequence[Sequence[EvalFrame]]
) -> tuple[list[list[tuple[FrameTruth, Tracks]]], list[float]]:
    """Track every sequence from a reset; return per-frame (truth, tracks) and update seconds."""
    tracked: list[list[tuple[FrameTruth, Tracks]]] = []
    seconds: list[float] = []
    for sequence in sequences:
        contender.reset()
        inputs = [contender.prepare(frame) for frame in sequence]
        outputs = []
        for frame, prepared in zip(sequence, inputs, strict=True):
            start = time.perf_counter()
            outputs.append(contender.step(prepared, frame.t))
            seconds.append(time.perf_counter() - start)
        tracked.append(
            [(f.truth, contender.to_tracks(o)) for f, o in zip(sequence, outputs, strict=True)]
        )
    return tracked, seconds


def compare_trackers(
    sequences: Sequence[Sequence[EvalFrame]], contenders: Sequence[Contender], rounds: int = 3
) -> list[TrackerResult]:
    """Score each contender on the same frames; the first is the reference for ``cost_ratio``.

    Contenders run in turn, ``rounds`` times after one untimed warm-up round, so machine noise
    falls on all alike. Scores come from the first round (tracking is deterministic).
    """
    if not contenders:
        raise ValueError("no trackers to compare; pass at least one contender")
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    scores: dict[str, MotScore] = {}
    seconds: dict[str, list[float]] = {c.name: [] for c in contenders}
    for round_no in range(rounds + 1):
        for contender in contenders:
            tracked, took = run_contender(contender, sequences)
            if round_no == 0:
                scores[contender.name] = evaluate_mot(tracked)
            else:
                seconds[contender.name].extend(took)
    ms = {name: 1000.0 * np.asarray(s) for name, s in seconds.items()}
    reference = float(ms[contenders[0].name].mean())
    return [
        TrackerResult(
            name=c.name,
            score=scores[c.name],
            ms_mean=float(ms[c.name].mean()),
            ms_p99=float(np.percentile(ms[c.name], 99)),
            cost_ratio=reference / float(ms[c.name].mean()),
        )
        for c in contenders
    ]


def ours(config: TrackerConfig | None = None, name: str = "greetcue") -> Contender:
    """Our :class:`Tracker` as a contender."""
    tracker = Tracker(config)

    def step(frame: EvalFrame, t: float) -> Tracks:
        return tracker.update(frame.detections, t, frame.appearance)

    return Contender(name, tracker.reset, lambda frame: frame, step, lambda t: t)


def bytetrack_peer(name: str, **options: Any) -> Contender:
    """Roboflow ``trackers`` ByteTrack as a contender; ``options`` go to ``ByteTrackTracker``."""
    try:
        import supervision as sv
        from trackers import ByteTrackTracker
    except ImportError as exc:
        raise PeerUnavailableError(
            f"the peer tracker cannot be imported ({exc}); install it as {PEER_INSTALL} says"
        ) from None
    tracker = ByteTrackTracker(**options)

    def prepare(frame: EvalFrame) -> Any:
        d = frame.detections
        return sv.Detections(xyxy=d.xyxy, confidence=d.scores, class_id=np.zeros(len(d), int))

    def step(d: Any, t: float) -> Any:
        return tracker.update(d, timestamp=t)

    def to_tracks(out: Any) -> Tracks:
        kept = np.asarray(out.tracker_id) >= 0  # -1: not yet confirmed
        n = int(kept.sum())
        return Tracks(
            ids=np.asarray(out.tracker_id, np.int64)[kept],
            xyxy=np.asarray(out.xyxy, np.float32).reshape(-1, 4)[kept],
            observed=np.asarray(out.xyxy, np.float32).reshape(-1, 4)[kept],
            scores=np.asarray(out.confidence, np.float32)[kept],
            coasting=np.zeros(n, bool),
            ended=np.zeros(0, np.int64),
        )

    return Contender(name, tracker.reset, prepare, step, to_tracks)


def peer_version() -> str:
    """``trackers <version>``, naming the peer in reports."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"trackers {version('trackers')}"
    except PackageNotFoundError:
        return "trackers (not installed)"


def peers_like(config: TrackerConfig, fps: float) -> list[Contender]:
    """The peer twice: with its defaults (at our frame rate) and with our thresholds."""
    return [
        bytetrack_peer("ByteTrack, defaults", frame_rate=fps),
        bytetrack_peer(
            "ByteTrack, our params",
            frame_rate=fps,
            lost_track_buffer=round(config.max_lost_s * 30),  # counted in 30 fps frames
            track_activation_threshold=config.new_track_score,
            minimum_consecutive_frames=config.min_hits,
            minimum_iou_threshold=config.match_iou,
            high_conf_det_threshold=config.high_score,
        ),
    ]


def strong_looks(strong: float) -> Describe:
    """A ``describe`` for :func:`pets_frames`: the appearance of the boxes scoring ``strong``
    or more, as the service's perception gives it to the tracker."""

    def describe(image: np.ndarray, found: Detections) -> F32:
        return describe_strong(image, found.xyxy, found.scores, strong)

    return describe


def frame_rate(sequences: Sequence[Sequence[EvalFrame]]) -> float:
    """Frames per second of recorded sequences: the median step between frame times."""
    steps = np.concatenate([np.diff([f.t for f in s]) for s in sequences])
    steps = steps[steps > 0]
    if not len(steps):
        raise ValueError("sequences need two or more frames with increasing times to give a rate")
    return float(1.0 / np.median(steps))


Describe = Callable[[np.ndarray, Detections], F32]


def pets_frames(
    footage_dir: Path, detect: Callable[[np.ndarray], Detections], describe: Describe | None = None
) -> list[list[EvalFrame]]:
    """Run ``detect`` over PETS 2009 S2L1 parts 0-1 once: one sequence of frames per part,
    with the detections' appearance by ``describe(image, detections)`` (None: none)."""
    from edge.perception.sources import open_source

    root = Path(footage_dir) / PETS_DIR
    if not root.is_dir():
        raise FootageError(f"{footage_dir} has no {PETS_DIR}/: is it the footage folder?")
    truth = load_pets_xml(root / PETS_TRUTH)
    nobody = FrameTruth(np.zeros(0, np.int64), np.zeros((0, 4), np.float32))
    sequences = []
    for part, name in enumerate(PETS_PARTS):
        frames = []
        with open_source(str(root / name)) as source:
            for frame in source:
                number = frame.index + PETS_PART_FRAMES * part
                found = detect(frame.image)
                looks = describe(frame.image, found) if describe is not None else None
                frames.append(EvalFrame(frame.t, found, truth.get(number, nobody), looks))
        log.info("detected %d frames of %s", len(frames), name)
        sequences.append(frames)
    return sequences
