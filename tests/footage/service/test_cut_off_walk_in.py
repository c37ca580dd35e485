"""A cut-off customer walking in, on real footage: Intel's face-demographics clip, two people
walking at a camera near head height, their feet out of the frame almost at once, so both are
ranged by their box width against the assumed ``body_width_ft`` (corridor example).

How far people's widths spread around the assumed one is the same error on every frame of one
person: it scales their distances and never makes a step. The approach is judged on the
fixes' frame-to-frame jitter, so a wider, more honest spread never hides a walk-in (with the
spread counted as jitter, 0.6 ft cued neither of the two)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import load_config
from edge.tools.demo.replays import EXAMPLES
from edge.tools.evaluation.cue_labels import TRUTH_DIR, load_truth
from edge.tools.evaluation.cues import LEAD_RING_FT, score_cues, whereabouts
from edge.tools.replay.jobs import read_rows, run_track

TRUTH = TRUTH_DIR / "intel-face-demographics-walking.yaml"


@pytest.mark.parametrize("width_sd_ft", [0.3, 0.6])
def test_how_widely_widths_spread_never_hides_a_cut_off_walk_in(
    tmp_path: Path, footage_dir: Path, model_cache: Path, width_sd_ft: float
) -> None:
    truth = load_truth(TRUTH)
    config = load_config(EXAMPLES / truth.config)
    ranging = config.ranging.model_copy(update={"body_width_sd_ft": width_sd_ft})
    config = config.model_copy(update={"ranging": ranging})
    run = tmp_path / "walk-in.jsonl"
    run_track(config, run, source=footage_dir / truth.clip, events=True)
    score = score_cues(read_rows(run), truth, whereabouts(truth)).score
    assert score.approaching == len(truth.approaching) == 2
    assert (score.cued, score.false_cues, score.repeat_cues) == (2, 0, 0)
    # The man, who crosses the 5-ft ring in the clip, is cued before he reaches it.
    (lead,) = score.leads[LEAD_RING_FT]
    assert lead > 0
