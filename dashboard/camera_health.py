"""What the Overview says of each camera's health: a warning word when something is wrong,
with why in plain words (the thresholds are ``camera_health`` in the settings)."""

from __future__ import annotations

from typing import Any

from dashboard.settings import CameraHealth


def warnings(camera: dict[str, Any], now_s: float, limits: CameraHealth) -> list[dict[str, str]]:
    """The warning words of one camera of ``queries.cameras`` (none for an offline camera:
    being offline says it all)."""
    if not camera["online"]:
        return []
    out = []
    silent_s = now_s - camera["seen_s"]
    if silent_s > limits.silent_after_s:
        out.append(
            _word("silent", f"no report for {silent_s / 60:.0f} min: check its box and network")
        )
    metrics = camera["metrics"]
    if metrics is None:
        return out
    if not metrics.get("camera_online", True):
        out.append(_word("no picture", "its service runs but gets no frames from the camera"))
    fps = metrics.get("fps", 0.0)
    if metrics.get("camera_online", True) and fps < limits.low_fps:
        out.append(
            _word(
                "slow", f"{fps:.1f} frames a second, under {limits.low_fps:g}: cues may come late"
            )
        )
    waiting = metrics.get("outbox_depth", 0)
    if waiting >= limits.backlog_events:
        out.append(
            _word("behind", f"{waiting} events not yet sent: the broker is unreachable or slow")
        )
    return out


def _word(word: str, why: str) -> dict[str, str]:
    return {"word": word, "why": why}
