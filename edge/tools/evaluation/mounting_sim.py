"""Mounting simulation: how far off the distances are for a counter camera at a height and tilt.

Simulated customers walk in to the counter under a simulated camera. Each walk gets its own
floor-point calibration, solved as ``greetcue calibrate`` solves it from points clicked in a
snapshot (``click_px`` of error) at tape-measured floor positions (``tape_in`` of error); the
walker's detector boxes carry edge noise of the size measured on PETS 2009 (see
:func:`measure_box_noise`), and the product's own :class:`~edge.perception.geometry.ranging.Ranger`
(floor fixes, learnt sizes, Kalman smoothing) ranges them. What is reported is the ranged minus
the true distance in the frame each person crosses the 10, 5 and 3 ft rings::

    python -m edge.tools.evaluation.mounting_sim --out deploy/guide/
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import typer
from matplotlib.figure import Figure
from rich.console import Console
from rich.progress import Progress

from edge.config import RangingConfig
from edge.perception.detections import Detections, iou_matrix, match
from edge.perception.geometry.calibration import INCHES_PER_FT, solve_pose
from edge.perception.geometry.camera import Camera
from edge.perception.geometry.ranging import MAD_TO_SD, Ranger
from edge.tools.evaluation.detection import read_detections_jsonl
from edge.tools.evaluation.groundtruth import FrameTruth, load_pets_xml
from edge.tools.footage.location import PETS_CREDIT, PETS_PART_FRAMES

F64 = npt.NDArray[np.float64]
FT_PER_M = 1 / 0.3048
RINGS_FT = (10.0, 5.0, 3.0)
FPS = 10.0
START_FT = 16.0
# Raspberry Pi Camera Module 3 (standard lens): 66 deg across a 16:9 frame.
HFOV_DEG = 66.0
FRAME = (1280, 720)
# The lens 1 ft behind the counter (on the wall or ceiling), facing the store (+y).
LENS_BEHIND_FT = 1.0
CREDIT = f"box noise measured on {PETS_CREDIT}"


@dataclass(frozen=True)
class BoxNoise:
    """Detector box error per edge (x1, y1, x2, y2) as a share of the person's box height, and
    its correlation from one frame to the next (10 fps): boxes wobble slowly, not white.

    The defaults are YOLOX-Nano's on PETS 2009 S2.L1 parts 0-1 against the ground truth, as
    ``--noise-from part0.jsonl --noise-from part1.jsonl --truth PETS2009-S2L1.xml`` measures
    them from ``greetcue detect --score 0.4`` replays.
    """

    share: tuple[float, float, float, float] = (0.051, 0.039, 0.047, 0.031)
    lag1: float = 0.73

    def scaled(self, factor: float) -> BoxNoise:
        """The same noise ``factor`` times as large."""
        x1, y1, x2, y2 = (factor * s for s in self.share)
        return BoxNoise((x1, y1, x2, y2), self.lag1)


@dataclass(frozen=True)
class Errors:
    """Everything that is not perfect: detector boxes, clicked pixels, tape-measured floor."""

    box: BoxNoise = field(default_factory=BoxNoise)
    click_px: float = 1.5
    tape_in: float = 1.0

    @classmethod
    def none(cls) -> Errors:
        """A perfect detector and a perfect calibration."""
        return cls(BoxNoise((0.0, 0.0, 0.0, 0.0)), 0.0, 0.0)


@dataclass(frozen=True)
class Mounting:
    """A camera ``height_ft`` up, ``tilt_deg`` below the horizon."""

    height_ft: float
    tilt_deg: float

    def camera(self) -> Camera:
        """The true camera."""
        position = [0.0, -LENS_BEHIND_FT, self.height_ft]
        return Camera.from_pose(position, 90.0, self.tilt_deg, HFOV_DEG, FRAME)


@dataclass(frozen=True)
class MountingResult:
    """Signed distance errors (inches) at each ring over the walks, whether each person was cut
    off there (feet below the frame), and the calibrations' floor-point residuals (inches)."""

    mounting: Mounting
    error_in: dict[float, F64]
    cut_off: dict[float, npt.NDArray[np.bool_]]
    residual_in: F64

    def abs_percentile(self, ring: float, q: float) -> float:
        """The q-th percentile of the absolute error at ``ring`` (NaN: never ranged there)."""
        errors = self.error_in[ring]
        return float(np.percentile(np.abs(errors), q)) if errors.size else float("nan")


