"""Detectors: exact decoding on hand-made model outputs, then the real weights on real footage.

The hand-made cases run tiny ONNX graphs (one Constant node) built here with the ``onnx``
package, so every box below is worked out by hand from the output layout in the model's
SOURCE notes: a known cell with known raw values must land on known frame pixels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edge.perception.detections import Detections, iou_matrix
from edge.perception.detectors import (
    Detector,
    FastestDetDetector,
    FrameError,
    ModelMismatchError,
    YoloxDetector,
    create_detector,
)
from edge.perception.detectors.modelstore import (
    ModelMissingError,
    ModelSpec,
    TensorSpec,
    UnknownModelError,
)
from edge.perception.detectors.registry import FAMILIES
from edge.tools.evaluation.detection import count_matches
from edge.tools.evaluation.groundtruth import load_pets_xml

Output = npt.NDArray[np.float32]


def _spec(
    name: str, decoder: str, input_shape: tuple[int, ...], output_shape: tuple[int, ...]
) -> ModelSpec:
    return ModelSpec(
        name=name,
        file=f"{name}.onnx",
        url="https://example.invalid/tiny.onnx",
        sha256="0" * 64,
        size=1,
        licence="Apache-2.0",
        input=TensorSpec(name="images", shape=input_shape),
        output=TensorSpec(name="output", shape=output_shape),
        decoder=decoder,
        score=0.4 if decoder == "yolox" else 0.65,
        nms_iou=0.45,
    )


def _yolox_rows(size: int) -> int:
    return sum((size // s) ** 2 for s in (8, 16, 32))


def yolox_spec(size: int = 416, classes: int = 80) -> ModelSpec:
    return _spec("tiny-yolox", "yolox", (1, 3, size, size), (1, _yolox_rows(size), 5 + classes))


def fastestdet_spec() -> ModelSpec:
    return _spec("tiny-fastestdet", "fastestdet", (1, 3, 352, 352), (1, 85, 22, 22))


def constant_model(
    folder: Path, output: Output, input_name: str = "images", input_shape: tuple[int, ...] = ()
) -> Path:
    """An ONNX file whose one output is always ``output``, whatever its input."""
    node = helper.make_node("Constant", [], ["output"], value=numpy_helper.from_array(output))
    graph = helper.make_graph(
        [node],
        "constant",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, list(output.shape))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = folder / "constant.onnx"
    onnx.save(model, path)
    return path


def build(folder: Path, spec: ModelSpec, output: Output, **options: float) -> Detector:
    """The spec's detector family running a constant model that always outputs ``output``."""
    path = constant_model(folder, output, spec.input.name, spec.input.shape)
    return FAMILIES[spec.decoder](path, spec, **options)  # type: ignore[arg-type]


def frame(height: int, width: int) -> npt.NDArray[np.uint8]:
    return np.zeros((height, width, 3), np.uint8)


# ---------------------------------------------------------------- YOLOX family


