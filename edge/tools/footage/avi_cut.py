"""Lossless AVI cutter: frames ``[start, stop)`` of a single-stream AVI, chunks copied as they are.

The PETS clips the code uses are keyframe-aligned pieces of OpenCV's ``vtest.avi``. Cutting copies
the compressed frame chunks byte for byte (no decoder, no re-encode), so a cut that starts at a
keyframe decodes to exactly the source's frames. The output depends only on the input bytes and the
range, so its sha256 can be pinned in the footage manifest. Scope: AVI 1.0 with one video stream
and an ``idx1`` index (what OpenCV and ffmpeg write for such clips); anything else is refused.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

_KEYFRAME = 0x10  # AVIIF_KEYFRAME in idx1 flags
_TOTAL_FRAMES_AT = 16  # avih.dwTotalFrames, bytes into the avih data
_STREAMS_AT = 24  # avih.dwStreams
_LENGTH_AT = 32  # strh.dwLength
_INDEX_ENTRY = struct.Struct("<4sIII")  # ckid, flags, offset, size


class AviCutError(ValueError):
    """The file is not an AVI this cutter handles, or the range cannot be cut losslessly."""


@dataclass(frozen=True, slots=True)
class _Chunk:
    fourcc: bytes
    at: int  # offset of the chunk header in the file
    size: int  # payload size, without the pad byte

    @property
    def data_at(self) -> int:
        return self.at + 8

    @property
    def end(self) -> int:
        return self.data_at + self.size + (self.size & 1)


@dataclass(frozen=True, slots=True)
class _Frame:
    flags: int
    at: int  # offset of the frame chunk header in the file
    size: int


@dataclass(frozen=True, slots=True)
class _Avi:
    data: bytes
    hdrl: _Chunk
    front: tuple[_Chunk, ...]  # every top-level chunk before movi, hdrl first
    patch_at: tuple[int, int]  # file offsets of avih.dwTotalFrames and strh.dwLength
    frames: tuple[_Frame, ...]

    @property
    def keyframes(self) -> list[int]:
        return [i for i, frame in enumerate(self.frames) if frame.flags & _KEYFRAME]


def _chunks(data: bytes, start: int, end: int, name: str) -> Iterator[_Chunk]:
    at = start
    while at + 8 <= end:
        fourcc, size = struct.unpack_from("<4sI", data, at)
        chunk = _Chunk(fourcc, at, size)
        if chunk.data_at + size > end:
            raise AviCutError(f"{name}: chunk {fourcc!r} at byte {at} runs past its parent")
        yield chunk
        at = chunk.end


def _list_type(data: bytes, chunk: _Chunk) -> bytes:
    return data[chunk.data_at : chunk.data_at + 4] if chunk.fourcc in (b"RIFF", b"LIST") else b""


def _children(data: bytes, chunk: _Chunk, name: str) -> dict[bytes, _Chunk]:
    """A LIST's children by fourcc (LISTs by their list type); the first of each kind wins."""
    found: dict[bytes, _Chunk] = {}
    for child in _chunks(data, chunk.data_at + 4, chunk.data_at + chunk.size, name):
        found.setdefault(_list_type(data, child) or child.fourcc, child)
    return found


def _header(data: bytes, hdrl: _Chunk, name: str) -> tuple[int, int]:
    """Offsets of the two frame counts to rewrite, after checking for one plain video stream."""
    parts = _children(data, hdrl, name)
    avih, strl = parts.get(b"avih"), parts.get(b"strl")
    if avih is None or strl is None or b"odml" in parts:
        raise AviCutError(f"{name}: not a plain AVI 1.0 header (OpenDML files are not supported)")
    (streams,) = struct.unpack_from("<I", data, avih.data_at + _STREAMS_AT)
    stream = _children(data, strl, name)
    strh = stream.get(b"strh")
    if streams != 1 or strh is None or data[strh.data_at : strh.data_at + 4] != b"vids":
        raise AviCutError(f"{name}: only AVI files holding one video stream can be cut")
    if b"indx" in stream:
        raise AviCutError(f"{name}: OpenDML index (indx) found; only idx1-indexed AVI is supported")
    return avih.data_at + _TOTAL_FRAMES_AT, strh.data_at + _LENGTH_AT


