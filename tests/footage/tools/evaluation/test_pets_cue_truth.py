"""The committed PETS cue truth is what the derivation makes of the footage's own ground truth
and calibration: nobody edits a derived label by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.tools.demo.replays import EXAMPLES
from edge.tools.evaluation.cue_labels import TRUTH_DIR, dump_truth, load_truth, truth_name
from edge.tools.evaluation.pets_cues import derive_pets_truth
from edge.tools.footage.location import PETS_PARTS


@pytest.mark.parametrize("part", range(len(PETS_PARTS)))
def test_the_committed_pets_truth_is_derived_from_the_footage(footage_dir: Path, part: int) -> None:
    derived = derive_pets_truth(footage_dir, part, EXAMPLES)
    committed = TRUTH_DIR / truth_name(derived.clip)
    assert committed.read_text(encoding="utf-8") == dump_truth(derived), (
        f"{committed} differs from what the footage gives: run `greetcue eval pets-truth`"
    )
    assert load_truth(committed).approaching, "the kiosk sees people walk in in every part"
