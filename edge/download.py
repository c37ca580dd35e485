"""Pinned files in a local cache: fetched by URL, checked against a manifest sha256, written
atomically. The model store and the footage store share it, so both check bytes the same way."""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.request
from collections.abc import Callable
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import IO, Literal, TypeVar, cast

import platformdirs
import yaml
from pydantic import BaseModel, ValidationError

CHUNK = 1 << 20
TIMEOUT_S = 60.0

State = Literal["present", "missing", "corrupt"]
Writer = Callable[[IO[bytes]], None]
"""Writes a file's whole content to the stream it is given."""
ManifestT = TypeVar("ManifestT", bound=BaseModel)


def load_manifest(
    source: Path | Traversable, model: type[ManifestT], what: str, error: type[Exception]
) -> ManifestT:
    """Read and validate a YAML manifest; any problem raises ``error`` naming the file."""
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
        return model.model_validate(data)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise error(f"{what} manifest {source} is invalid: {exc}") from None


def cache_dir(cache: Path | str | None, env: str, kind: str) -> Path:
    """``cache``, else the folder named by ``env``, else ``<user cache>/greetcue/<kind>``."""
    if cache is not None:
        return Path(cache).expanduser()
    from_env = os.environ.get(env)
    if from_env:
        return Path(from_env).expanduser()
    return Path(platformdirs.user_cache_dir("greetcue")) / kind


def sha256_of(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


# Files already hashed in this process, keyed so that a rewritten file is hashed again.
_verified: set[tuple[str, int, int, str]] = set()


def _verified_key(path: Path, sha256: str) -> tuple[str, int, int, str]:
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns, sha256


def is_intact(path: Path, sha256: str, size: int) -> bool:
    """True when ``path`` holds exactly the pinned bytes (hashed once per process)."""
    key = _verified_key(path, sha256)
    if key[1] != size:
        return False
    if key not in _verified:
        if sha256_of(path) != sha256:
            return False
        _verified.add(key)
    return True


def state(path: Path, sha256: str, size: int) -> tuple[State, int | None]:
    """Whether the cache holds the pinned file (present and intact, missing or corrupt), and the
    size of what it holds."""
    if not path.is_file():
        return "missing", None
    return ("present" if is_intact(path, sha256, size) else "corrupt"), path.stat().st_size


def open_url(url: str, what: str, fix: str, error: type[Exception]) -> IO[bytes]:
    """A byte stream from ``url``; failures (HTTP 404 included) raise ``error`` naming the fix."""
    try:
        stream: IO[bytes] = urllib.request.urlopen(url, timeout=TIMEOUT_S)
    except OSError as exc:  # URLError and HTTPError included
        raise error(f"cannot download {what} from {url}: {exc}; {fix}") from None
    return stream


def copier(stream: IO[bytes], progress: Callable[[int], None] | None = None) -> Writer:
    """A writer that copies ``stream`` in chunks, reporting the bytes copied so far; an HTTP
    reply that ends before its Content-Length raises ``IncompleteRead``."""

    def copy(out: IO[bytes]) -> None:
        done = 0
        while chunk := stream.read(CHUNK):
            out.write(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done)
        remaining = getattr(stream, "length", None)  # an HTTP reply: bytes promised, not sent
        if remaining:
            raise http.client.IncompleteRead(b"", remaining)

    return copy


class _Hashing:
    """A file's ``write`` that also feeds the sha256 of what passes through it."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out, self.digest = out, hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self._out.write(data)


def write_checked(
    target: Path,
    sha256: str,
    write: Writer,
    *,
    what: str,
    origin: str,
    fix: str,
    error: type[Exception],
) -> None:
    """Write to a temporary file beside ``target``, check its sha256, then rename it.

    The rename is atomic, so an interrupted or rejected write never leaves a partial or
    unchecked file under the final name.
    """
    part: Path | None = None
    try:
        with tempfile.NamedTemporaryFile(
            dir=target.parent, prefix=f".{target.name}.", suffix=".part", delete=False
        ) as out:
            part = Path(out.name)
            hashing = _Hashing(out)
            write(cast(IO[bytes], hashing))
        digest = hashing.digest.hexdigest()
        if digest != sha256:
            raise error(
                f"{origin} has sha256 {digest}, the manifest expects {sha256} for {what}; the "
                f"source changed or is corrupt, the cache was left as it was; {fix}"
            )
        part.chmod(0o644)  # temporary files are private; these files are not secret
        part.replace(target)
        _verified.add(_verified_key(target, sha256))  # hashed as it was written
    except (OSError, http.client.HTTPException) as exc:
        raise error(f"copying {origin} to {target} failed: {exc}; try again") from None
    finally:
        if part is not None:
            part.unlink(missing_ok=True)
