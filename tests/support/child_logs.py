"""Child processes' logs in the report of a test that fails.

A process started for one test writes its output to a ``*.log`` file under the test's
``tmp_path``; a longer-lived one (PostgreSQL for the session) names its log with
``attached(label, path)`` while it runs. When a test fails (in setup, call or teardown), each
such log is printed in its report: a longer-lived process's only with what it wrote during
that test. Loaded by ``tests/conftest.py``.
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


@contextmanager
def attached(label: str, path: Path) -> Iterator[Path]:
    """While the block runs, a failing test's report shows what ``path`` gained during it."""
    path = path.absolute()
    _watched[path] = label
    if _current:
        _current[0].stash[_since].setdefault(path, (label, _size(path)))
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
    """Adds the test's own logs and the attached logs' lines of this test to a failed report."""
    report = yield
    if report.failed:
        logs = item.stash[_since].copy()
        tmp_path = getattr(item, "funcargs", {}).get("tmp_path")
        if isinstance(tmp_path, Path):
            for path in sorted(tmp_path.rglob("*.log")):
                logs[path] = (str(path.relative_to(tmp_path)), 0)
        for path, (label, offset) in logs.items():
            report.sections.append((f"{label} ({path})", _tail(path, offset)))
    return report
