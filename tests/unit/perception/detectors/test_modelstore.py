"""Model store: manifest validation, pulling into the cache, and the checks before use."""

from __future__ import annotations

import hashlib
import os
import re
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from edge.cli import app, run
from edge.perception.detectors import modelstore
from edge.perception.detectors.modelstore import (
    Manifest,
    ManifestError,
    ModelMissingError,
    ModelPullError,
    UnknownModelError,
    load_manifest,
    pull,
    resolve,
    status,
)

PAYLOAD = b"not really an onnx file, but bytes with a known sha256\n" * 10


def _entry(name: str, path: Path, payload: bytes) -> dict[str, Any]:
    return {
        "name": name,
        "file": f"{name}.onnx",
        "url": path.as_uri(),
        "sha256": hashlib.sha256(payload).hexdigest(),
        "size": len(payload),
        "licence": "Apache-2.0",
        "input": {"name": "images", "shape": [1, 3, 32, 32]},
        "output": {"name": "output", "shape": [1, 21, 6]},
        "decoder": "yolox",
        "score": 0.4,
        "nms_iou": 0.45,
    }


@pytest.fixture
def upstream(tmp_path: Path) -> Path:
    """A folder standing in for the upstream URLs and the mirror: tiny-a.onnx, tiny-b.onnx."""
    folder = tmp_path / "upstream"
    folder.mkdir()
    for name in ("tiny-a", "tiny-b"):
        (folder / f"{name}.onnx").write_bytes(PAYLOAD + name.encode())
    return folder


