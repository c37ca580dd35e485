"""Child processes' logs in the report of a test that fails.

Whatever starts a process writes its output to a file and names it: ``attach(label, path)``
for the running test, or ``attached(label, path)`` for every test while a longer-lived
process (PostgreSQL for the session) runs. When a test fails (in setup, call or teardown),
what each file gained during that test is printed under its label. Loaded by
``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

TAIL_CHARS = 20_000  # a report shows the end of a long log

_watched: dict[Path, str] = {}  # every log attached now: path -> label
_since = pytest.StashKey[dict[Path, tuple[str, int]]]()  # per test: path -> (label, offset)
_current: list[pytest.Item] = []  # the test running now (none between tests)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def attach(label: str, path: Path) -> Path:
    """If the running test fails, its report shows what ``path`` gains from now on."""
    path = path.absolute()
    if _current:
        _current[0].stash[_since].setdefault(path, (label, _size(path)))
    return path


@contextmanager
def attached(label: str, path: Path) -> Iterator[Path]:
    """While the block runs, a failing test's report shows what ``path`` gained during it."""
    path = attach(label, path)
    _watched[path] = label
    try:
        yield path
    finally:
        _watched.pop(path, None)


def _tail(path: Path, offset: int) -> str:
    try:
        with path.open("rb") as log:
            log.seek(max(offset, _size(path) - TAIL_CHARS))
            text = log.read().decode(errors="replace")
    except OSError as exc:
        return f"(unreadable: {exc})"
    return text or "(empty)"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    """Notes where each attached log ends as the test starts."""
    item.stash[_since] = {path: (label, _size(path)) for path, label in _watched.items()}
    _current[:] = [item]
    try:
        return (yield)
    finally:
        _current.clear()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Adds each attached log's lines of this test to a failed report."""
    report = yield
    if report.failed:
        for path, (label, offset) in item.stash.get(_since, {}).items():
            report.sections.append((f"{label} log ({path})", _tail(path, offset)))
    return report
