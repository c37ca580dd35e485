"""A clip resized to another frame size, e.g. an Intel sample clip to 1920x1080.

The team has no 1080p store footage; what detection costs per frame depends on the frame size
(decoding, cropping and resizing the tiles), so the cost checks run on an upscaled clip:

    python -m edge.tools.footage.upscale intel/one-by-one-person-detection.mp4 out.mp4
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2

from edge.perception.sources import open_source


def upscale(source: Path, out: Path, size: tuple[int, int]) -> int:
    """Write every frame of ``source`` resized to ``size`` (width, height) into the MP4
    ``out``, at the source's frame rate; the number of frames written."""
    with open_source(source) as frames:
        fourcc = cv2.VideoWriter.fourcc(*"mp4v")
        writer = cv2.VideoWriter(str(out), fourcc, frames.fps or 10.0, size)
        if not writer.isOpened():
            raise OSError(f"cannot write {out}; use an .mp4 path in a writable folder")
        try:
            count = 0
            for frame in frames:
                writer.write(cv2.resize(frame.image, size, interpolation=cv2.INTER_CUBIC))
                count += 1
        finally:
            writer.release()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--size", default="1920x1080", help="WIDTHxHEIGHT (default 1920x1080)")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    print(f"{upscale(args.source, args.out, (width, height))} frames written to {args.out}")


if __name__ == "__main__":
    main()
