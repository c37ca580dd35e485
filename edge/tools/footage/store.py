"""Footage store: the manifest of demo and test footage and the cache it is pulled into.

Footage is never committed. ``manifest.yaml`` (beside this module) pins each file to an
upstream URL and a sha256, or derives it from a pulled file (a keyframe-aligned frame range cut
by :mod:`edge.tools.footage.avi_cut`); :func:`pull` fills the cache so that
:func:`edge.tools.footage.location.footage_path` finds the same layout as in a local
``GREETCUE_FOOTAGE`` folder.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edge import download
from edge.tools.footage import avi_cut
from edge.tools.footage.location import ENV, cache_dir

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""Called with a file's manifest path, the bytes written so far and its size."""


class FootageManifestError(ValueError):
    """The footage manifest is unreadable or invalid."""


class FootagePullError(RuntimeError):
    """A footage file could not be fetched or cut, or its bytes do not match the manifest."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FrameRange(_Strict):
    """Frames ``[start, stop)`` of another manifest file, cut without re-encoding."""

    source: str = Field(description="manifest path of the file to cut")
    start: int = Field(ge=0, description="first frame (a keyframe of the source)")
    stop: int = Field(gt=0, description="frame after the last one")

    @model_validator(mode="after")
    def _check_order(self) -> Self:
        if self.start >= self.stop:
            raise ValueError(f"start {self.start} must be below stop {self.stop}")
        return self


class FootageFile(_Strict):
    """One manifest entry: a file of the footage folder and where its bytes come from."""

    path: str = Field(
        pattern=r"^[\w-][\w.-]*(/[\w-][\w.-]*)*$", description="path in the footage folder"
    )
    url: str | None = Field(
        None, pattern=r"^(https?|file)://", description="upstream URL pinned to a commit or tag"
    )
    derived: FrameRange | None = Field(None, description="cut from another entry instead")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(gt=0, description="file size in bytes")
    licence: str = Field(min_length=1)
    attribution: str = Field(min_length=1, description="credit to show wherever it is used")

    @model_validator(mode="after")
    def _check_origin(self) -> Self:
        if (self.url is None) == (self.derived is None):
            raise ValueError(f"{self.path}: give exactly one of url and derived")
        return self


class FootageManifest(_Strict):
    """Every footage file greetcue uses, in the order they are pulled."""

    files: tuple[FootageFile, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_paths(self) -> Self:
        seen: set[str] = set()
        for entry in self.files:
            if entry.path in seen:
                raise ValueError(f"footage paths must be unique, {entry.path} is listed twice")
            if entry.derived is not None and entry.derived.source not in seen:
                raise ValueError(
                    f"{entry.path} is cut from {entry.derived.source}, which must be listed "
                    "above it"
                )
            seen.add(entry.path)
        return self


def load_manifest(path: Path | None = None) -> FootageManifest:
    """Read and validate a manifest (default: the one shipped beside this module)."""
    source = path if path is not None else files("edge.tools.footage").joinpath("manifest.yaml")
    return download.load_manifest(source, FootageManifest, "footage", FootageManifestError)


@dataclass(frozen=True, slots=True)
class FootageStatus:
    """What the cache holds for one manifest file."""

    path: str
    derived: bool
    state: download.State
    size: int | None
    file: Path


def status(
    cache: Path | str | None = None, manifest: FootageManifest | None = None
) -> list[FootageStatus]:
    """One row per manifest file: present, missing or corrupt in the cache."""
    manifest = manifest if manifest is not None else load_manifest()
    root = cache_dir(cache)
    rows = []
    for entry in manifest.files:
        file = root / entry.path
        state, size = download.state(file, entry.sha256, entry.size)
        rows.append(FootageStatus(entry.path, entry.derived is not None, state, size, file))
    return rows


_FIX = f"check the manifest entry, or set {ENV} to a local footage folder"


def _download(entry: FootageFile, url: str, target: Path, progress: Progress | None) -> None:
    stream = download.open_url(url, entry.path, _FIX, FootagePullError)
    report = None if progress is None else (lambda done: progress(entry.path, done, entry.size))
    with stream:
        download.write_checked(
            target,
            entry.sha256,
            download.copier(stream, report),
            what=entry.path,
            origin=url,
            fix=_FIX,
            error=FootagePullError,
        )


def _cut(
    entry: FootageFile, cut: FrameRange, source: Path, target: Path, progress: Progress | None
) -> None:
    download.write_checked(
        target,
        entry.sha256,
        lambda out: avi_cut.cut(source, out, cut.start, cut.stop),
        what=entry.path,
        origin=f"frames {cut.start}-{cut.stop - 1} of {source}",
        fix=f"the cutter's output changed: report it, or set {ENV} to a local footage folder",
        error=FootagePullError,
    )
    if progress is not None:
        progress(entry.path, entry.size, entry.size)


def pull(
    cache: Path | str | None = None,
    manifest: FootageManifest | None = None,
    progress: Progress | None = None,
) -> list[Path]:
    """Fetch or cut every manifest file into the cache unless it is already intact there."""
    manifest = manifest if manifest is not None else load_manifest()
    root = cache_dir(cache)
    for entry, row in zip(manifest.files, status(root, manifest), strict=True):
        if row.state == "present":
            log.info("%s is already in the footage cache at %s", entry.path, row.file)
            continue
        row.file.parent.mkdir(parents=True, exist_ok=True)
        if entry.url is not None:
            _download(entry, entry.url, row.file, progress)
        elif entry.derived is not None:
            _cut(entry, entry.derived, root / entry.derived.source, row.file, progress)
        log.info("pulled %s into %s", entry.path, row.file)
    return [root / entry.path for entry in manifest.files]
