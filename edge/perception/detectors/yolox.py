"""YOLOX-style detectors (YOLOX-Nano, the person-only 192 model, ByteTrack's pedestrian
YOLOX-Nano): letterbox in, grid decode out.

The models share the decode (any input height and width, strides 8/16/32) and differ only in
input size and pixel values, both read from the manifest (``input.shape``, ``pixels``). Per
frame only the resized image is written: its buffer and the NCHW input tensor (the 114-grey
letterbox canvas, normalised like the image) are allocated once, as are the decoder's grid
offsets and strides. Rows are decoded only where objectness x person score passes the threshold.
"""

from __future__ import annotations

import cv2
import numpy as np

from edge.perception.detections import Detections, FloatArray
from edge.perception.detectors.detector import Detector, FrameSize, Image, check_frame, finish
from edge.perception.detectors.modelstore import PixelSpec
from edge.perception.detectors.session import ModelMismatchError

STRIDES = (8, 16, 32)
PAD_VALUE = 114


class YoloxDetector(Detector):
    """Letterboxed input, pixels as ``spec.pixels`` says; rows ``tx ty tw th obj class...``."""

    family = "yolox"

    def _prepare(self) -> None:
        _, channels, self._height, self._width = self.spec.input.shape
        self._grid, self._strides = _grid(self._height, self._width)
        expected = (1, len(self._grid), self.spec.output.shape[-1])
        if channels != 3 or self.spec.output.shape != expected or expected[2] < 6:
            raise ModelMismatchError(
                f"{self.spec.name}: a YOLOX decoder needs input [1, 3, H, W] and output "
                f"{list(expected[:2])} + [5 + classes] for strides {STRIDES}; the manifest says "
                f"{list(self.spec.input.shape)} -> {list(self.spec.output.shape)}"
            )
        pixels = self.spec.pixels
        self._channels = slice(None, None, -1 if pixels.order == "rgb" else 1)  # frames are BGR
        self._normalised = pixels != PixelSpec()
        self._mean = np.asarray(pixels.mean, np.float32).reshape(3, 1, 1)
        self._inv_std = (1.0 / np.asarray(pixels.std, np.float32)).reshape(3, 1, 1)
        self._pad = (PAD_VALUE - self._mean) * self._inv_std  # the grey canvas, normalised
        self._resized = np.empty((self._height, self._width, 3), np.uint8)
        self._tensor = np.empty((1, 3, self._height, self._width), np.float32)  # padded below
        self._last_frame: FrameSize = (0, 0)

    def _ratio(self, frame_size: FrameSize) -> float:
        return min(self._height / frame_size[0], self._width / frame_size[1])

    def preprocess(self, image: Image) -> FloatArray:
        check_frame(image)
        frame_size = (image.shape[0], image.shape[1])
        ratio = self._ratio(frame_size)
        height = max(1, int(frame_size[0] * ratio))
        width = max(1, int(frame_size[1] * ratio))
        if frame_size != self._last_frame:  # a new frame size leaves stale pixels in the pad
            self._tensor[0] = self._pad
            self._last_frame = frame_size
        region = self._resized[:height, :width]
        cv2.resize(image, (width, height), dst=region, interpolation=cv2.INTER_LINEAR)
        picture = self._tensor[0, :, :height, :width]
        np.copyto(picture, region.transpose(2, 0, 1)[self._channels])
        if self._normalised:
            picture -= self._mean
            picture *= self._inv_std
        return self._tensor

    def decode(self, output: FloatArray, frame_size: FrameSize) -> Detections:
        rows = output.reshape(len(self._grid), -1)
        person = rows[:, 4] * rows[:, 5]
        keep = np.flatnonzero(person >= self.score)
        if keep.size == 0:
            return Detections.empty()
        picked = rows[keep]
        scale = self._strides[keep] / self._ratio(frame_size)  # input cells -> frame pixels
        centre = (picked[:, :2] + self._grid[keep]) * scale
        half = np.exp(picked[:, 2:4]) * (scale * 0.5)
        xyxy = np.concatenate((centre - half, centre + half), axis=1)
        return finish(xyxy, person[keep], frame_size, self.nms_iou)


def _grid(height: int, width: int) -> tuple[FloatArray, FloatArray]:
    """Cell offsets (gx, gy) [N, 2] and strides [N, 1], stride 8 first, each row-major."""
    cells, strides = [], []
    for stride in STRIDES:
        gy, gx = np.mgrid[: height // stride, : width // stride]
        cells.append(np.stack([gx.ravel(), gy.ravel()], axis=1))
        strides.append(np.full((gx.size, 1), stride))
    return np.concatenate(cells).astype(np.float32), np.concatenate(strides).astype(np.float32)