def yolox_row(size: int, stride: int, gx: int, gy: int) -> int:
    """Row of cell (gx, gy) at ``stride``: stride 8 rows first, then 16, then 32, row-major."""
    before = sum((size // s) ** 2 for s in (8, 16, 32) if s < stride)
    return before + gy * (size // stride) + gx


def yolox_output(spec: ModelSpec, cells: list[tuple[int, int, int, list[float]]]) -> Output:
    """Zero output with ``(stride, gx, gy, [tx, ty, tw, th, obj, cls0, ...])`` rows set."""
    output = np.zeros(spec.output.shape, np.float32)
    size = spec.input.shape[2]
    for stride, gx, gy, values in cells:
        output[0, yolox_row(size, stride, gx, gy), : len(values)] = values
    return output


LN2, LN4, LN8 = math.log(2), math.log(4), math.log(8)


@pytest.mark.parametrize(
    ("size", "classes", "frame_hw", "cell", "raw", "box"),
    [
        # r = 0.5: cx = 10.5*16 = 168, cy = 5.5*16 = 88, w = 4*16, h = 8*16 -> x2 in the frame
        (416, 80, (624, 832), (16, 10, 5), [0.5, 0.5, LN4, LN8], [272, 48, 400, 304]),
        # portrait frame, same ratio: the letterbox pads the right, not the bottom
        (416, 80, (832, 624), (16, 10, 5), [0.5, 0.5, LN4, LN8], [272, 48, 400, 304]),
        # r = 1, first row of the stride-8 grid: an 8x8 box at the origin
        (416, 80, (416, 416), (8, 0, 0), [0.5, 0.5, 0.0, 0.0], [0, 0, 8, 8]),
        # cx = 12.5*32 = 400, w = 64 -> x 736..864 in the frame, clipped to its width 832
        (416, 80, (624, 832), (32, 12, 0), [0.5, 0.5, LN2, 0.0], [736, 0, 832, 64]),
        # person-only 192 model, r = 0.25: last stride-8 cell (23, 17) -> bottom-right corner
        (192, 1, (576, 768), (8, 23, 17), [0.5, 0.5, 0.0, 0.0], [736, 544, 768, 576]),
    ],
    ids=["landscape", "portrait", "origin", "clipped", "person-192"],
)
def test_yolox_decodes_a_known_cell_to_frame_pixels(
    tmp_path: Path,
    size: int,
    classes: int,
    frame_hw: tuple[int, int],
    cell: tuple[int, int, int],
    raw: list[float],
    box: list[float],
) -> None:
    spec = yolox_spec(size, classes)
    detector = build(tmp_path, spec, yolox_output(spec, [(*cell, [*raw, 0.9, 0.8])]))
    found = detector.detect(frame(*frame_hw))
    assert found.xyxy.dtype == found.scores.dtype == np.dtype(np.float32)
    np.testing.assert_allclose(found.xyxy, [box], atol=1e-3)
    np.testing.assert_allclose(found.scores, [0.9 * 0.8], rtol=1e-6)


def test_yolox_nms_keeps_the_higher_of_two_overlapping_boxes(tmp_path: Path) -> None:
    spec = yolox_spec()
    big = [0.5, 0.5, LN8, LN8]  # 64x64 boxes: neighbouring cells overlap by IoU 0.78
    cells = [
        (8, 10, 10, [*big, 0.6, 0.9]),
        (8, 11, 10, [*big, 0.9, 0.9]),
        (8, 40, 40, [*big, 0.5, 0.9]),
    ]
    found = build(tmp_path, spec, yolox_output(spec, cells)).detect(frame(416, 416))
    np.testing.assert_allclose(found.scores, [0.81, 0.45], rtol=1e-6)
    np.testing.assert_allclose(found.xyxy[0], [60, 52, 124, 116], atol=1e-3)


@pytest.mark.parametrize(
    ("score", "expected"),
    [(None, [0.72]), (0.3, [0.72, 0.35])],
    ids=["model-default", "lower-threshold"],
)
def test_yolox_keeps_only_persons_above_the_threshold(
    tmp_path: Path, score: float | None, expected: list[float]
) -> None:
    spec = yolox_spec()
    box = [0.5, 0.5, 0.0, 0.0]
    not_person = [*box, 0.95, 0.1, 0.0, 0.0, 0.9]  # class 3 is sure, person is not
    cells = [(8, 5, 5, [*box, 0.9, 0.8]), (8, 20, 5, [*box, 0.5, 0.7]), (8, 35, 5, not_person)]
    options = {} if score is None else {"score": score}
    found = build(tmp_path, spec, yolox_output(spec, cells), **options).detect(frame(416, 416))
    np.testing.assert_allclose(found.scores, expected, rtol=1e-6)


def test_yolox_letterbox_keeps_bgr_order_and_pads_with_114(tmp_path: Path) -> None:
    spec = yolox_spec(32, 1)
    detector = build(tmp_path, spec, yolox_output(spec, []))
    wide = np.empty((32, 64, 3), np.uint8)
    wide[:] = (10, 20, 30)
    tensor = detector.preprocess(wide).copy()
    assert tensor.shape == (1, 3, 32, 32)
    assert tensor.dtype == np.float32
    np.testing.assert_array_equal(
        tensor[0, :, :16, :], np.broadcast_to([[[10]], [[20]], [[30]]], (3, 16, 32))
    )
    np.testing.assert_array_equal(tensor[0, :, 16:, :], 114)
    tall = np.full((64, 32, 3), 200, np.uint8)  # a new size must not keep the old picture
    tensor = detector.preprocess(tall)
    np.testing.assert_array_equal(tensor[0, :, :, :16], 200)
    np.testing.assert_array_equal(tensor[0, :, :, 16:], 114)


def test_yolox_rejects_an_output_that_does_not_fit_the_grid(tmp_path: Path) -> None:
    spec = _spec("odd", "yolox", (1, 3, 416, 416), (1, 100, 85))
    with pytest.raises(ModelMismatchError, match=r"odd: a YOLOX decoder needs .*\[1, 3549\]"):
        build(tmp_path, spec, np.zeros((1, 100, 85), np.float32))


# ---------------------------------------------------------------- FastestDet


def fastestdet_output(cells: list[tuple[int, int, list[float], dict[int, float]]]) -> Output:
    """Zero output with ``(gx, gy, [obj, t1, t2, t3, t4], {class: probability})`` cells set."""
    output = np.zeros((1, 85, 22, 22), np.float32)
    for gx, gy, box, classes in cells:
        output[0, :5, gy, gx] = box
        for index, probability in classes.items():
            output[0, 5 + index, gy, gx] = probability
    return output


def logit(p: float) -> float:
    return math.log(p / (1 - p))


PERSON = {0: 0.8, 1: 0.2}


@pytest.mark.parametrize(
    ("frame_hw", "raw", "box"),
    [
        # cx = (11 + tanh 0.5..) / 22 * 880 = 460, cy = 5.5 / 22 * 440 = 110, w = h = 220
        ((440, 880), [math.atanh(0.5), math.atanh(0.5), logit(0.25), 0.0], [350, 0, 570, 220]),
        # tanh -0.5 moves the centre back: cx = 10.5 * 40 = 420, cy = 4.5 * 20 = 90
        ((440, 880), [math.atanh(-0.5), math.atanh(-0.5), logit(0.25), 0.0], [310, -20, 530, 200]),
        # square frame of the input size, w = 0.1 * 352
        ((352, 352), [0.0, 0.0, logit(0.1), logit(0.1)], [158.4, 62.4, 193.6, 97.6]),
    ],
    ids=["offset-up", "offset-down", "input-size"],
)
def test_fastestdet_decodes_a_known_cell_to_frame_pixels(
    tmp_path: Path, frame_hw: tuple[int, int], raw: list[float], box: list[float]
) -> None:
    output = fastestdet_output([(11, 5, [0.9, *raw], PERSON)])
    found = build(tmp_path, fastestdet_spec(), output).detect(frame(*frame_hw))
    assert found.xyxy.dtype == found.scores.dtype == np.dtype(np.float32)
    expected = np.clip(box, 0, [frame_hw[1], frame_hw[0]] * 2)
    np.testing.assert_allclose(found.xyxy, [expected], atol=1e-3)
    np.testing.assert_allclose(found.scores, [0.9**0.6 * 0.8**0.4], rtol=1e-6)


def test_fastestdet_keeps_persons_above_the_threshold_and_the_best_of_overlaps(
    tmp_path: Path,
) -> None:
    box = [0.0, 0.0, logit(0.2), logit(0.3)]
    cells = [
        (3, 5, [0.95, *box], PERSON),  # kept
        (4, 5, [0.80, *box], PERSON),  # overlaps the one above with IoU 0.63: suppressed
        (15, 15, [0.95, *box], {0: 0.45, 2: 0.55}),  # person score 0.70 but a car is likelier
        (15, 3, [0.60, *box], {0: 0.7, 1: 0.3}),  # person score 0.64: below 0.65
    ]
    found = build(tmp_path, fastestdet_spec(), fastestdet_output(cells)).detect(frame(352, 352))
    np.testing.assert_allclose(found.scores, [0.95**0.6 * 0.8**0.4], rtol=1e-6)
    np.testing.assert_allclose(
        found.xyxy[0, :2], [3 * 16 - 0.1 * 352, 5 * 16 - 0.15 * 352], atol=1e-3
    )


def test_fastestdet_input_is_bgr_scaled_to_one(tmp_path: Path) -> None:
    detector = build(tmp_path, fastestdet_spec(), fastestdet_output([]))
    image = np.empty((576, 768, 3), np.uint8)
    image[:] = (51, 102, 204)
    tensor = detector.preprocess(image)
    assert tensor.shape == (1, 3, 352, 352)
    np.testing.assert_allclose(tensor[0, :, 100, 200], [0.2, 0.4, 0.8], rtol=1e-6)


# ---------------------------------------------------------------- shared checks


@pytest.mark.parametrize(
    ("input_name", "input_shape", "message"),
    [
        ("data", (1, 3, 416, 416), r"input 'data' \[1, 3, 416, 416\].*expects 'images'"),
        ("images", (1, 3, 320, 320), r"input 'images' \[1, 3, 320, 320\].*\[1, 3, 416, 416\]"),
    ],
    ids=["name", "shape"],
)
def test_model_input_must_match_the_manifest(
    tmp_path: Path, input_name: str, input_shape: tuple[int, ...], message: str
) -> None:
    spec = yolox_spec()
    path = constant_model(tmp_path, yolox_output(spec, []), input_name, input_shape)
    with pytest.raises(ModelMismatchError, match=message):
        YoloxDetector(path, spec)


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((48, 64), np.uint8),
        np.zeros((48, 64, 4), np.uint8),
        np.zeros((48, 64, 3), np.float32),
        np.zeros((0, 64, 3), np.uint8),
    ],
    ids=["grey", "bgra", "float", "empty"],
)
@pytest.mark.parametrize("spec", [yolox_spec(), fastestdet_spec()], ids=["yolox", "fastestdet"])
def test_detectors_refuse_frames_that_are_not_bgr(
    tmp_path: Path, spec: ModelSpec, image: npt.NDArray[np.generic]
) -> None:
    output = np.zeros(spec.output.shape, np.float32)
    with pytest.raises(FrameError, match="cvtColor"):
        build(tmp_path, spec, output).detect(image)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "options", [{"score": 0.0}, {"score": 1.5}, {"nms_iou": 1.0}, {"threads": 0}]
)
def test_bad_options_are_refused(tmp_path: Path, options: dict[str, float]) -> None:
    spec = yolox_spec()
    with pytest.raises(ValueError, match=next(iter(options))):
        build(tmp_path, spec, yolox_output(spec, []), **options)


