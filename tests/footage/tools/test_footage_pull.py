"""Footage store: pulling real footage over HTTP into the cache, the sha256 check, lossless cuts,
the errors for corrupt and missing files, and where footage_path looks."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from edge.cli import app, run
from edge.tools.footage import avi_cut
from edge.tools.footage import location as footage
from edge.tools.footage.avi_cut import AviCutError
from edge.tools.footage.location import (
    INTEL_CREDIT,
    PETS_CREDIT,
    PETS_PARTS,
    FootageError,
    footage_path,
)
from edge.tools.footage.store import (
    FootageManifest,
    FootageManifestError,
    FootagePullError,
    load_manifest,
    pull,
    status,
)

pytestmark = pytest.mark.footage

SERVED = {  # upstream path -> file of the footage folder served there
    "gifs/people-detection.gif": "intel/people-detection.gif",
    "calib/View_001.xml": "pets2009_s2l1/View_001.xml",
    "truth/PETS2009-S2L1.xml": "pets2009_s2l1/PETS2009-S2L1.xml",
    "video/part0.avi": "pets2009_s2l1/vtest_part0.avi",
}
CUTS = {"pets/head.avi": (0, 40), "pets/whole.avi": (0, 250)}  # frames [start, stop) of the clip
CLIP = "pets/clip.avi"  # cache path of the served part0.avi, the source of the cuts


@dataclass
class Upstream:
    """A local HTTP server over ``root``; records the paths asked for and can cut replies short."""

    root: Path
    url: str
    requests: list[str] = field(default_factory=list)
    truncate: set[str] = field(default_factory=set)


@pytest.fixture
def upstream(footage_dir: Path, tmp_path: Path) -> Iterator[Upstream]:
    root = tmp_path / "upstream"
    for served, source in SERVED.items():
        (root / served).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(footage_dir / source, root / served)
    state = Upstream(root, "")

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def do_GET(self) -> None:
            path = self.path.lstrip("/")
            state.requests.append(path)
            if path not in state.truncate:
                super().do_GET()
                return
            body = (root / path).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])  # then the connection closes

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


def _digest(data: bytes) -> dict[str, Any]:
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


CREDIT = {"licence": "test licence", "attribution": "test credit"}


def _manifest_data(upstream: Upstream) -> dict[str, Any]:
    """Downloads of every served file (the clip under CLIP) and the cuts of the clip; the cuts'
    sha256 are those of avi_cut's output, the frame check is the test's own."""
    entries: list[dict[str, Any]] = []
    for served, source in SERVED.items():
        path = CLIP if served == "video/part0.avi" else source
        data = (upstream.root / served).read_bytes()
        entries.append({"path": path, "url": f"{upstream.url}/{served}", **_digest(data), **CREDIT})
    for path, (start, stop) in CUTS.items():
        out = io.BytesIO()
        avi_cut.cut(upstream.root / "video/part0.avi", out, start, stop)
        derived = {"source": CLIP, "start": start, "stop": stop}
        entries.append({"path": path, "derived": derived, **_digest(out.getvalue()), **CREDIT})
    return {"files": entries}


@pytest.fixture
def manifest(upstream: Upstream) -> FootageManifest:
    return FootageManifest.model_validate(_manifest_data(upstream))


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def _frames(path: Path) -> Iterator[np.ndarray[Any, Any]]:
    capture = cv2.VideoCapture(str(path))
    try:
        while True:
            ok, image = capture.read()
            if not ok:
                return
            yield image
    finally:
        capture.release()


def _leftovers(cache: Path) -> list[Path]:
    return sorted(cache.rglob("*.part"))


def test_pull_downloads_every_file_into_the_cache(
    manifest: FootageManifest, upstream: Upstream, cache: Path
) -> None:
    paths = pull(cache, manifest)
    assert paths == [cache / entry.path for entry in manifest.files]
    for served, source in SERVED.items():
        path = CLIP if served == "video/part0.avi" else source
        assert (cache / path).read_bytes() == (upstream.root / served).read_bytes()
        assert (cache / path).stat().st_mode & 0o777 == 0o644
    assert sorted(upstream.requests) == sorted(SERVED)
    assert [row.state for row in status(cache, manifest)] == ["present"] * len(manifest.files)
    assert _leftovers(cache) == []


def test_cut_parts_decode_to_the_source_frames(manifest: FootageManifest, cache: Path) -> None:
    pull(cache, manifest)
    source = list(_frames(cache / CLIP))
    for path, (start, stop) in CUTS.items():
        cut = list(_frames(cache / path))
        assert len(cut) == stop - start, path
        for offset, image in enumerate(cut):
            assert np.array_equal(image, source[start + offset]), f"{path} frame {offset}"


def test_a_second_pull_fetches_and_cuts_nothing(
    manifest: FootageManifest, upstream: Upstream, cache: Path
) -> None:
    pull(cache, manifest)
    stamps = {p: p.stat().st_mtime_ns for p in cache.rglob("*") if p.is_file()}
    upstream.requests.clear()
    pull(cache, manifest)
    assert upstream.requests == []
    assert {p: p.stat().st_mtime_ns for p in cache.rglob("*") if p.is_file()} == stamps


def test_a_corrupt_cached_file_is_fetched_again(
    manifest: FootageManifest, upstream: Upstream, cache: Path
) -> None:
    pull(cache, manifest)
    gif = cache / "intel/people-detection.gif"
    gif.write_bytes(gif.read_bytes()[:-1])
    states = {row.path: row.state for row in status(cache, manifest)}
    assert states["intel/people-detection.gif"] == "corrupt"
    upstream.requests.clear()
    pull(cache, manifest)
    assert upstream.requests == ["gifs/people-detection.gif"]
    assert gif.read_bytes() == (upstream.root / "gifs/people-detection.gif").read_bytes()


def _flip_last_byte(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))


@pytest.mark.parametrize(
    ("served", "spoil", "message"),
    [
        ("gifs/people-detection.gif", _flip_last_byte, r"sha256"),
        ("calib/View_001.xml", Path.unlink, r"404"),
        ("video/part0.avi", _flip_last_byte, r"sha256"),
    ],
    ids=["corrupt", "missing", "corrupt-cut-source"],
)
def test_a_bad_upstream_file_names_the_file_and_the_fix_and_leaves_nothing(
    manifest: FootageManifest,
    upstream: Upstream,
    cache: Path,
    served: str,
    spoil: Any,
    message: str,
) -> None:
    spoil(upstream.root / served)
    name = CLIP if served == "video/part0.avi" else SERVED[served]
    with pytest.raises(FootagePullError, match=message) as raised:
        pull(cache, manifest)
    assert name in str(raised.value)
    assert "set GREETCUE_FOOTAGE to a local footage folder" in str(raised.value)
    assert not (cache / name).exists()
    assert _leftovers(cache) == []


def test_an_interrupted_download_leaves_no_partial_file(
    manifest: FootageManifest, upstream: Upstream, cache: Path
) -> None:
    upstream.truncate.add("truth/PETS2009-S2L1.xml")
    with pytest.raises(FootagePullError, match=r"PETS2009-S2L1\.xml.*try again"):
        pull(cache, manifest)
    assert not (cache / "pets2009_s2l1/PETS2009-S2L1.xml").exists()
    assert _leftovers(cache) == []


def _write_manifest(upstream: Upstream, tmp_path: Path) -> Path:
    path = tmp_path / "footage.yaml"
    path.write_text(yaml.safe_dump(_manifest_data(upstream)), encoding="utf-8")
    return path


def test_cli_pull_then_list_shows_each_state(
    upstream: Upstream, cache: Path, tmp_path: Path
) -> None:
    options = ["--manifest", str(_write_manifest(upstream, tmp_path)), "--cache", str(cache)]
    runner = CliRunner(env={footage.ENV: None, "COLUMNS": "200"})
    pulled = runner.invoke(app, ["footage", "pull", *options])
    assert pulled.exit_code == 0, pulled.output
    assert f"ok {cache / 'pets/whole.avi'}" in pulled.output
    (cache / "pets/head.avi").unlink()
    _flip_last_byte(cache / "pets2009_s2l1/View_001.xml")
    listed = runner.invoke(app, ["footage", "list", *options])
    assert listed.exit_code == 0, listed.output
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in listed.output.splitlines()]
    rows = {row[0]: row[1:3] for row in cells if row}
    assert rows["pets/head.avi"] == ["cut", "missing"]
    assert rows["pets2009_s2l1/View_001.xml"] == ["download", "corrupt"]
    assert rows["intel/people-detection.gif"] == ["download", "present"]


def test_cli_pull_of_a_missing_file_exits_2_naming_it(
    upstream: Upstream,
    cache: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    manifest = _write_manifest(upstream, tmp_path)
    (upstream.root / "gifs/people-detection.gif").unlink()
    argv = ["greetcue", "footage", "pull", "--manifest", str(manifest), "--cache", str(cache)]
    monkeypatch.setattr("sys.argv", argv)
    with pytest.raises(SystemExit) as exited:
        run()
    assert exited.value.code == 2
    out = " ".join(capsys.readouterr().out.split())
    assert "cannot download intel/people-detection.gif" in out
    assert "404" in out


@pytest.mark.parametrize(
    ("folder", "cached", "wanted"),
    [
        (True, False, "folder"),
        (False, True, "cache"),
        (False, False, r"not in the footage cache .*run `greetcue footage pull`, or set "),
        (True, True, r"does not exist: is GREETCUE_FOOTAGE=.* the footage folder"),
    ],
    ids=["local-folder", "cache", "missing-in-cache", "missing-in-folder"],
)
def test_footage_path_reads_the_folder_else_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folder: bool, cached: bool, wanted: str
) -> None:
    clip = "pets2009_s2l1/View_001.xml"
    monkeypatch.setenv(footage.CACHE_ENV, str(tmp_path / "cache"))
    if cached:
        (tmp_path / "cache" / clip).parent.mkdir(parents=True)
        (tmp_path / "cache" / clip).write_text("<Camera/>")
    if folder:
        monkeypatch.setenv(footage.ENV, str(tmp_path / "folder"))
        if not cached:
            (tmp_path / "folder" / clip).parent.mkdir(parents=True)
            (tmp_path / "folder" / clip).write_text("<Camera/>")
    else:
        monkeypatch.delenv(footage.ENV, raising=False)
    if wanted in ("folder", "cache"):
        assert footage_path(clip) == tmp_path / wanted / clip
    else:
        with pytest.raises(FootageError, match=wanted):
            footage_path(clip)


def test_cuts_are_deterministic_and_keep_the_frame_count(footage_dir: Path) -> None:
    clip = footage_dir / "pets2009_s2l1" / PETS_PARTS[0]
    outs = [io.BytesIO(), io.BytesIO()]
    for out in outs:
        avi_cut.cut(clip, out, 0, 100)
    assert outs[0].getvalue() == outs[1].getvalue()
    assert avi_cut.keyframes(clip) == [0]
    assert avi_cut.frame_count(clip) == 250


@pytest.mark.parametrize(
    ("clip", "start", "stop", "message"),
    [
        ("pets2009_s2l1/vtest_part0.avi", 10, 20, r"frame 10 .* not a keyframe.*\[0\]"),
        ("pets2009_s2l1/vtest_part0.avi", 0, 251, r"outside .* which has 250 frames"),
        ("intel/people-detection.gif", 0, 1, r"is not an AVI file"),
    ],
    ids=["not-a-keyframe", "past-the-end", "not-an-avi"],
)
def test_cut_refuses_what_it_cannot_cut_losslessly(
    footage_dir: Path, clip: str, start: int, stop: int, message: str
) -> None:
    with pytest.raises(AviCutError, match=message):
        avi_cut.cut(footage_dir / clip, io.BytesIO(), start, stop)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["files"][0].update(colour="red"), "colour"),
        (lambda d: d["files"][0].update(derived={"source": CLIP, "start": 0, "stop": 1}), "one"),
        (lambda d: d["files"][1].update(path=d["files"][0]["path"]), "twice"),
        (lambda d: d["files"].insert(0, d["files"].pop()), "listed above"),
        (lambda d: d["files"][-1]["derived"].update(start=250), "below stop"),
        (lambda d: d["files"][0].update(path="../outside"), "path"),
        (lambda d: d["files"][0].update(sha256="abc"), "sha256"),
    ],
    ids=["extra-key", "url-and-derived", "duplicate", "source-after", "empty", "escape", "sha"],
)
def test_an_invalid_manifest_names_the_problem(
    upstream: Upstream, tmp_path: Path, change: Any, message: str
) -> None:
    data = _manifest_data(upstream)
    change(data)
    path = tmp_path / "footage.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(FootageManifestError, match=message):
        load_manifest(path)


PINNED_URL = re.compile(
    r"^https://raw\.githubusercontent\.com/[\w.-]+/[\w.-]+/([0-9a-f]{40}|\d+\.\d+\.\d+)/\S+$"
)


def test_shipped_manifest_is_pinned_and_matches_the_footage_folder(footage_dir: Path) -> None:
    shipped = load_manifest()
    derived = {entry.path: entry.derived for entry in shipped.files if entry.derived}
    assert sorted(derived) == [f"pets2009_s2l1/{part}" for part in PETS_PARTS]
    checked = []
    for entry in shipped.files:
        assert PETS_CREDIT in entry.attribution or entry.attribution == INTEL_CREDIT, entry.path
        if entry.url is None:
            continue
        assert PINNED_URL.match(entry.url), entry.url
        local = footage_dir / entry.path
        if local.is_file():
            assert local.stat().st_size == entry.size, entry.path
            assert hashlib.sha256(local.read_bytes()).hexdigest() == entry.sha256, entry.path
            checked.append(entry.path)
    # Every download but vtest.avi itself (a footage folder may hold only its parts) was checked.
    downloads = {entry.path for entry in shipped.files if entry.url is not None}
    assert downloads - {"pets2009_s2l1/vtest.avi"} <= set(checked), checked
