"""The settings page's goals form: what a manager types becomes goals, and every wrong entry
is refused with what to enter instead."""

from __future__ import annotations

from datetime import time

import pytest

from dashboard.settings import Goals
from dashboard.web.goals_form import GoalsEntry, GoalsFormError, Pairs, entry, goals

DAY = [("all", "00:00", "00:00", "9")]


def form(
    parts: list[tuple[str, str, str, str]] = DAY,
    target: str = "85",
    margin: str = "5",
    zones: str = "5ft, 3ft",
) -> Pairs:
    pairs = [("service_level", target), ("amber_margin", margin), ("before_zones", zones)]
    for name, start, end, goal in parts:
        pairs += [("part_name", name), ("part_start", start), ("part_end", end)]
        pairs += [("part_goal_s", goal)]
    return pairs


def test_a_typed_form_becomes_goals_and_blank_rows_are_left_out() -> None:
    typed = entry(form([("early", "00:00", "12:00", "8"), ("", "", "", ""),
                        ("late", "12:00", "00:00", " 6.5 ")]))  # fmt: skip
    found = goals(typed)
    assert (found.service_level, found.amber_margin) == (0.85, 0.05)
    assert found.before_zones == ["5ft", "3ft"]
    assert [(p.name, p.start, p.end, p.goal_s) for p in found.dayparts] == [
        ("early", time(0), time(12), 8.0),
        ("late", time(12), time(0), 6.5),
    ]


def test_goals_fill_the_form_they_come_back_from() -> None:
    shown = GoalsEntry.of(Goals(), 3)
    again = entry(form([(p.name, p.start, p.end, p.goal_s) for p in shown.dayparts],
                       shown.service_level, shown.amber_margin, shown.before_zones))  # fmt: skip
    assert goals(again) == Goals() and shown.based_on == "3"


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        (form(target="abc"), "Target: enter the share of customers to answer in time"),
        (form(target="1e308"), "from 1 to 100 (e.g. 80), not '1e308'"),
        (form(target="nan"), "not 'nan'"),
        (
            form(margin=""),
            "Amber margin: enter percentage points from 0 to 100 (e.g. 10); it is empty",
        ),
        (form(zones="5ft; DROP TABLE"), "Zones for 'acknowledged before'"),
        (
            form([("all", "00:00", "00:00", "99999999")]),
            "Daypart all: enter the goal in seconds, from 0.1 to 600",
        ),
        (form([("all", "00:00", "00:00", "inf")]), "not 'inf'"),
        (
            form([("all", "00:00", "11:30", "9"), ("b", "11:30", "00:00", "9")]),
            "Daypart all: choose start and end times on the hour, from 00:00 to 23:00 (00:00 "
            "as the end means midnight), not '11:30'",
        ),
        (form([("all", "25:00", "00:00", "9")]), "not '25:00'"),
        (form([("all", "noon", "00:00", "9")]), "not 'noon'"),
        (form([("a b", "00:00", "00:00", "9")]), "Daypart 1: give it a name of letters, digits"),
        (
            form([("a", "00:00", "12:00", "9"), ("b", "11:00", "00:00", "9")]),
            "11:00 is in two dayparts",
        ),
        (form([("a", "06:00", "00:00", "9")]), "00:00 is in no daypart"),
        (
            form([("a", "00:00", "12:00", "9"), ("a", "12:00", "00:00", "9")]),
            "'a' names two dayparts",
        ),
        (form([]), "the day needs at least one daypart"),
        (
            form(
                [(f"p{h}", f"{h % 24:02d}:00", f"{(h + 1) % 24:02d}:00", "9") for h in range(1000)]
            ),
            "A day has room for 24 dayparts at most (each starts and ends on the hour); this "
            "form had 1000",
        ),
        (form()[:-1], "The form is incomplete: reload the settings page"),
    ],
)
def test_a_wrong_entry_says_what_to_enter_instead(typed: Pairs, words: str) -> None:
    with pytest.raises(GoalsFormError) as refused:
        goals(entry(typed))
    assert any(words in problem for problem in refused.value.problems), refused.value.problems


def test_every_problem_is_said_at_once_and_huge_values_are_cut() -> None:
    typed = entry(form([("x" * 100_000, "00:00", "00:00", "9" * 100_000)], target="-1"))
    assert len(typed.dayparts[0].name) == 65  # bounded, and still too long to pass
    with pytest.raises(GoalsFormError) as refused:
        goals(typed)
    assert len(refused.value.problems) == 3, refused.value.problems
