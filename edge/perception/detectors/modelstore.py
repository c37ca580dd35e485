"""Model store: the manifest of detector weights and the local cache they are pulled into.

Weights are never committed. ``models/manifest.yaml`` pins each file to an upstream URL and a
sha256; :func:`pull` copies it into the cache (from ``GREETCUE_MODEL_MIRROR`` when set, else
from the URL) and :func:`resolve` hands the detector a path whose bytes were checked.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import IO, Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, model_validator

from edge import download

log = logging.getLogger(__name__)

CACHE_ENV = "GREETCUE_MODEL_CACHE"
MIRROR_ENV = "GREETCUE_MODEL_MIRROR"


class ManifestError(ValueError):
    """The model manifest is unreadable or invalid."""


class UnknownModelError(ValueError):
    """A model name that the manifest does not list."""


class ModelMissingError(RuntimeError):
    """The weights are not in the cache, or their bytes do not match the manifest."""


class ModelPullError(RuntimeError):
    """The weights could not be fetched, or what arrived does not match the manifest."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TensorSpec(_Strict):
    """A model input or output: the tensor name and its fixed shape."""

    name: str = Field(min_length=1)
    shape: tuple[Annotated[int, Field(gt=0)], ...] = Field(min_length=1)


class PixelSpec(_Strict):
    """How a frame's 0-255 pixels become input values: channel order, then (pixel - mean) / std.

    Mean and std are in 0-255 units, in the model's channel order, so one step covers both a
    /255 scaling and a per-channel normalisation (ImageNet's on 0-1 pixels is mean x 255, std x
    255). The defaults leave BGR 0-255 pixels as they are, as YOLOX's own exports expect.
    """

    order: Literal["bgr", "rgb"] = "bgr"
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[PositiveFloat, PositiveFloat, PositiveFloat] = (1.0, 1.0, 1.0)


class ModelSpec(_Strict):
    """One manifest entry: where the weights come from and how to run them."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="name used on the CLI")
    file: str = Field(pattern=r"^[\w.-]+\.onnx$", description="file name in the cache")
    url: str = Field(pattern=r"^(https|file)://", description="upstream URL pinned to a commit")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(gt=0, description="file size in bytes")
    licence: str = Field(min_length=1)
    input: TensorSpec
    output: TensorSpec
    decoder: Literal["yolox", "fastestdet"]
    pixels: PixelSpec = Field(
        default_factory=PixelSpec, description="input pixel order and normalisation (yolox only)"
    )
    score: float = Field(gt=0, lt=1, description="default minimum person score")
    nms_iou: float = Field(gt=0, lt=1, description="default NMS overlap threshold")

    @model_validator(mode="after")
    def _check_pixels(self) -> Self:
        if self.decoder != "yolox" and self.pixels != PixelSpec():
            raise ValueError(
                f"pixels is read by the yolox decoder only; the {self.decoder} decoder scales "
                "its input itself, so remove pixels from this entry"
            )
        return self


class Manifest(_Strict):
    """Every model greetcue can run, and which one it runs by default."""

    default: str
    models: tuple[ModelSpec, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_names(self) -> Self:
        for key in ("name", "file"):
            values = [getattr(m, key) for m in self.models]
            if len(set(values)) != len(values):
                raise ValueError(f"model {key}s must be unique, got {values}")
        if self.default not in self.names:
            raise ValueError(f"default {self.default!r} is not one of the models {self.names}")
        return self

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.models]

    def get(self, name: str | None = None) -> ModelSpec:
        """The entry called ``name`` (None: the default model)."""
        wanted = self.default if name is None else name
        for spec in self.models:
            if spec.name == wanted:
                return spec
        raise UnknownModelError(
            f"unknown model {wanted!r}; valid names: {', '.join(self.names)} "
            "(see `greetcue models list`)"
        )


def load_manifest(path: Path | None = None) -> Manifest:
    """Read and validate a manifest (default: the one shipped in the ``models`` package)."""
    source = path if path is not None else files("models").joinpath("manifest.yaml")
    return download.load_manifest(source, Manifest, "model", ManifestError)


def cache_dir(cache: Path | str | None = None) -> Path:
    """Where weights live: ``cache``, else ``$GREETCUE_MODEL_CACHE``, else the user cache."""
    return download.cache_dir(cache, CACHE_ENV, "models")


@dataclass(frozen=True, slots=True)
class ModelStatus:
    """What the cache holds for one model."""

    name: str
    default: bool
    state: download.State
    size: int | None
    path: Path


def status(cache: Path | str | None = None, manifest: Manifest | None = None) -> list[ModelStatus]:
    """One row per manifest model: present, missing or corrupt in the cache."""
    manifest = manifest if manifest is not None else load_manifest()
    root = cache_dir(cache)
    rows = []
    for spec in manifest.models:
        path = root / spec.file
        state, size = download.state(path, spec.sha256, spec.size)
        rows.append(ModelStatus(spec.name, spec.name == manifest.default, state, size, path))
    return rows


def resolve(
    name: str | None = None, cache: Path | str | None = None, manifest: Manifest | None = None
) -> Path:
    """Path of the checked weights of ``name`` (None: the default model) in the cache."""
    manifest = manifest if manifest is not None else load_manifest()
    spec = manifest.get(name)
    path = cache_dir(cache) / spec.file
    fix = f"run `greetcue models pull {spec.name}`"
    if not path.is_file():
        raise ModelMissingError(f"model {spec.name!r} is not in the cache ({path}); {fix}")
    if not download.is_intact(path, spec.sha256, spec.size):
        raise ModelMissingError(
            f"model {spec.name!r} at {path} does not match the manifest sha256 (corrupt or "
            f"partial file); {fix} to replace it"
        )
    return path


def _open_source(spec: ModelSpec) -> tuple[IO[bytes], str]:
    """A byte stream of the weights: from the mirror folder when set, else from the URL."""
    mirror = os.environ.get(MIRROR_ENV)
    if mirror:
        local = Path(mirror).expanduser() / spec.file
        if not local.is_file():
            raise ModelPullError(
                f"{MIRROR_ENV}={mirror} has no {spec.file}; put the file there or unset "
                f"{MIRROR_ENV} to download {spec.url}"
            )
        return local.open("rb"), str(local)
    fix = f"check the network, or set {MIRROR_ENV} to a folder holding {spec.file}"
    return download.open_url(spec.url, repr(spec.name), fix, ModelPullError), spec.url


def _fetch(spec: ModelSpec, target: Path) -> None:
    """Copy the weights to a temporary file beside ``target``, check them, then rename.

    The rename is atomic, so the cache never holds a partial or unchecked file.
    """
    stream, origin = _open_source(spec)
    with stream:
        download.write_checked(
            target,
            spec.sha256,
            download.copier(stream),
            what=repr(spec.name),
            origin=origin,
            fix=f"check the manifest entry of {spec.name!r} against its upstream",
            error=ModelPullError,
        )
    log.info("pulled %s from %s into %s", spec.name, origin, target)


def pull(
    name: str | None = None, cache: Path | str | None = None, manifest: Manifest | None = None
) -> list[Path]:
    """Fetch ``name`` (None: every model) into the cache unless already intact there."""
    manifest = manifest if manifest is not None else load_manifest()
    specs = manifest.models if name is None else (manifest.get(name),)
    root = cache_dir(cache)
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for spec in specs:
        target = root / spec.file
        if target.is_file() and download.is_intact(target, spec.sha256, spec.size):
            log.info("%s is already in the cache at %s", spec.name, target)
        else:
            _fetch(spec, target)
        paths.append(target)
    return paths
