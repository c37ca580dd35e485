"""Draw the greetcue staff-app icons: three concentric rings (10 ft blue, 5 ft amber, 3 ft red)
around a white dot on a dark background. Run from anywhere:

    python dashboard/static/icons/make_icons.py

Writes icon-192.png, icon-512.png (purpose "any") and icon-maskable-512.png (purpose
"maskable": the mark kept inside the central 80 % safe zone, background to the edges).
"""

from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
BACKGROUND = (0x20, 0x12, 0x0B)  # BGR of #0b1220, the page's theme colour
RINGS = ((0xD7, 0x7D, 0x2E), (0x00, 0xA5, 0xF0), (0x3E, 0x38, 0xE0))  # blue, amber, red (BGR)
SCALE = 4  # draw large, then shrink: smooth edges


def draw(size: int, mark: float, rounded: bool) -> np.ndarray:
    """An icon ``size`` px square; the outer ring's radius is ``mark`` x half the size."""
    big = size * SCALE
    image = np.zeros((big, big, 3), np.uint8)
    if rounded:  # a dark rounded square, transparent corners
        radius = big // 5
        alpha = np.zeros((big, big), np.uint8)
        cv2.rectangle(alpha, (radius, 0), (big - radius, big), 255, -1)
        cv2.rectangle(alpha, (0, radius), (big, big - radius), 255, -1)
        for cx in (radius, big - radius):
            for cy in (radius, big - radius):
                cv2.circle(alpha, (cx, cy), radius, 255, -1, cv2.LINE_AA)
    else:  # maskable: full bleed
        alpha = np.full((big, big), 255, np.uint8)
    image[:] = BACKGROUND
    centre = (big // 2, big // 2)
    outer = mark * big / 2
    width = outer * 0.13
    for i, colour in enumerate(RINGS):
        r = outer - width / 2 - i * width * 1.75
        cv2.circle(image, centre, int(r), colour, int(width), cv2.LINE_AA)
    cv2.circle(image, centre, int(outer * 0.16), (255, 255, 255), -1, cv2.LINE_AA)
    rgba = np.dstack([image, alpha])
    return cv2.resize(rgba, (size, size), interpolation=cv2.INTER_AREA)


def main() -> None:
    outputs = {
        "icon-192.png": draw(192, 0.84, rounded=True),
        "icon-512.png": draw(512, 0.84, rounded=True),
        "icon-maskable-512.png": draw(512, 0.66, rounded=False),
    }
    for name, image in outputs.items():
        path = HERE / name
        cv2.imwrite(str(path), image, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        print(f"{path.name}: {path.stat().st_size / 1024:.1f} KB")


if __name__ == "__main__":
    main()