# ---------------------------------------------------------------- real weights, real footage

MODELS = ["yolox-nano", "fastestdet", "person-192", "bytetrack-nano"]


@pytest.fixture(scope="module")
def pets(footage_dir: Path) -> Callable[[int], tuple[npt.NDArray[np.uint8], Detections]]:
    """Frame N of PETS 2009 S2L1 part 0 and its ground-truth boxes (as Detections)."""
    folder = footage_dir / "pets2009_s2l1"
    truth = load_pets_xml(folder / "PETS2009-S2L1.xml")
    video = cv2.VideoCapture(str(folder / "vtest_part0.avi"))
    images: list[npt.NDArray[np.uint8]] = []
    while True:
        ok, image = video.read()
        if not ok:
            break
        images.append(np.asarray(image, np.uint8))
    video.release()
    assert len(images) == 250, "vtest_part0.avi should hold 250 frames"

    def get(number: int) -> tuple[npt.NDArray[np.uint8], Detections]:
        boxes = truth[number].xyxy
        return images[number], Detections(boxes, np.ones(len(boxes), np.float32))

    return get


@pytest.mark.model
@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("yolox-nano", YoloxDetector),
        ("fastestdet", FastestDetDetector),
        ("person-192", YoloxDetector),
        ("bytetrack-nano", YoloxDetector),
    ],
)
def test_create_detector_picks_the_family_from_the_manifest(
    model_cache: Path, name: str, family: type[Detector]
) -> None:
    detector = create_detector(name, cache=model_cache, score=0.5)
    assert type(detector) is family
    assert (detector.spec.name, detector.score) == (name, 0.5)


