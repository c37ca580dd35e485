"""What a box can do: bare model inference against the whole per-frame detect step.

Both are timed in one run, interleaved frame by frame, so a noisy machine slows both alike and
their ratio stays honest. The full step is read -> preprocess -> infer -> decode + NMS on a real
clip; bare inference reruns the model on one fixed, already prepared input tensor. The
pipeline's detector (every tile of the configured plan, then the merge) is timed in the same
loop on the same frames, when given.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge.perception.detections import FloatArray
from edge.perception.detectors import Detector, PersonDetector
from edge.perception.sources import Frame, Image, open_source

STAGES = ("read", "preprocess", "infer", "decode")


@dataclass(frozen=True, slots=True)
class Timing:
    """Milliseconds of one measured thing over many runs."""

    ms: np.ndarray

    @property
    def p50(self) -> float:
        return float(np.percentile(self.ms, 50))

    @property
    def p99(self) -> float:
        return float(np.percentile(self.ms, 99))

    @property
    def mean(self) -> float:
        return float(self.ms.mean())


@dataclass(frozen=True, slots=True)
class DetectBench:
    """Bare inference and the full detect step (with its stages), measured together."""

    runs: int
    frame_size: tuple[int, int]
    bare: Timing
    full: Timing
    stages: dict[str, Timing] = field(default_factory=dict)
    pipeline: Timing | None = None

    @property
    def ratio(self) -> float:
        """Full step over bare inference, at the median: 1.0 means no overhead at all."""
        return self.full.p50 / self.bare.p50

    @property
    def pipeline_ratio(self) -> float:
        """The pipeline's detector (all tiles and the merge) over bare inference, at the median."""
        return float("nan") if self.pipeline is None else self.pipeline.p50 / self.bare.p50

    @property
    def fps(self) -> float:
        """Frames per second the full step sustains on one stream (from the mean)."""
        return 1000.0 / self.full.mean


def _frames_forever(source: Path) -> Generator[Frame, None, None]:
    """The clip's frames, again from the start when it ends (a short clip still gives N runs)."""
    while True:
        with open_source(source) as frames:
            yield from frames


def bench_detector(
    detector: Detector,
    source: Path,
    runs: int = 250,
    warmup: int = 10,
    pipeline: PersonDetector | None = None,
) -> DetectBench:
    """Time ``runs`` bare inferences and ``runs`` full detect steps on ``source`` (and as many
    passes of ``pipeline``'s detector), interleaved."""
    if runs < 100:
        raise ValueError(f"runs={runs}: use at least 100 runs so p99 means something")
    frames = _frames_forever(source)
    try:
        return _interleaved(detector, frames, runs, warmup, pipeline)
    finally:
        frames.close()


def prepared_input(detector: Detector, image: Image, warmup: int = 10) -> FloatArray:
    """``image`` as the model's input tensor, after ``warmup`` detect steps on it."""
    fixed = detector.preprocess(image).copy()
    for _ in range(warmup):
        detector.detect(image)
    return fixed


def bare_inference(detector: Detector, image: Image, runs: int, warmup: int = 10) -> Timing:
    """Time ``runs`` bare inferences on ``image``'s prepared input (one block, no frames)."""
    fixed = prepared_input(detector, image, warmup)
    clock = time.perf_counter_ns
    ns = np.empty(runs)
    for i in range(runs):
        t0 = clock()
        detector.infer(fixed)
        ns[i] = clock() - t0
    return Timing(ns / 1e6)


def _interleaved(
    detector: Detector,
    frames: Iterator[Frame],
    runs: int,
    warmup: int,
    pipeline: PersonDetector | None,
) -> DetectBench:
    first = next(frames)
    height, width = first.image.shape[:2]
    fixed = prepared_input(detector, first.image, warmup)
    if pipeline is not None:
        pipeline.detect(first.image)  # plans the tiles for this frame size
    clock = time.perf_counter_ns
    bare = np.empty(runs)
    piped = np.empty(runs)
    stage_ns = np.empty((runs, len(STAGES)))
    for i in range(runs):
        t0 = clock()
        detector.infer(fixed)
        t1 = clock()
        image = next(frames).image
        t2 = clock()
        tensor = detector.preprocess(image)
        t3 = clock()
        output = detector.infer(tensor)
        t4 = clock()
        detector.decode(output, (image.shape[0], image.shape[1]))
        t5 = clock()
        if pipeline is not None:
            pipeline.detect(image)
        piped[i] = clock() - t5
        bare[i] = t1 - t0
        stage_ns[i] = (t2 - t1, t3 - t2, t4 - t3, t5 - t4)
    stage_ms = stage_ns / 1e6
    return DetectBench(
        runs=runs,
        frame_size=(width, height),
        bare=Timing(bare / 1e6),
        full=Timing(stage_ms.sum(axis=1)),
        stages={name: Timing(stage_ms[:, k]) for k, name in enumerate(STAGES)},
        pipeline=None if pipeline is None else Timing(piped / 1e6),
    )
