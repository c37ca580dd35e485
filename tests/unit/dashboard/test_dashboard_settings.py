"""The dashboard's configuration: the example loads, and bad values name the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.settings import SettingsError, load_settings
from tests.support.paths import REPO

EXAMPLE = REPO / "deploy" / "examples" / "dashboard" / "store.yaml"


def test_the_example_configuration_loads() -> None:
    settings = load_settings(EXAMPLE)
    assert settings.zone_of("pets2009").key == "Europe/London"
    assert settings.goals.goal_for(12 * 60).name == "lunch"
    assert settings.goals.goal_for(23 * 60 + 59).name == "evening"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("brokr: {}", "brokr: unknown key"),
        ("timezone: Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        (
            "goals: {dayparts: [{name: a, start: '06:00', end: '00:00', goal_s: 5}]}",
            "00:00 is in no daypart",
        ),
        (
            "goals: {dayparts: [{name: a, start: '00:00', end: '00:00', goal_s: 5},"
            " {name: b, start: '10:00', end: '12:00', goal_s: 5}]}",
            "10:00 is in two dayparts",
        ),
        (
            "goals: {dayparts: [{name: a, start: '00:00', end: '11:30', goal_s: 5},"
            " {name: lunch, start: '11:30', end: '00:00', goal_s: 5}]}",
            "daypart 'a' ends at 11:30: use 11:00 or 12:00; dayparts start and end on the hour",
        ),
        (
            "goals: {dayparts: [{name: late, start: '23:45', end: '00:00', goal_s: 5}]}",
            "daypart 'late' starts at 23:45: use 23:00 or 00:00",
        ),
        (
            "goals: {dayparts: [{name: a, start: '00:00', end: '12:00', goal_s: 5},"
            " {name: a, start: '12:00', end: '00:00', goal_s: 5}]}",
            "'a' names two dayparts; name each once",
        ),
        (
            "goals: {dayparts: ["
            + ", ".join(
                f"{{name: p{h}, start: '{h:02d}:00', end: '{h:02d}:00', goal_s: 5}}"
                for h in range(25)
            )
            + "]}",
            "goals.dayparts: List should have at most 24 items",
        ),
        ("listen: {port: 99999}", "listen.port"),
        ("- a list", "top level must be a mapping"),
    ],
)
def test_bad_settings_name_the_key_and_the_fix(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "d.yaml"
    path.write_text(text)
    with pytest.raises(SettingsError, match=words):
        load_settings(path)


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist; check --config"):
        load_settings(tmp_path / "nope.yaml")
