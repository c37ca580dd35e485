"""Plots people would rather look at than read: each track's distance to the counter over time,
and how early cues came before each ring."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure


def plot_distances(
    rows: Iterable[dict[str, Any]],
    zones: Sequence[tuple[str, float]],
    out: Path,
    title: str,
    credit: str = "",
) -> Path:
    """Distance to the counter against time, one line per track, zone radii as bands."""
    series: dict[int, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for row in rows:
        for track in row["tracks"]:
            times, dists = series[track["id"]]
            times.append(row["t"])
            dists.append(track["distance_ft"])
    fig = Figure(figsize=(9, 4.5), dpi=110)
    ax = fig.subplots()
    for name, radius in zones:
        ax.axhline(radius, color="grey", linestyle="--", linewidth=0.8)
        ax.annotate(
            name,
            (0, radius),
            xycoords=("axes fraction", "data"),
            fontsize=8,
            color="grey",
            xytext=(2, 2),
            textcoords="offset points",
        )
    for track_id, (times, dists) in sorted(series.items()):
        ax.plot(times, dists, linewidth=1.4, label=f"#{track_id}")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("distance to counter (ft)")
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if 0 < len(series) <= 12:
        ax.legend(loc="upper right", fontsize=8, ncol=2)
    if credit:
        fig.text(0.01, 0.01, credit, fontsize=7, color="grey")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    return out


def plot_leads(
    leads: Mapping[str, Mapping[float, Sequence[float]]],
    out: Path,
    title: str,
    target: tuple[float, float] | None = None,
) -> Path:
    """Each run's cue leads (s) before each ring, one column of dots per run and ring colour;
    ``target``: (ring ft, least median lead s) drawn as a line."""
    fig = Figure(figsize=(max(6.0, 1.1 * len(leads) + 2), 4.5), dpi=110)
    ax = fig.subplots()
    rings = sorted({ring for by_ring in leads.values() for ring in by_ring}, reverse=True)
    for k, ring in enumerate(rings):
        offset = (k - (len(rings) - 1) / 2) * 0.2
        xs, ys = [], []
        for x, by_ring in enumerate(leads.values()):
            xs += [x + offset] * len(by_ring.get(ring, []))
            ys += list(by_ring.get(ring, []))
        ax.scatter(xs, ys, s=22, label=f"before {ring:g} ft", alpha=0.8)
    ax.axhline(0, color="black", linewidth=0.8)
    if target is not None:
        ax.axhline(target[1], color="grey", linestyle="--", linewidth=0.8)
        ax.annotate(
            f"target: median before {target[0]:g} ft >= {target[1]:g} s",
            (0, target[1]),
            xycoords=("axes fraction", "data"),
            fontsize=8,
            color="grey",
            xytext=(2, 2),
            textcoords="offset points",
        )
    ax.set_xticks(range(len(leads)), list(leads), rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("cue lead before the ring crossing (s)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if rings:
        ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    return out