def test_create_detector_errors_name_the_fix(tmp_path: Path) -> None:
    every = "yolox-nano, fastestdet, person-192, bytetrack-nano"
    with pytest.raises(UnknownModelError, match=every):
        create_detector("yolo-huge", cache=tmp_path)
    with pytest.raises(ModelMissingError, match="greetcue models pull yolox-nano"):
        create_detector(None, cache=tmp_path)


@pytest.mark.model
@pytest.mark.footage
def test_default_model_finds_most_people_on_pets(
    model_cache: Path, pets: Callable[[int], tuple[npt.NDArray[np.uint8], Detections]]
) -> None:
    detector = create_detector(cache=model_cache)
    truths = detections = matched = 0
    for number in range(0, 250, 25):
        image, truth = pets(number)
        found = detector.detect(image)
        assert np.all(found.xyxy[:, 2:] <= [image.shape[1], image.shape[0]])
        assert np.all(found.xyxy[:, 2:] > found.xyxy[:, :2])
        assert np.all(np.diff(found.scores) <= 0), "best score first"
        truths, detections = truths + len(truth), detections + len(found)
        matched += count_matches(truth.xyxy, found.xyxy, iou=0.5)
    assert truths > 50
    assert matched / truths >= 0.75, f"recall {matched / truths:.2f}"
    assert matched / detections >= 0.6, f"precision {matched / detections:.2f}"


