"""Plots people would rather look at than read: each track's distance to the counter over time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
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
