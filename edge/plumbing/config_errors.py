"""Readable configuration errors: one line per bad key, naming the key, the fault and the value."""

from __future__ import annotations

from pydantic import ValidationError
from pydantic_core import ErrorDetails


def describe(error: ErrorDetails, unknown_hint: str = "") -> str:
    """One error line: the key, what is wrong and the bad value; an unknown key is told to check
    its spelling, followed by ``unknown_hint`` (e.g. where every key is listed)."""
    loc = ".".join(str(p) for p in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"{loc}: unknown key; check its spelling{unknown_hint}"
    line = f"{loc}: {str(error['msg']).removeprefix('Value error, ')}"
    if not isinstance(error["input"], dict | list):
        line += f" (got {error['input']!r})"
    return line


def invalid(origin: str, exc: ValidationError, unknown_hint: str = "") -> str:
    """``{origin} is invalid:`` and a line for each of ``exc``'s errors."""
    lines = "\n".join(f"  - {describe(e, unknown_hint)}" for e in exc.errors())
    return f"{origin} is invalid:\n{lines}"