@pytest.fixture
def manifest(upstream: Path) -> Manifest:
    """Two tiny models whose URLs are file:// URLs into ``upstream``."""
    entries = [
        _entry(n, upstream / f"{n}.onnx", PAYLOAD + n.encode()) for n in ("tiny-a", "tiny-b")
    ]
    return Manifest.model_validate({"default": "tiny-a", "models": entries})


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache folder; no mirror, so pulls use the manifest URLs."""
    monkeypatch.delenv(modelstore.MIRROR_ENV, raising=False)
    return tmp_path / "cache"


def test_pull_downloads_every_model_and_resolve_returns_it(
    manifest: Manifest, upstream: Path, cache: Path
) -> None:
    paths = pull(cache=cache, manifest=manifest)
    assert [p.name for p in paths] == ["tiny-a.onnx", "tiny-b.onnx"]
    for path in paths:
        assert path.read_bytes() == (upstream / path.name).read_bytes()
        assert path.stat().st_mode & 0o777 == 0o644
    assert resolve("tiny-b", cache=cache, manifest=manifest) == cache / "tiny-b.onnx"
    assert resolve(None, cache=cache, manifest=manifest) == cache / "tiny-a.onnx"
    assert list(cache.glob("*.part")) == []


def test_pull_prefers_the_mirror_folder(
    manifest: Manifest, tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch, upstream: Path
) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "tiny-a.onnx").write_bytes((upstream / "tiny-a.onnx").read_bytes())
    (upstream / "tiny-a.onnx").unlink()  # the URL no longer works: only the mirror can serve
    monkeypatch.setenv(modelstore.MIRROR_ENV, str(mirror))
    assert pull("tiny-a", cache=cache, manifest=manifest) == [cache / "tiny-a.onnx"]
    with pytest.raises(ModelPullError, match=r"has no tiny-b\.onnx"):
        pull("tiny-b", cache=cache, manifest=manifest)


def test_pull_rejects_a_source_with_the_wrong_bytes(
    manifest: Manifest, upstream: Path, cache: Path
) -> None:
    (upstream / "tiny-a.onnx").write_bytes(b"tampered")
    with pytest.raises(ModelPullError, match="sha256"):
        pull("tiny-a", cache=cache, manifest=manifest)
    assert list(cache.iterdir()) == []  # neither the file nor a partial one is left


def test_pull_reports_an_unreachable_url(manifest: Manifest, upstream: Path, cache: Path) -> None:
    (upstream / "tiny-a.onnx").unlink()
    with pytest.raises(ModelPullError, match="GREETCUE_MODEL_MIRROR"):
        pull("tiny-a", cache=cache, manifest=manifest)


def test_pull_replaces_a_corrupt_cached_file(manifest: Manifest, cache: Path) -> None:
    cache.mkdir()
    (cache / "tiny-a.onnx").write_bytes(b"junk")
    pull("tiny-a", cache=cache, manifest=manifest)
    assert resolve("tiny-a", cache=cache, manifest=manifest).read_bytes() == PAYLOAD + b"tiny-a"


def test_resolve_names_the_pull_command_when_missing(manifest: Manifest, cache: Path) -> None:
    with pytest.raises(ModelMissingError, match=r"greetcue models pull tiny-b"):
        resolve("tiny-b", cache=cache, manifest=manifest)


def _truncate(data: bytes) -> bytes:
    return data[:-1]


def _flip_first_byte(data: bytes) -> bytes:
    return bytes([data[0] ^ 0xFF]) + data[1:]


@pytest.mark.parametrize("corrupt", [_truncate, _flip_first_byte])
def test_resolve_refuses_a_corrupt_file(manifest: Manifest, cache: Path, corrupt: Any) -> None:
    [path] = pull("tiny-a", cache=cache, manifest=manifest)
    path.write_bytes(corrupt(path.read_bytes()))
    with pytest.raises(ModelMissingError, match=r"sha256.*greetcue models pull tiny-a"):
        resolve("tiny-a", cache=cache, manifest=manifest)
    assert [s.state for s in status(cache, manifest)] == ["corrupt", "missing"]


def test_a_file_changed_after_its_check_is_checked_again(manifest: Manifest, cache: Path) -> None:
    [path] = pull("tiny-a", cache=cache, manifest=manifest)
    resolve("tiny-a", cache=cache, manifest=manifest)
    before = path.stat().st_mtime_ns
    path.write_bytes(_flip_first_byte(path.read_bytes()))
    os.utime(path, ns=(before + 1_000_000, before + 1_000_000))  # coarse clocks: force a change
    with pytest.raises(ModelMissingError):
        resolve("tiny-a", cache=cache, manifest=manifest)


def test_status_lists_default_state_size_and_path(manifest: Manifest, cache: Path) -> None:
    pull("tiny-b", cache=cache, manifest=manifest)
    rows = {row.name: row for row in status(cache, manifest)}
    assert (rows["tiny-a"].default, rows["tiny-a"].state, rows["tiny-a"].size) == (
        True,
        "missing",
        None,
    )
    assert (rows["tiny-b"].default, rows["tiny-b"].state) == (False, "present")
    assert rows["tiny-b"].size == len(PAYLOAD + b"tiny-b")
    assert rows["tiny-b"].path == cache / "tiny-b.onnx"


@pytest.mark.parametrize(
    "call",
    [
        lambda m, c: m.get("nope"),
        lambda m, c: pull("nope", cache=c, manifest=m),
        lambda m, c: resolve("nope", cache=c, manifest=m),
    ],
    ids=["get", "pull", "resolve"],
)
def test_unknown_model_lists_the_valid_names(manifest: Manifest, cache: Path, call: Any) -> None:
    with pytest.raises(UnknownModelError, match=r"'nope'.*tiny-a, tiny-b"):
        call(manifest, cache)


def test_cache_dir_argument_beats_environment_beats_user_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(modelstore.CACHE_ENV, raising=False)
    assert modelstore.cache_dir().parts[-2:] == ("greetcue", "models")
    monkeypatch.setenv(modelstore.CACHE_ENV, str(tmp_path / "env"))
    assert modelstore.cache_dir() == tmp_path / "env"
    assert modelstore.cache_dir(tmp_path / "arg") == tmp_path / "arg"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["models"][0].update(colour="red"), "colour"),
        (lambda d: d.update(default="tiny-z"), "tiny-z"),
        (lambda d: d["models"][1].update(name="tiny-a"), "unique"),
        (lambda d: d["models"][0].update(sha256="abc"), "sha256"),
        (lambda d: d["models"][0].update(decoder="ssd"), "decoder"),
        (lambda d: d["models"][0]["input"].update(shape=[1, 3, 0, 32]), "shape"),
    ],
    ids=["extra-key", "unknown-default", "duplicate-name", "bad-sha", "bad-decoder", "bad-shape"],
)
def test_invalid_manifest_names_the_problem(
    manifest: Manifest, tmp_path: Path, change: Any, message: str
) -> None:
    data = manifest.model_dump(mode="json")
    change(data)
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ManifestError, match=message):
        load_manifest(path)


RAW_URL = re.compile(
    r"^https://raw\.githubusercontent\.com/[\w.-]+/[\w.-]+/[0-9a-f]{40}/\S+\.onnx$"
)


def test_shipped_manifest_pins_every_model_and_has_a_card() -> None:
    shipped = load_manifest()
    assert shipped.default == "yolox-nano"
    assert shipped.names == ["yolox-nano", "fastestdet", "person-192", "bytetrack-nano"]
    cards = files("models").joinpath("cards")
    for spec in shipped.models:
        assert RAW_URL.match(spec.url), spec.url
        card = cards.joinpath(f"{spec.name}.md").read_text(encoding="utf-8")
        for needed in (spec.sha256, spec.licence, spec.input.name, "## Known limits"):
            assert needed in card, f"card of {spec.name} lacks {needed!r}"


@pytest.mark.model
def test_pull_real_default_model_from_the_mirror(
    model_mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(modelstore.MIRROR_ENV, str(model_mirror))
    [path] = pull("yolox-nano", cache=tmp_path)
    assert resolve("yolox-nano", cache=tmp_path) == path
    expected = load_manifest().get("yolox-nano")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == expected.sha256


@pytest.mark.model
def test_cli_pull_then_list(model_mirror: Path, tmp_path: Path) -> None:
    env = {modelstore.MIRROR_ENV: str(model_mirror), "COLUMNS": "200"}
    runner = CliRunner()
    pulled = runner.invoke(app, ["models", "pull", "person-192", "--cache", str(tmp_path)], env=env)
    assert pulled.exit_code == 0, pulled.output
    listed = runner.invoke(app, ["models", "list", "--cache", str(tmp_path)], env=env)
    assert listed.exit_code == 0, listed.output
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in listed.output.splitlines()]
    rows = {row[0]: row[1:3] for row in cells if row}
    assert rows["person-192"] == ["", "present"]
    assert rows["yolox-nano"] == ["*", "missing"]


def test_cli_unknown_model_exits_2_with_the_valid_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        "sys.argv", ["greetcue", "models", "pull", "nope", "--cache", str(tmp_path)]
    )
    with pytest.raises(SystemExit) as exited:
        run()
    assert exited.value.code == 2
    assert "yolox-nano, fastestdet, person-192, bytetrack-nano" in capsys.readouterr().out
