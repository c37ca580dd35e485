"""Every committed cue truth file follows the schema, names a clip greetcue pulls and an example
configuration, labels rings that configuration has, and a file that breaks the schema is
refused with the file and the key named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from edge.config import load_config
from edge.tools.demo.replays import EXAMPLES
from edge.tools.evaluation.cue_labels import (
    TruthError,
    dump_truth,
    load_truth,
    truth_files,
    truth_name,
)
from edge.tools.footage.store import load_manifest

FILES = truth_files()


def test_there_is_a_truth_file_per_clip_with_people() -> None:
    clips = {load_truth(path).clip for path in FILES}
    pulled = {entry.path for entry in load_manifest().files}
    assert {"pets2009_s2l1/vtest_part0.avi", "pets2009_s2l1/vtest_part1.avi"} <= clips
    assert {p for p in pulled if p.startswith("intel/") and not p.endswith(".txt")} <= clips


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_a_truth_file_refers_to_a_pulled_clip_and_an_example_with_its_rings(path: Path) -> None:
    truth = load_truth(path)
    assert path.name == truth_name(truth.clip)
    assert truth.clip in {entry.path for entry in load_manifest().files}
    radii = {zone.radius_ft for zone in load_config(EXAMPLES / truth.config).zones}
    labelled = {ring for person in truth.approaching for walk in person.rings for ring in walk}
    assert labelled <= radii, f"{path.name} labels rings {labelled - radii} its config lacks"
    assert truth.people and all(p.seen[0].t <= p.last_seen_s for p in truth.people)


def test_a_truth_file_survives_writing_and_reading_unchanged(tmp_path: Path) -> None:
    for path in FILES:
        copy = tmp_path / path.name
        copy.write_text(dump_truth(load_truth(path)), encoding="utf-8")
        assert load_truth(copy) == load_truth(path)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"class": "passing"}, "only an approaching person crosses rings"),
        ({"rings": []}, "needs each walk-in's time"),
        ({"rings": [{5.0: 1.0, 10.0: 2.0}]}, "outer first"),
        ({"seen": [{"t": 0.0, "box": [10, 10, 5, 20]}]}, "x1 < x2"),
        ({"colour": "red"}, "people.0.colour: unknown key"),
    ],
)
def test_a_broken_truth_file_is_refused_naming_the_file_and_the_fault(
    tmp_path: Path, change: dict[str, object], said: str
) -> None:
    person = {"id": 1, "class": "approaching", "seen": [{"t": 0.0, "box": [0, 0, 9, 9]}]}
    person |= {"last_seen_s": 3.0, "rings": [{10.0: 1.0, 5.0: 2.0}], **change}
    data = {"clip": "c.gif", "config": "c.yaml", "labelled": "by hand", "method": "m"}
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump({**data, "people": [person]}), encoding="utf-8")
    with pytest.raises(TruthError, match=said) as error:
        load_truth(path)
    assert str(path) in str(error.value)