def person_box(camera: Camera, floor_ft: F64, height_ft: float, width_ft: float) -> F64:
    """The unclipped box [4] of an upright person (an elliptic cylinder ``width_ft`` across,
    0.3 m deep, facing the counter) at ``floor_ft``."""
    facing = -floor_ft / max(float(np.linalg.norm(floor_ft)), 1e-9)
    across = np.array([-facing[1], facing[0]])
    angle = np.linspace(0.0, 2 * np.pi, 72, endpoint=False)[:, None]
    rim = floor_ft + width_ft / 2 * np.cos(angle) * across
    rim = rim + 0.15 * FT_PER_M * np.sin(angle) * facing
    ends = [np.column_stack([rim, np.full(len(rim), z)]) for z in (0.0, height_ft)]
    pixels = camera.project(np.vstack(ends))
    return np.concatenate([np.nanmin(pixels, axis=0), np.nanmax(pixels, axis=0)])


def _calibrated(camera: Camera, errors: Errors, rng: np.random.Generator) -> tuple[Camera, F64]:
    """The camera solved from a 3 x 3 grid of floor points over the visible floor where people
    walk, with click and tape errors, and the points' residuals (inches)."""
    width, height = camera.image_size
    rows = np.array([[width / 2, height * share] for share in (0.98, 0.6, 0.3)])
    near, _, far = camera.backproject(rows)[:, 1]
    far = min(START_FT, far) if np.isfinite(far) else START_FT
    ys = np.linspace(max(near, 1.0) + 0.5, far, 3)
    floor = np.array([(x * y / far, y) for y in ys for x in (-4.0, 0.0, 4.0)])
    pixels = camera.project(floor)
    inside = np.isfinite(pixels).all(axis=1) & (pixels >= 0).all(axis=1)
    inside &= (pixels < [width, height]).all(axis=1)
    pixels, floor = pixels[inside], floor[inside]
    clicked = pixels + rng.normal(0.0, errors.click_px, pixels.shape)
    measured = floor + rng.normal(0.0, errors.tape_in / INCHES_PER_FT, floor.shape)
    solved = solve_pose(clicked, measured, camera.matrix, camera.distortion, camera.image_size)
    return solved.camera, solved.residual_in


def _box_noise(noise: BoxNoise, frames: int, rng: np.random.Generator) -> F64:
    """Edge errors [frames, 4] as shares of the box height: AR(1) at ``noise.lag1``."""
    rho = noise.lag1
    shocks = rng.normal(0.0, 1.0, (frames, 4)) * np.sqrt(1 - rho**2)
    out = np.empty((frames, 4))
    out[0] = rng.normal(0.0, 1.0, 4)
    for i in range(1, frames):
        out[i] = rho * out[i - 1] + shocks[i]
    return np.asarray(out * np.asarray(noise.share), np.float64)


def walk(
    camera: Camera, ranged_by: Camera, errors: Errors, rng: np.random.Generator
) -> tuple[dict[float, float], dict[float, bool]]:
    """One customer walks in at a random bearing, pace and size: ranged minus true distance
    (inches) and whether the box was cut off, in the frame the person crosses each ring."""
    bearing = np.radians(rng.uniform(-30.0, 30.0))
    start = START_FT * np.array([np.sin(bearing), np.cos(bearing)])
    end = np.array([rng.uniform(-1.0, 1.0), 1.5])
    speed = rng.uniform(2.8, 4.3)  # ft/s: shoppers' walking pace
    height = float(np.clip(rng.normal(1.70, 0.09), 1.5, 1.95)) * FT_PER_M
    width = rng.uniform(0.4, 0.6) * FT_PER_M
    frames = int(np.linalg.norm(end - start) / speed * FPS) + 1
    path = start + (end - start) * np.linspace(0.0, 1.0, frames)[:, None]
    noise = _box_noise(errors.box, frames, rng)
    ranger = Ranger(ranged_by, (0.0, 0.0), RINGS_FT, RangingConfig())
    w, h = camera.image_size
    errors_in: dict[float, float] = {}
    cut: dict[float, bool] = {}
    for i, where in enumerate(path):
        box = person_box(camera, where, height, width)
        box = np.clip(box + noise[i] * (box[3] - box[1]), 0, [w, h, w, h])
        if box[3] - box[1] < 10 or box[2] - box[0] < 4:
            continue  # out of view: no detection
        result = ranger.update(np.array([1]), box[None], i / FPS, (w, h))
        true_ft = float(np.linalg.norm(where))
        for ring in RINGS_FT:
            if ring not in errors_in and true_ft <= ring:
                errors_in[ring] = (float(result.distance_ft[0]) - true_ft) * INCHES_PER_FT
                cut[ring] = bool(result.truncated[0])
    return errors_in, cut


