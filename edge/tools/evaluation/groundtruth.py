"""Ground truth in the PETS 2009 / CVML XML layout: per-frame person ids and boxes."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt


class GroundTruthError(ValueError):
    """The ground-truth file is missing or not in the expected layout."""


@dataclass(frozen=True, slots=True)
class FrameTruth:
    """One frame's annotated people: ``ids`` [N] and ``xyxy`` float32 [N, 4] in pixels."""

    ids: npt.NDArray[np.int64]
    xyxy: npt.NDArray[np.float32]


def load_pets_xml(path: Path | str) -> dict[int, FrameTruth]:
    """Read ``<frame number=N><objectlist><object id><box xc yc w h>`` into frame -> truth.

    Frames without annotated people map to empty arrays so every listed frame is scored.
    """
    path = Path(path)
    if not path.is_file():
        raise GroundTruthError(f"ground truth {path} does not exist; pass the PETS-style XML file")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise GroundTruthError(f"ground truth {path} is not valid XML: {exc}") from None
    frames: dict[int, FrameTruth] = {}
    for frame in root.iter("frame"):
        try:
            frames[int(frame.attrib["number"])] = _frame_truth(frame)
        except (KeyError, ValueError, TypeError) as exc:
            raise GroundTruthError(
                f"{path}: frame {frame.get('number')!r}: {exc}; every <frame> needs a number, "
                "every <object> an id and a <box> with numeric xc, yc, w and h"
            ) from None
    if not frames:
        raise GroundTruthError(f"{path} holds no <frame> elements; is it a PETS/CVML file?")
    return frames


def _frame_truth(frame: ET.Element) -> FrameTruth:
    """One ``<frame>``'s people; KeyError / ValueError on a missing or non-numeric value."""
    ids: list[int] = []
    boxes: list[tuple[float, float, float, float]] = []
    for obj in frame.iter("object"):
        box = obj.find("box")
        if box is None:
            raise ValueError(f"object {obj.get('id')} has no <box>")
        xc, yc = float(box.attrib["xc"]), float(box.attrib["yc"])
        w, h = float(box.attrib["w"]), float(box.attrib["h"])
        ids.append(int(obj.attrib["id"]))
        boxes.append((xc - w / 2, yc - h / 2, xc + w / 2, yc + h / 2))
    return FrameTruth(np.asarray(ids, np.int64), np.asarray(boxes, np.float32).reshape(-1, 4))
