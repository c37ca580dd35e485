"""Pick and build a detector by model name: weights from the store, class by decoder family."""

from __future__ import annotations

from pathlib import Path

from edge.perception.detectors.detector import Detector
from edge.perception.detectors.fastestdet import FastestDetDetector
from edge.perception.detectors.modelstore import load_manifest, resolve
from edge.perception.detectors.yolox import YoloxDetector

FAMILIES: dict[str, type[Detector]] = {
    cls.family: cls for cls in (YoloxDetector, FastestDetDetector)
}


def create_detector(
    name: str | None = None,
    threads: int = 1,
    score: float | None = None,
    nms_iou: float | None = None,
    cache: Path | None = None,
    *,
    spin: bool = False,
) -> Detector:
    """The detector for manifest model ``name`` (None: the default), its weights sha-checked.

    ``score`` and ``nms_iou`` default to the model's own; ``spin`` lets ONNX Runtime's
    threads busy-wait (faster with several threads, but it takes cores from the pipeline).
    """
    manifest = load_manifest()
    spec = manifest.get(name)
    path = resolve(spec.name, cache=cache, manifest=manifest)
    detector_class = FAMILIES[spec.decoder]
    return detector_class(path, spec, threads=threads, score=score, nms_iou=nms_iou, spin=spin)
