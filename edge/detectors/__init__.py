"""Person detectors: one small class per model family behind one interface."""

from edge.detectors.detector import Detector, FrameError
from edge.detectors.fastestdet import FastestDetDetector
from edge.detectors.registry import create_detector
from edge.detectors.session import ModelLoadError, ModelMismatchError
from edge.detectors.yolox import YoloxDetector

__all__ = [
    "Detector",
    "FastestDetDetector",
    "FrameError",
    "ModelLoadError",
    "ModelMismatchError",
    "YoloxDetector",
    "create_detector",
]
