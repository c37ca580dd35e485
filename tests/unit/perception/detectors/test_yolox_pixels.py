"""The YOLOX decode shared by models that differ in input size and pixel values.

ByteTrack's pedestrian YOLOX-Nano wants RGB, /255 and ImageNet's mean/std on a 608 x 1088
(non-square) canvas; YOLOX-Nano wants BGR 0-255 on 416 x 416. Both run through one
``YoloxDetector``: the shipped manifest entry is checked against the model's SOURCE notes
(expected values are worked out here from those notes, not from the manifest's numbers), and
tiny constant ONNX graphs stand in for the weights.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import yaml

from edge.perception.detectors.modelstore import (
    ManifestError,
    ModelSpec,
    PixelSpec,
    TensorSpec,
    load_manifest,
)
from tests.unit.perception.detectors.test_detectors import Output, build, frame

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)  # RGB, of 0-1 pixels
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)
STRIDES = (8, 16, 32)


@pytest.fixture(scope="module")
def bytetrack() -> ModelSpec:
    return load_manifest().get("bytetrack-nano")


def shrunk(spec: ModelSpec, height: int, width: int) -> ModelSpec:
    """``spec`` with a small input of ``height`` x ``width``, to keep the tensors tiny."""
    rows = sum((height // s) * (width // s) for s in STRIDES)
    return spec.model_copy(
        update={
            "input": TensorSpec(name="images", shape=(1, 3, height, width)),
            "output": TensorSpec(name="output", shape=(1, rows, spec.output.shape[2])),
        }
    )


def imagenet(bgr: tuple[int, int, int]) -> npt.NDArray[np.float32]:
    """What ByteTrack's SOURCE notes make of one BGR pixel: RGB, /255, minus mean, over std."""
    rgb = np.array(bgr[::-1], np.float32) / 255.0
    return (rgb - IMAGENET_MEAN) / IMAGENET_STD


def columns(bgr: tuple[int, int, int], width: int) -> npt.NDArray[np.float32]:
    """``width`` columns of a 32-row tensor all holding ``imagenet(bgr)``."""
    return np.broadcast_to(imagenet(bgr)[:, None, None], (3, 32, width))


def test_shipped_entry_is_the_608_by_1088_person_only_model(bytetrack: ModelSpec) -> None:
    assert bytetrack.decoder == "yolox"
    assert bytetrack.input.shape == (1, 3, 608, 1088)
    rows = sum((608 // s) * (1088 // s) for s in STRIDES)  # 76x136 + 38x68 + 19x34
    assert bytetrack.output.shape == (1, rows, 6)


def test_input_is_rgb_imagenet_normalised_and_padded_grey_at_the_right(
    tmp_path: Path, bytetrack: ModelSpec
) -> None:
    spec = shrunk(bytetrack, 32, 64)
    detector = build(tmp_path, spec, np.zeros(spec.output.shape, np.float32))
    colour = (10, 120, 250)  # BGR: a distinct value per channel shows any swap
    tensor = detector.preprocess(np.full((64, 96, 3), colour, np.uint8))  # r = 0.5 -> 32 x 48
    assert tensor.shape == (1, 3, 32, 64)
    picture, pad = tensor[0, :, :, :48], tensor[0, :, :, 48:]
    np.testing.assert_allclose(picture, columns(colour, 48), atol=1e-5)
    np.testing.assert_allclose(pad, columns((114, 114, 114), 16), atol=1e-5)


def test_a_taller_frame_repads_with_normalised_grey(tmp_path: Path, bytetrack: ModelSpec) -> None:
    spec = shrunk(bytetrack, 32, 64)
    detector = build(tmp_path, spec, np.zeros(spec.output.shape, np.float32))
    detector.preprocess(np.full((32, 64, 3), 255, np.uint8))  # fills the whole canvas
    tensor = detector.preprocess(np.zeros((64, 64, 3), np.uint8))  # r = 0.5 -> 32 x 32
    np.testing.assert_allclose(tensor[0, :, :, :32], columns((0, 0, 0), 32), atol=1e-5)
    np.testing.assert_allclose(tensor[0, :, :, 32:], columns((114, 114, 114), 32), atol=1e-5)


def test_default_pixels_leave_bgr_0_to_255_untouched(tmp_path: Path, bytetrack: ModelSpec) -> None:
    spec = shrunk(bytetrack, 32, 64).model_copy(update={"pixels": PixelSpec()})
    detector = build(tmp_path, spec, np.zeros(spec.output.shape, np.float32))
    tensor = detector.preprocess(np.full((32, 64, 3), (10, 120, 250), np.uint8))
    np.testing.assert_array_equal(tensor[0, :, 0, 0], [10, 120, 250])


def row(height: int, width: int, stride: int, gx: int, gy: int) -> int:
    """Output row of cell (gx, gy): stride 8 rows first, then 16, 32; each grid row-major."""
    before = sum((height // s) * (width // s) for s in STRIDES if s < stride)
    return before + gy * (width // stride) + gx


LN4, LN8 = math.log(4), math.log(8)


@pytest.mark.parametrize(
    ("frame_hw", "cell", "raw", "box"),
    [
        # r = 2: canvas centre (60.5*16, 30.5*16) = (968, 488), size 64 x 128 -> halved
        ((304, 544), (16, 60, 30), [0.5, 0.5, LN4, LN8], [468, 212, 500, 276]),
        # last stride-32 cell (33, 18), r = 1: centre (1072, 592), 32 x 32 -> clipped
        ((608, 1088), (32, 33, 18), [0.5, 0.5, 0.0, 0.0], [1056, 576, 1088, 608]),
        # a 4:3 frame: r = 608/576; stride-8 cell (80, 10): canvas centre (644, 84), 64 x 64
        (
            (576, 768),
            (8, 80, 10),
            [0.5, 0.5, LN8, LN8],
            [v * 576 / 608 for v in (612, 52, 676, 116)],
        ),
    ],
    ids=["upscaled", "last-cell", "pets-size"],
)
def test_non_square_grid_decodes_a_known_cell_to_frame_pixels(
    tmp_path: Path,
    bytetrack: ModelSpec,
    frame_hw: tuple[int, int],
    cell: tuple[int, int, int],
    raw: list[float],
    box: list[float],
) -> None:
    output: Output = np.zeros(bytetrack.output.shape, np.float32)
    output[0, row(608, 1088, *cell)] = [*raw, 0.9, 0.7]
    found = build(tmp_path, bytetrack, output).detect(frame(*frame_hw))
    np.testing.assert_allclose(found.xyxy, [box], atol=1e-2)
    np.testing.assert_allclose(found.scores, [0.9 * 0.7], rtol=1e-6)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update(decoder="fastestdet"), "pixels is read by the yolox decoder only"),
        (lambda m: m["pixels"].update(std=[58.0, 0.0, 57.0]), "std"),
        (lambda m: m["pixels"].update(order="rgba"), "order"),
        (lambda m: m["pixels"].update(mean=[1.0, 2.0]), "mean"),
    ],
    ids=["other-decoder", "zero-std", "bad-order", "two-means"],
)
def test_invalid_pixels_are_refused_with_the_reason(
    tmp_path: Path, bytetrack: ModelSpec, change: Any, message: str
) -> None:
    entry = bytetrack.model_dump(mode="json")
    change(entry)
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump({"default": entry["name"], "models": [entry]}))
    with pytest.raises(ManifestError, match=message):
        load_manifest(path)
