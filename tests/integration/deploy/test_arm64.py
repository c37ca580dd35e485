"""The edge on aarch64 under qemu-user agrees with x86-64 on a real PETS clip (on demand:
``pytest -m arm64 tests/integration/deploy/test_arm64.py``; tests/support/arm64_check.py says
how and why)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import arm64_check
from tests.support.arm64_check import Agreement

pytestmark = [pytest.mark.arm64, pytest.mark.footage, pytest.mark.model]


@pytest.fixture(scope="module")
def outcome(footage_dir: Path, model_mirror: Path) -> arm64_check.Outcome:
    """Both commands run natively and emulated on the clip's first 30 frames."""
    result = arm64_check.run_check(frames=30)
    arm64_check.report(result)
    return result


@pytest.mark.parametrize("job", ["detect", "track"])
def test_emulated_replay_matches_native(outcome: arm64_check.Outcome, job: str) -> None:
    native, emulated, agreement = outcome.runs[job]
    assert isinstance(agreement, Agreement) and agreement.boxes > 0, "the clip shows people"
    assert emulated.frames == native.frames == 30
    assert agreement.failures() == [], f"{job}: {agreement}"


def test_track_ranges_people_on_aarch64(outcome: arm64_check.Outcome) -> None:
    agreement = outcome.runs["track"][2]
    assert len(agreement.distance_diffs_ft) > 0, "tracks with distances in both runs"