def _frames(data: bytes, movi: _Chunk, idx1: _Chunk, name: str) -> tuple[_Frame, ...]:
    """The video frames listed in idx1, with file offsets checked against the movi chunks."""
    entries = [
        _INDEX_ENTRY.unpack_from(data, idx1.data_at + i * _INDEX_ENTRY.size)
        for i in range(idx1.size // _INDEX_ENTRY.size)
    ]
    video = [e for e in entries if e[0][:2] == b"00" and e[0][2:] in (b"dc", b"db")]
    if not video:
        raise AviCutError(f"{name}: idx1 lists no video frames")
    # idx1 offsets count from the 'movi' fourcc in most files, from the file start in a few.
    ckid, _, first, _ = video[0]
    base = movi.data_at if data[movi.data_at + first : movi.data_at + first + 4] == ckid else 0
    frames = []
    for ckid, flags, offset, size in video:
        at = base + offset
        if data[at : at + 8] != struct.pack("<4sI", ckid, size):
            raise AviCutError(f"{name}: idx1 entry at {offset} does not match the movi chunk there")
        frames.append(_Frame(flags, at, size))
    return tuple(frames)


def _parse(data: bytes, name: str) -> _Avi:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"AVI ":
        raise AviCutError(f"{name} is not an AVI file (no RIFF 'AVI ' header)")
    (riff_size,) = struct.unpack_from("<I", data, 4)
    if 8 + riff_size < len(data) - 1:
        raise AviCutError(f"{name}: more than one RIFF list (OpenDML AVIX) is not supported")
    front: list[_Chunk] = []
    movi = idx1 = None
    for chunk in _chunks(data, 12, min(8 + riff_size, len(data)), name):
        kind = _list_type(data, chunk) or chunk.fourcc
        if kind == b"movi":
            movi = chunk
        elif kind == b"idx1":
            idx1 = chunk
        elif movi is None:
            front.append(chunk)
    hdrl = front[0] if front and _list_type(data, front[0]) == b"hdrl" else None
    if hdrl is None or movi is None or idx1 is None:
        raise AviCutError(f"{name}: an AVI needs hdrl, movi and idx1 to be cut; remux it first")
    return _Avi(
        data, hdrl, tuple(front), _header(data, hdrl, name), _frames(data, movi, idx1, name)
    )


def _read(source: Path) -> _Avi:
    return _parse(source.read_bytes(), str(source))


def keyframes(source: Path) -> list[int]:
    """Indices of the frames a lossless cut may start at."""
    return _read(source).keyframes


def frame_count(source: Path) -> int:
    """Number of video frames that the index lists."""
    return len(_read(source).frames)


def cut(source: Path, out: IO[bytes], start: int, stop: int) -> None:
    """Write frames ``[start, stop)`` of ``source`` to ``out`` as a complete AVI file."""
    avi = _read(source)
    if not 0 <= start < stop <= len(avi.frames):
        raise AviCutError(
            f"frames [{start}, {stop}) are outside {source}, which has {len(avi.frames)} frames"
        )
    if start not in avi.keyframes:
        raise AviCutError(
            f"frame {start} of {source} is not a keyframe, so a cut there would not decode; "
            f"start at one of the keyframes {avi.keyframes}"
        )
    data, frames = avi.data, avi.frames[start:stop]
    front = bytearray(b"".join(data[c.at : c.end] for c in avi.front))
    for at in avi.patch_at:
        struct.pack_into("<I", front, at - avi.hdrl.at, len(frames))
    pieces = [data[f.at : f.at + 8 + f.size + (f.size & 1)] for f in frames]
    movi_size = 4 + sum(len(p) for p in pieces)
    index = bytearray()
    offset = 4  # first chunk right after the 'movi' fourcc
    for frame, piece in zip(frames, pieces, strict=True):
        ckid = data[frame.at : frame.at + 4]
        index += _INDEX_ENTRY.pack(ckid, frame.flags, offset, frame.size)
        offset += len(piece)
    riff_size = 4 + len(front) + 8 + movi_size + 8 + len(index)
    out.write(struct.pack("<4sI4s", b"RIFF", riff_size, b"AVI "))
    out.write(front)
    out.write(struct.pack("<4sI4s", b"LIST", movi_size, b"movi"))
    for piece in pieces:
        out.write(piece)
    out.write(struct.pack("<4sI", b"idx1", len(index)))
    out.write(index)
