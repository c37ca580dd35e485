"""Shared fixtures: where the real footage and detector weights are (fail loudly when missing);
markers given by the fixtures a test uses, and markers that run only on demand."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest_plugins = [
    "pytester",
    "tests.support.child_logs",
    "tests.support.mosquitto_fixture",
    "tests.support.postgres_fixture",
    "tests.support.browser_fixture",
    "tests.support.dashboard_support",
    "tests.support.live_dashboard",
    "tests.support.smtp_server",
]


# A test using one of these fixtures (directly or through another fixture) gets the marker, so
# `pytest -n 2 -m "not footage and not model and not integration"` is the quick unit suite.
MARKED_BY_FIXTURE = {
    "footage_dir": "footage",
    "model_mirror": "model",
    "mosquitto": "integration",
    "password_file": "integration",
    "postgres": "integration",
    "browser": "integration",
    "serve": "integration",
    "smtp_server": "integration",
}
INTEGRATION = "integration: starts real processes or servers (Mosquitto, PostgreSQL, Chromium, "
INTEGRATION += (
    "greetcue or uvicorn on a port); marked by fixture in tests/conftest.py or per module"
)
ON_DEMAND = ("debootstrap", "arm64")  # run only when -m names them


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", INTEGRATION)


def pytest_itemcollected(item: pytest.Item) -> None:
    """Marks the test by the fixtures it uses (MARKED_BY_FIXTURE)."""
    for fixture in getattr(item, "fixturenames", ()):
        if marker := MARKED_BY_FIXTURE.get(fixture):
            item.add_marker(marker)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leaves out on-demand tests unless ``-m`` names their marker: a ``-m`` of one's own
    replaces the one in pyproject's addopts, and ``-m "not footage"`` must not start them."""
    expression = config.getoption("markexpr") or ""
    wanted = {name for name in ON_DEMAND if re.search(rf"\b{name}\b", expression)}
    left_out = [
        item
        for item in items
        if any(item.get_closest_marker(name) for name in ON_DEMAND if name not in wanted)
    ]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in left_out]


def _env_dir(var: str, what: str) -> Path:
    value = os.environ.get(var)
    if not value:
        pytest.fail(f"{var} is not set: point it at the {what} (see README, Tests)", pytrace=False)
    path = Path(value).expanduser().resolve()
    if not path.is_dir():
        pytest.fail(f"{var}={value} is not a folder: point it at the {what}", pytrace=False)
    return path


@pytest.fixture(scope="session")
def footage_dir() -> Path:
    """Root of the real footage (PETS 2009 S2L1 and the Intel sample clips): the folder named by
    GREETCUE_FOOTAGE, else the footage cache filled by `greetcue footage pull`."""
    from edge.tools.footage import location as footage
    from edge.tools.footage import store as footage_store

    if os.environ.get(footage.ENV):
        return _env_dir(footage.ENV, "footage folder (pets2009_s2l1/, intel/)")
    rows = footage_store.status()
    unusable = [f"{row.path} ({row.state})" for row in rows if row.state != "present"]
    if unusable:
        pytest.fail(
            f"{footage.ENV} is not set and the footage cache {footage.cache_dir()} lacks "
            f"{', '.join(unusable)}: run `{footage.PULL_COMMAND}`, or set {footage.ENV} to a "
            "local footage folder (see README, Tests)",
            pytrace=False,
        )
    return footage.cache_dir().resolve()


@pytest.fixture(scope="session")
def model_mirror() -> Path:
    """Folder holding the real detector weights named in models/manifest.yaml."""
    return _env_dir("GREETCUE_MODEL_MIRROR", "model mirror folder holding the .onnx weights")


@pytest.fixture(scope="session")
def model_cache(model_mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh model cache holding every manifest model, pulled from the mirror (sha256 checked)
    and named by GREETCUE_MODEL_CACHE for the whole session."""
    from edge.perception.detectors import modelstore

    cache = tmp_path_factory.mktemp("model-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(modelstore.MIRROR_ENV, str(model_mirror))
        patch.setenv(modelstore.CACHE_ENV, str(cache))
        modelstore.pull(cache=cache)
        yield cache


PETS_PARTS = (0, 1)
ReplayPets = Callable[[str, list[str], dict[str, str]], dict[int, Path]]


@pytest.fixture(scope="session")
def replay_pets(
    footage_dir: Path, model_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> ReplayPets:
    """Runs ``greetcue COMMAND CLIP --out partK.jsonl OPTIONS`` over PETS parts 0 and 1 through
    the CLI; ``part0_files`` maps options to file names written beside part 0's replay."""
    from typer.testing import CliRunner

    from edge.cli import app

    def run(command: str, options: list[str], part0_files: dict[str, str]) -> dict[int, Path]:
        out = tmp_path_factory.mktemp(command)
        files = {}
        for part in PETS_PARTS:
            files[part] = out / f"part{part}.jsonl"
            clip = footage_dir / "pets2009_s2l1" / f"vtest_part{part}.avi"
            args = [command, str(clip), "--out", str(files[part]), *options]
            if part == 0:
                args += [arg for opt, name in part0_files.items() for arg in (opt, str(out / name))]
            result = CliRunner().invoke(app, args)
            assert result.exit_code == 0, result.output
        return files

    return run