def simulate(mounting: Mounting, errors: Errors, walks: int = 60, seed: int = 0) -> MountingResult:
    """``walks`` customers under this mounting, each with a calibration of its own."""
    rng = np.random.default_rng(seed)
    camera = mounting.camera()
    found: dict[float, list[float]] = {ring: [] for ring in RINGS_FT}
    cut: dict[float, list[bool]] = {ring: [] for ring in RINGS_FT}
    residuals: list[F64] = []
    for _ in range(walks):
        ranged_by, residual_in = _calibrated(camera, errors, rng)
        residuals.append(residual_in)
        errors_in, cut_off = walk(camera, ranged_by, errors, rng)
        for ring, error in errors_in.items():
            if np.isfinite(error):
                found[ring].append(error)
                cut[ring].append(cut_off[ring])
    return MountingResult(
        mounting,
        {ring: np.asarray(values) for ring, values in found.items()},
        {ring: np.asarray(values, np.bool_) for ring, values in cut.items()},
        np.concatenate(residuals),
    )


def measure_box_noise(
    detections: dict[int, Detections], truth: dict[int, FrameTruth], image_size: tuple[int, int]
) -> BoxNoise:
    """Box edge error of detections against ground truth (IoU >= 0.5, boxes clear of the frame
    edges), as shares of the true box height (robust spread) and its frame-to-frame correlation.

    Annotations have errors of their own, so this is an upper bound on the detector's.
    """
    width, height = image_size
    by_person: dict[int, dict[int, F64]] = {}
    for number, found in detections.items():
        gt = truth.get(number)
        if gt is None or len(gt.xyxy) == 0 or len(found) == 0:
            continue
        rows, cols = match(iou_matrix(gt.xyxy, found.xyxy), 0.5)
        for row, col in zip(rows, cols, strict=True):
            true_box = gt.xyxy[row].astype(np.float64)
            if (true_box[:2] <= 2).any() or true_box[2] >= width - 2 or true_box[3] >= height - 2:
                continue
            share = (found.xyxy[col] - true_box) / (true_box[3] - true_box[1])
            by_person.setdefault(int(gt.ids[row]), {})[number] = share
    if not by_person:
        raise ValueError("no detection matches the ground truth; are the frame numbers aligned?")
    shares = np.vstack([s for person in by_person.values() for s in person.values()])
    spread = MAD_TO_SD * np.median(np.abs(shares - np.median(shares, axis=0)), axis=0)
    pairs = [(s[n], s[n + 1]) for s in by_person.values() for n in s if n + 1 in s]
    now, after = (np.asarray(side) for side in zip(*pairs, strict=True))
    lag1 = np.mean([np.corrcoef(now[:, i], after[:, i])[0, 1] for i in range(4)])
    x1, y1, x2, y2 = (round(float(s), 3) for s in spread)
    return BoxNoise((x1, y1, x2, y2), round(float(lag1), 2))


def table_markdown(results: Sequence[MountingResult], errors: Errors, walks: int) -> str:
    """The guide's table: median / p90 absolute error per ring, cut-off share, residuals."""
    head = "| height | tilt | " + " | ".join(f"at {r:g} ft" for r in RINGS_FT)
    head += " | feet cut off at 3 ft | calibration residual (median) |"
    lines = [head, "|---|---|" + "---|" * (len(RINGS_FT) + 2)]
    for result in results:
        cells = [
            f"{result.abs_percentile(r, 50):.1f} / {result.abs_percentile(r, 90):.1f} in"
            + ("" if result.error_in[r].size == walks else f" ({result.error_in[r].size} ranged)")
            for r in RINGS_FT
        ]
        cut = result.cut_off[3.0]
        cut_share = f"{cut.mean():.0%}" if cut.size else "n/a"
        mounting = result.mounting
        lines.append(
            f"| {mounting.height_ft:g} ft | {mounting.tilt_deg:g} deg | "
            + " | ".join(cells)
            + f" | {cut_share} | {np.median(result.residual_in):.1f} in |"
        )
    box = ", ".join(f"{s:.1%}" for s in errors.box.share)
    return "\n".join(
        [
            "# Mounting simulation",
            "",
            "Written by `python -m edge.tools.evaluation.mounting_sim --out deploy/guide/`; "
            "do not edit.",
            "",
            *lines,
            "",
            f"Median / 90th percentile of |ranged - true distance| over {walks} simulated "
            f"walk-ins per row ({HFOV_DEG:g} deg lens, {FRAME[0]}x{FRAME[1]}, lens "
            f"{LENS_BEHIND_FT:g} ft behind the counter, {FPS:g} fps). Box edge noise "
            f"(x1, y1, x2, y2) {box} of the box height, frame-to-frame correlation "
            f"{errors.box.lag1:g}; clicks {errors.click_px:g} px, tape {errors.tape_in:g} in.",
            "",
        ]
    )