@pytest.mark.model
@pytest.mark.footage
@pytest.mark.parametrize("number", [50, 225])
def test_all_models_agree_on_a_clearly_visible_person(
    model_cache: Path,
    pets: Callable[[int], tuple[npt.NDArray[np.uint8], Detections]],
    number: int,
) -> None:
    image, truth = pets(number)
    overlap = iou_matrix(truth.xyxy, truth.xyxy)
    np.fill_diagonal(overlap, 0)
    alone = np.flatnonzero(overlap.max(axis=1) == 0)  # nobody in front or behind
    area = np.prod(truth.xyxy[alone, 2:] - truth.xyxy[alone, :2], axis=1)
    person = truth.xyxy[alone[np.argmax(area)]][None]
    boxes = []
    for name in MODELS:
        found = create_detector(name, cache=model_cache).detect(image)
        match = iou_matrix(person, found.xyxy)[0]
        assert match.max() >= 0.5, f"{name} misses the person at {person[0]}"
        boxes.append(found.xyxy[match.argmax()])
    assert iou_matrix(np.array(boxes), np.array(boxes)).min() >= 0.5


@pytest.mark.model
@pytest.mark.footage
@pytest.mark.parametrize("name", MODELS)
def test_detection_is_repeatable(
    model_cache: Path, pets: Callable[[int], tuple[npt.NDArray[np.uint8], Detections]], name: str
) -> None:
    image, _ = pets(100)
    first = create_detector(name, cache=model_cache)
    once = first.detect(image)
    first.detect(pets(0)[0])  # a different frame in between must leave no trace
    again = first.detect(image)
    fresh = create_detector(name, cache=model_cache).detect(image)
    assert len(once) > 0
    for other in (again, fresh):
        np.testing.assert_array_equal(other.xyxy, once.xyxy)
        np.testing.assert_array_equal(other.scores, once.scores)
