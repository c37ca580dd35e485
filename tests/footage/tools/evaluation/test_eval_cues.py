"""`greetcue eval cues` on a real replay of PETS part 0 (the real detector and the service's
turn, as `greetcue track --events` runs them): every cue is accounted for, and every labelled
approacher whose box the cued track covered is found cued."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from edge.cli import app
from edge.tools.evaluation.cue_labels import TRUTH_DIR, load_truth
from edge.tools.evaluation.cues import first_cues, score_cues, whereabouts
from edge.tools.evaluation.groundtruth import load_pets_xml
from edge.tools.evaluation.ranging import truth_of
from edge.tools.footage.location import PETS_DIR, PETS_PARTS, PETS_TRUTH
from edge.tools.replay.jobs import read_rows
from tests.support.paths import REPO

KIOSK = REPO / "deploy" / "examples" / "pets-kiosk.yaml"
TRUTH = TRUTH_DIR / "pets2009_s2l1-vtest_part0.yaml"


def test_eval_cues_scores_a_real_replay(
    tmp_path: Path, footage_dir: Path, model_cache: Path
) -> None:
    run = tmp_path / "part0.jsonl"
    clip = footage_dir / PETS_DIR / PETS_PARTS[0]
    runner = CliRunner()
    made = runner.invoke(
        app, ["track", str(clip), "--config", str(KIOSK), "--out", str(run), "--events"]
    )
    assert made.exit_code == 0, made.output
    said = runner.invoke(app, ["eval", "cues", str(run), "--truth", str(TRUTH)])
    assert said.exit_code == 0, said.output
    rows, truth = read_rows(run), load_truth(TRUTH)
    cues = first_cues(rows)
    scored = score_cues(rows, truth, whereabouts(truth))
    assert cues and [cue for cue, _ in scored.owners] == cues
    assert len(re.findall(r"^cue at ", said.output, re.MULTILINE)) == len(cues)
    score = scored.score
    assert score.cued + score.false_cues + score.repeat_cues == len(cues)
    assert re.search(rf"recall {score.recall:.2f}", said.output)
    # Independently: whom the cued track's box covers at the cue's own frame (IoU 0.5).
    gt = load_pets_xml(footage_dir / PETS_DIR / PETS_TRUTH)
    covered = set()
    for cue in cues:
        row = rows[cue.frame]
        boxes = np.asarray([t["box"] for t in row["tracks"] if t["id"] == cue.track_id])
        covered |= set(truth_of(gt[cue.frame], boxes, 0.5).values())
    approachers = {p.id for p in truth.approaching}
    found = {person for _, person in scored.owners if person in approachers}
    assert covered & approachers <= found
    leads = [lead for ring in score.leads.values() for lead in ring]
    assert len(leads) >= score.cued and all(np.isfinite(leads))