def plot(results: Sequence[MountingResult], out: Path) -> Path:
    """p90 absolute error against camera height, one line per tilt, a panel per ring."""
    fig = Figure(figsize=(8, 2.8), dpi=90)
    axes = fig.subplots(1, len(RINGS_FT), sharey=True)
    tilts = sorted({r.mounting.tilt_deg for r in results})
    for ax, ring in zip(axes, RINGS_FT, strict=True):
        for tilt in tilts:
            rows = sorted(
                (r for r in results if r.mounting.tilt_deg == tilt),
                key=lambda r: r.mounting.height_ft,
            )
            heights = [r.mounting.height_ft for r in rows]
            ax.plot(
                heights, [r.abs_percentile(ring, 90) for r in rows], "o-", label=f"{tilt:g} deg"
            )
        ax.set_title(f"customer at {ring:g} ft", fontsize=9)
        ax.set_xlabel("camera height (ft)", fontsize=8)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
    axes[0].set_ylabel("p90 distance error (in)", fontsize=8)
    axes[0].set_ylim(bottom=0)
    axes[0].legend(title="tilt", fontsize=7, title_fontsize=7, loc="lower left", ncol=2)
    fig.text(0.01, 0.01, CREDIT, fontsize=6, color="grey")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(out)
    return out


def mountings(heights: Iterable[float], tilts: Iterable[float]) -> list[Mounting]:
    """Every height with every tilt."""
    return [Mounting(h, t) for h in heights for t in tilts]


def consecutive_parts(paths: Sequence[Path]) -> dict[int, Detections]:
    """``greetcue detect`` replays of PETS parts 0, 1, ..., numbered as the whole clip."""
    frames: dict[int, Detections] = {}
    for part, path in enumerate(paths):
        offset = PETS_PART_FRAMES * part
        frames.update({offset + n: d for n, d in read_detections_jsonl(path).items()})
    return frames


def main(
    out: Path = typer.Option(Path("deploy/guide"), "--out", help="folder for the table and plot"),
    walks: int = typer.Option(60, "--walks", min=5, help="walk-ins per mounting"),
    height: list[float] = typer.Option([8.0, 9.0, 10.0], "--height", help="camera height, ft"),
    tilt: list[float] = typer.Option([30.0, 38.0, 46.0, 54.0], "--tilt", help="degrees down"),
    noise_from: list[Path] = typer.Option(
        [], "--noise-from", help="measure the box noise: `greetcue detect` replays of the parts"
    ),
    truth: Path | None = typer.Option(None, "--truth", help="ground truth XML for --noise-from"),
    frame_size: tuple[int, int] = typer.Option((768, 576), "--frame-size", help="of the replays"),
    noise_scale: float = typer.Option(1.0, "--noise-scale", help="box noise x this"),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Simulate walk-ins for each camera height and tilt; write mounting-sim.md and .png."""
    errors = Errors()
    if noise_from:
        if truth is None:
            raise typer.BadParameter("--noise-from needs --truth (the ground-truth XML)")
        measured = measure_box_noise(
            consecutive_parts(noise_from), load_pets_xml(truth), frame_size
        )
        typer.echo(f"measured box noise: {measured}")
        errors = replace(errors, box=measured)
    errors = replace(errors, box=errors.box.scaled(noise_scale))
    results = []
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("mountings", total=len(height) * len(tilt))
        for mounting in mountings(height, tilt):
            results.append(simulate(mounting, errors, walks, seed))
            progress.advance(task)
    out.mkdir(parents=True, exist_ok=True)
    table = table_markdown(results, errors, walks)
    (out / "mounting-sim.md").write_text(table, encoding="utf-8")
    plot(results, out / "mounting-sim.png")
    typer.echo(table)


if __name__ == "__main__":
    typer.run(main)
