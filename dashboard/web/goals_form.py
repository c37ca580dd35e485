"""The settings page's goals form, read as hostile input: every field bounded and checked, and
each problem said in a store manager's words (what is wrong, and what to enter instead)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from datetime import time

from pydantic import ValidationError

from dashboard.settings import MAX_DAYPARTS, Daypart, Goals
from edge.contract import MAX_NAME, NAME_PATTERN

MAX_FORM_BYTES = 64 * 1024  # the page's own form is under 3 KiB with every daypart filled
MAX_VALUE = 64  # characters of one field; longer is no answer to any question on the page
MAX_ZONES = 8
HOUR = re.compile(r"^([01]\d|2[0-3]):00$")


Pairs = list[tuple[str, str]]  # the form's fields in order, as posted


class GoalsFormError(ValueError):
    """The form cannot be saved; ``problems`` say why, one sentence each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class DaypartRow:
    """One daypart as typed on the page (shown again beside the problems)."""

    name: str = ""
    start: str = ""
    end: str = ""
    goal_s: str = ""


@dataclass
class GoalsEntry:
    """The form as typed, so a refused form comes back as the manager left it."""

    service_level: str = ""
    amber_margin: str = ""
    before_zones: str = ""
    based_on: str = ""
    dayparts: list[DaypartRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # found before any value is read

    @classmethod
    def of(cls, goals: Goals, version: int) -> GoalsEntry:
        """The form filled with ``goals``."""
        return cls(
            service_level=f"{goals.service_level * 100:g}",
            amber_margin=f"{goals.amber_margin * 100:g}",
            before_zones=", ".join(goals.before_zones),
            based_on=str(version),
            dayparts=[
                DaypartRow(
                    p.name,
                    p.start.isoformat("minutes"),
                    p.end.isoformat("minutes"),
                    f"{p.goal_s:g}",
                )
                for p in goals.dayparts
            ],
        )


def entry(form: Pairs) -> GoalsEntry:
    """The fields of ``form``, each cut short (``texts``); rows left blank (no name,
    no goal) are dropped. Daypart columns that do not line up, or more dayparts than a day
    holds, are problems of the whole form."""
    columns = [texts(form, key) for key in ("part_name", "part_start", "part_end", "part_goal_s")]
    head = GoalsEntry(
        service_level=first(form, "service_level"),
        amber_margin=first(form, "amber_margin"),
        before_zones=first(form, "before_zones"),
        based_on=first(form, "based_on"),
    )
    if len({len(column) for column in columns}) != 1:
        problem = "The form is incomplete: reload the settings page and try again."
        return replace(head, problems=[problem])
    rows = [DaypartRow(*values) for values in zip(*columns, strict=True)]
    rows = [row for row in rows if any(v.strip() for v in (row.name, row.goal_s))]
    if len(rows) > MAX_DAYPARTS:
        problem = (
            f"A day has room for {MAX_DAYPARTS} dayparts at most (each starts and ends on the "
            f"hour); this form had {len(rows)}. Remove some and save again."
        )
        return replace(head, dayparts=rows[:MAX_DAYPARTS], problems=[problem])
    return replace(head, dayparts=rows)


def goals(typed: GoalsEntry) -> Goals:
    """The goals ``typed`` means, or ``GoalsFormError`` with every problem found."""
    if typed.problems:
        raise GoalsFormError(typed.problems)
    problems: list[str] = []
    target = _number(
        typed.service_level,
        1,
        100,
        problems,
        "Target: enter the share of customers to answer in time, as a percentage "
        "from 1 to 100 (e.g. 80)",
    )
    margin = _number(
        typed.amber_margin,
        0,
        100,
        problems,
        "Amber margin: enter percentage points from 0 to 100 (e.g. 10)",
    )
    zones = [z.strip() for z in typed.before_zones.split(",") if z.strip()]
    if len(zones) > MAX_ZONES or not all(_is_name(z) for z in zones):
        zones = []
        problems.append(
            f"Zones for 'acknowledged before': up to {MAX_ZONES} zone names as the cameras "
            "call them (letters, digits, - _ .), separated by commas (e.g. 5ft, 3ft)"
        )
    parts = [_daypart(n, row, problems) for n, row in enumerate(typed.dayparts, 1)]
    if not typed.dayparts:
        problems.append("Dayparts: the day needs at least one daypart (e.g. 00:00 to 00:00)")
    if not typed.dayparts or None in parts:
        raise GoalsFormError(problems)
    try:  # the dayparts as a whole (cover the day once), beside any other field's problem
        found = Goals(
            dayparts=[p for p in parts if p is not None],
            service_level=target / 100,
            amber_margin=margin / 100,
            before_zones=zones,
        )
    except ValidationError as exc:
        problems += [_plain(error["msg"]) for error in exc.errors()]
    if problems:
        raise GoalsFormError(problems)
    return found


def _daypart(n: int, row: DaypartRow, problems: list[str]) -> Daypart | None:
    label = f"Daypart {row.name}" if _is_name(row.name) else f"Daypart {n}"
    found = len(problems)
    if not _is_name(row.name):
        problems.append(
            f"Daypart {n}: give it a name of letters, digits, - _ . (up to {MAX_NAME}, e.g. lunch)"
        )
    start, end = (_hour(value) for value in (row.start, row.end))
    if start is None or end is None:
        shown = (row.start if start is None else row.end).strip()[:20]
        problems.append(
            f"{label}: choose start and end times on the hour, from 00:00 to 23:00 (00:00 as "
            "the end means midnight)" + (f", not '{shown}'." if shown else ".")
        )
    goal = _number(
        row.goal_s,
        0.1,
        600,
        problems,
        f"{label}: enter the goal in seconds, from 0.1 to 600 (e.g. 10)",
    )
    if len(problems) > found or start is None or end is None:
        return None
    return Daypart(name=row.name, start=start, end=end, goal_s=goal)


def texts(form: Pairs, key: str) -> list[str]:
    """The values of ``key``, each cut one past ``MAX_VALUE`` characters (so a longer one
    still fails its check, and no huge value comes back to the page)."""
    return [value[: MAX_VALUE + 1] for name, value in form if name == key]


def first(form: Pairs, key: str) -> str:
    """The first value of ``key``; empty when there is none."""
    return (texts(form, key) or [""])[0]


def _is_name(value: str) -> bool:
    return 0 < len(value) <= MAX_NAME and re.match(NAME_PATTERN, value) is not None


def _hour(value: str) -> time | None:
    found = HOUR.match(value.strip())
    return time(int(found.group(1))) if found else None


def _number(value: str, low: float, high: float, problems: list[str], problem: str) -> float:
    try:
        number = float(value.strip().rstrip("%").strip())
    except ValueError:
        number = math.nan
    if not low <= number <= high:  # NaN and infinities fail too
        shown = value.strip()[:20]
        problems.append(f"{problem}, not '{shown}'." if shown else f"{problem}; it is empty.")
        return low
    return number


def _plain(message: str) -> str:
    """A model check's message without the YAML key, first letter up."""
    text = message.removeprefix("Value error, ").removeprefix("goals.dayparts: ")
    return text[:1].upper() + text[1:] + "."
