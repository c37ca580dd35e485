"""Goals saved on the settings page: versions, the audit log, a conflicting save refused, and
the figures' configuration made again only when a save changes the goals."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select

from dashboard.saved_goals import (
    DEFAULTS,
    GoalsCache,
    GoalsConflictError,
    audit_log,
    changes,
    in_force,
    save,
    version,
)
from dashboard.settings import DashboardConfig, Daypart, Goals
from dashboard.store.tables import AuditRow, GoalsRow
from tests.support.dashboard_support import migrated_engine

YAML = Goals()
ALL_DAY = Goals(dayparts=[Daypart(name="all", start=time(0), end=time(0), goal_s=6)])


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return migrated_engine(DashboardConfig(state_dir=tmp_path))


def test_the_yaml_goals_are_in_force_until_a_save(engine: Engine) -> None:
    with engine.begin() as connection:
        assert in_force(connection, YAML) == in_force(connection, YAML)
        assert in_force(connection, YAML).goals == YAML
        assert version(connection) == DEFAULTS
        assert save(connection, ALL_DAY, DEFAULTS, "anna", YAML) == 1
        found = in_force(connection, YAML)
    assert (found.goals, found.version, found.saved_by) == (ALL_DAY, 1, "anna")


def test_each_save_is_logged_with_who_and_what_changed(engine: Engine) -> None:
    with engine.begin() as connection:
        save(connection, ALL_DAY, DEFAULTS, "anna", YAML)
        save(connection, ALL_DAY.model_copy(update={"service_level": 0.9}), 1, "ben", YAML)
        assert (
            save(connection, ALL_DAY.model_copy(update={"service_level": 0.9}), 2, "ben", YAML) == 2
        )
        log = audit_log(connection, 10)
        assert connection.execute(select(func.count()).select_from(AuditRow)).scalar() == 2
    assert [(entry["who"], entry["summary"]) for entry in log] == [
        ("ben", "target 80 % → 90 %"),
        ("anna", "daypart all added (00:00 to midnight, goal 6 s); daypart morning removed; "
                 "daypart lunch removed; daypart afternoon removed; daypart evening removed"),
    ]  # fmt: skip


def test_saved_goals_that_fail_todays_checks_give_way_to_the_yamls(engine: Engine) -> None:
    off_the_hour = ALL_DAY.model_dump_json().replace("00:00:00", "00:30:00")
    with engine.begin() as connection:
        row = {"version": 1, "goals": off_the_hour, "saved_s": 0.0, "saved_by": "old"}
        connection.execute(insert(GoalsRow).values(**row))
        found = in_force(connection, YAML)
    assert (found.goals, found.version) == (YAML, 1)


def test_a_save_over_goals_someone_else_saved_is_refused(engine: Engine) -> None:
    with engine.begin() as connection:
        save(connection, ALL_DAY, DEFAULTS, "anna", YAML)
    with engine.begin() as connection, pytest.raises(GoalsConflictError) as refused:
        save(connection, YAML.model_copy(update={"amber_margin": 0.2}), DEFAULTS, "ben", YAML)
    assert refused.value.current.saved_by == "anna"
    with engine.connect() as connection:
        assert in_force(connection, YAML).goals == ALL_DAY


def test_changes_name_each_field_in_the_pages_words() -> None:
    moved = [p.model_copy(update={"goal_s": 5}) if p.name == "lunch" else p for p in YAML.dayparts]
    new = YAML.model_copy(update={"dayparts": moved, "amber_margin": 0.05, "before_zones": ["3ft"]})
    assert changes(YAML, new) == [
        "amber margin 10 → 5 points",
        "'before' zones 5ft, 3ft → 3ft",
        "daypart lunch: 11:00 to 14:00, goal 8 s → 11:00 to 14:00, goal 5 s",
    ]


def test_the_cache_makes_a_new_configuration_only_when_the_goals_change(engine: Engine) -> None:
    cache = GoalsCache(DashboardConfig())
    with engine.begin() as connection:
        first = cache.current(connection)
        assert cache.current(connection)[2] is first[2]  # the same Analytics, not made again
        save(connection, ALL_DAY, DEFAULTS, "anna", YAML)
        found, config, analytics = cache.current(connection)
    assert config.goals == ALL_DAY and found.version == 1 and analytics is not first[2]
