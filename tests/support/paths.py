"""Where the repository is, for tests that read its deploy/ files or pyproject.toml wherever the
test sits in tests/."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
