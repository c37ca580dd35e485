"""The one interface every detector family implements, and the steps they share.

``detect`` is ``decode(infer(preprocess(image)), frame size)``; the stages are public so a
benchmark can time bare inference apart from the whole step.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from edge.perception.detections import Detections, FloatArray
from edge.perception.detectors.modelstore import ModelSpec
from edge.perception.detectors.session import check_io, open_session

Image = npt.NDArray[np.uint8]
FrameSize = tuple[int, int]


class FrameError(ValueError):
    """A frame the detector cannot use."""


class PersonDetector(Protocol):
    """Anything that finds people in a frame: one detector, or one run on tiles."""

    def detect(self, image: Image) -> Detections:
        """Person boxes in ``image`` (BGR, uint8, H x W x 3), frame pixels, best score first."""
        ...


class Detector(ABC):
    """A person detector: one BGR frame in, person boxes in frame pixels out."""

    family: ClassVar[str]

    def __init__(
        self,
        model_path: Path,
        spec: ModelSpec,
        *,
        threads: int = 1,
        score: float | None = None,
        nms_iou: float | None = None,
        spin: bool = False,
    ) -> None:
        self.spec = spec
        self.score = spec.score if score is None else score
        self.nms_iou = spec.nms_iou if nms_iou is None else nms_iou
        for what, value in (("score", self.score), ("nms_iou", self.nms_iou)):
            if not 0.0 < value < 1.0:
                raise ValueError(f"{what} must be between 0 and 1 (exclusive), got {value}")
        self._session = open_session(model_path, threads=threads, spin=spin)
        check_io(self._session, spec, model_path)
        self._io = ([spec.output.name], spec.input.name)
        self._prepare()

    @property
    def input_size(self) -> tuple[int, int]:
        """The model's input (width, height) in pixels: what a tile is scaled to."""
        _, _, height, width = self.spec.input.shape
        return width, height

    @abstractmethod
    def _prepare(self) -> None:
        """Check that this family can decode ``self.spec``; allocate buffers and tables once."""

    @abstractmethod
    def preprocess(self, image: Image) -> FloatArray:
        """The model's input tensor for ``image`` (a reused buffer: valid until the next call)."""

    def infer(self, tensor: FloatArray) -> FloatArray:
        """Run the model: input tensor in, raw output tensor out."""
        names, input_name = self._io
        output: FloatArray = self._session.run(names, {input_name: tensor})[0]
        return output

    @abstractmethod
    def decode(self, output: FloatArray, frame_size: FrameSize) -> Detections:
        """Person boxes in the pixels of a frame of ``frame_size`` (height, width)."""

    def detect(self, image: Image) -> Detections:
        """Person boxes in ``image`` (BGR, uint8, H x W x 3), best score first."""
        return self.decode(self.infer(self.preprocess(image)), (image.shape[0], image.shape[1]))


def check_frame(image: Image) -> None:
    """Fail clearly on anything but a non-empty 8-bit 3-channel (BGR) image."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3 or image.size == 0:
        raise FrameError(
            f"detectors take BGR uint8 frames of shape (H, W, 3), got {image.dtype} "
            f"{image.shape}; convert grey or RGBA frames with cv2.cvtColor first"
        )


def finish(
    xyxy: FloatArray, scores: FloatArray, frame_size: FrameSize, nms_iou: float
) -> Detections:
    """Clip boxes to the frame, keep the best of overlapping ones (NMS), drop empty ones."""
    height, width = frame_size
    np.clip(xyxy, 0.0, (width, height, width, height), out=xyxy)
    xywh = xyxy.astype(np.float64)  # OpenCV's Rect2d; float32 would be converted box by box
    xywh[:, 2:] -= xywh[:, :2]
    # OpenCV's stubs say Sequence; it takes the [N, 4] array of boxes (x, y, w, h) as it is.
    kept = cv2.dnn.NMSBoxes(xywh, scores, 0.0, nms_iou)  # type: ignore[arg-type]
    order = np.asarray(kept, np.intp).reshape(-1)
    order = order[(xywh[order, 2] > 0) & (xywh[order, 3] > 0)]  # clipped to nothing
    return Detections(xyxy[order], scores[order])
