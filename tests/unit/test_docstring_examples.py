"""Every example in a docstring of the edge and dashboard packages runs and gives what it shows:
an example that has gone stale misleads the next reader."""

from __future__ import annotations

import doctest
import importlib

import pytest

from tests.support.paths import REPO

MODULES = sorted(
    ".".join(path.relative_to(REPO).with_suffix("").parts)
    for package in ("edge", "dashboard")
    for path in (REPO / package).rglob("*.py")
    if ">>>" in path.read_text(encoding="utf-8")
)


def test_some_modules_show_examples() -> None:
    assert "edge.perception.tracking.appearance" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
