"""Person detectors: one small class per model family behind one interface."""

from edge.perception.detectors.detector import Detector, FrameError, PersonDetector
from edge.perception.detectors.fastestdet import FastestDetDetector
from edge.perception.detectors.registry import create_detector
from edge.perception.detectors.session import ModelLoadError, ModelMismatchError
from edge.perception.detectors.yolox import YoloxDetector

__all__ = [
    "Detector",
    "FastestDetDetector",
    "FrameError",
    "ModelLoadError",
    "ModelMismatchError",
    "PersonDetector",
    "YoloxDetector",
    "create_detector",
]
