"""Multi-person tracker: stable ids through short occlusions, from per-frame detections.

ByteTrack-style association on a constant-velocity Kalman filter
(:mod:`edge.perception.tracking.kalman`):

1. every track is predicted to the frame time ``t``;
2. confirmed tracks take the high-score detections (IoU >= ``match_iou``, Hungarian);
3. confirmed tracks still unmatched that were seen in the previous frame take the low-score
   detections (IoU >= ``low_match_iou``): a person half hidden keeps their id, yet a weak box
   never starts a track nor revives one already lost;
4. confirmed tracks still unmatched take back a high-score detection whose appearance (the
   colours of the torso, :mod:`edge.perception.tracking.appearance`) is ``relink_similarity``
   alike and whose centre is within ``relink_gate`` box heights of their predicted box: after
   an occlusion the prediction has often drifted off the person, so the overlap of stage 2
   fails and the person would otherwise come back under a new id;
5. tentative tracks take what is left of the high-score detections.

Each confirmed track keeps a running appearance from its strong matches; appearance is given
per detection by the caller (None: no appearance, stage 4 is skipped).

Birth: an unmatched detection scoring ``new_track_score`` or more starts a tentative track; it
gets an id after ``min_hits`` consecutive matches (at once in the first frame after a reset,
when everyone in view is already there), and dies at its first miss, so a lone spurious box
never gets one. Death: a confirmed track unseen for more than ``max_lost_s`` seconds ends and
its id is reported once in :attr:`Tracks.ended`. Ids are small integers from 1, never reused
until :meth:`Tracker.reset`.

Reported boxes ``xyxy`` are the filtered (Kalman) boxes, for display and MOT scoring (on PETS
they give fewer identity switches against the ground truth than raw detections); ``observed``
is the detector's own box of the frame, which ranging uses so nothing is smoothed twice. A track
missing from one frame's report has not ended; only :attr:`Tracks.ended` ends it. Tracks
missed in this frame are left out unless ``coast_s`` > 0, which reports them at their
predicted box for that long, flagged ``coasting``; the default is 0 because on PETS those
predicted boxes traded misses for about as many false positives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.config import TrackerConfig
from edge.perception.detections import Detections, iou_matrix, match
from edge.perception.tracking.appearance import FEATURES, similarity
from edge.perception.tracking.kalman import BoxKalman

IntArray = npt.NDArray[np.intp]
F32 = npt.NDArray[np.float32]
LOOK_KEEP = 0.9  # a track's appearance: this share of the old and the rest of the new match


class TrackerTimeError(ValueError):
    """Frame times must be finite and never go back within one sequence."""


@dataclass(frozen=True, slots=True)
class Tracks:
    """One frame's tracked people as parallel arrays, plus the ids that ended in this frame.

    ``ids`` int64 [M], ``xyxy`` float32 [M, 4] (the filtered box), ``observed`` float32
    [M, 4] (the detection matched in this frame as the detector drew it, NaN when coasting),
    ``scores`` float32 [M] (score of the last matched detection), ``coasting`` bool [M] (not
    matched in this frame: the box is predicted), ``ended`` int64 [E] (ids gone for good: drop
    any state kept for them).
    """

    ids: npt.NDArray[np.int64]
    xyxy: npt.NDArray[np.float32]
    observed: npt.NDArray[np.float32]
    scores: npt.NDArray[np.float32]
    coasting: npt.NDArray[np.bool_]
    ended: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.ids.shape[0])


class Tracker:
    """Turns each frame's :class:`Detections` and time into :class:`Tracks`; see module doc."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config if config is not None else TrackerConfig()
        self.reset()

    def reset(self) -> None:
        """Forget every track and restart ids at 1 and the clock: call between sequences."""
        self._kf = BoxKalman()
        self._ids = np.zeros(0, np.int64)  # 0 while tentative
        self._hits = np.zeros(0, np.int64)
        self._last_seen = np.zeros(0, np.float64)
        self._scores = np.zeros(0, np.float32)
        self._looks = np.zeros((0, FEATURES), np.float32)  # running appearance, 0: none yet
        self._next_id = 1
        self._t: float | None = None

    def update(self, detections: Detections, t: float, appearance: F32 | None = None) -> Tracks:
        """Advance to time ``t`` (seconds, any origin) with this frame's detections and their
        appearance [N, FEATURES] (rows of zeros: not described)."""
        cfg = self.config
        if not math.isfinite(t):
            raise TrackerTimeError(f"frame time must be a finite number of seconds, got {t}")
        if self._t is not None and t < self._t:
            raise TrackerTimeError(
                f"frame time went back from {self._t:.3f} s to {t:.3f} s; call reset() before "
                "feeding a new sequence"
            )
        first_frame = self._t is None
        seen_last_frame = self._last_seen == self._t
        self._kf.predict(0.0 if self._t is None else t - self._t)
        self._t = t

        scores = detections.scores
        iou = iou_matrix(self._kf.boxes(), detections.xyxy)
        free = scores >= cfg.low_score  # detections not taken yet
        taken = np.full(len(self._ids), -1, np.intp)  # each track's detection, -1: none

        def associate(
            tracks: npt.NDArray[np.bool_], dets: npt.NDArray[np.bool_], gate: float
        ) -> None:
            rows, cols = np.flatnonzero(tracks), np.flatnonzero(dets & free)
            if len(rows) and len(cols):
                r, c = match(iou[rows][:, cols], gate)
                taken[rows[r]] = cols[c]
                free[cols[c]] = False

        confirmed = self._ids > 0
        high = scores >= cfg.high_score
        associate(confirmed, high, cfg.match_iou)
        associate(confirmed & seen_last_frame & (taken < 0), ~high, cfg.low_match_iou)
        if appearance is not None and cfg.relink_similarity > 0:
            self._relink(detections, appearance, confirmed & (taken < 0), high & free, taken)
            free[taken[taken >= 0]] = False
        associate(~confirmed, high, cfg.match_iou)

        matched = taken >= 0
        rows, cols = np.flatnonzero(matched), taken[matched]
        self._kf.update(rows, detections.xyxy[cols])
        self._kf.stop_resizing(~matched)
        self._hits[rows] += 1
        self._last_seen[rows] = t
        self._scores[rows] = scores[cols]
        if appearance is not None:
            self._learn_looks(rows, appearance[cols])
        observed = np.full((len(self._ids), 4), np.nan, np.float32)
        observed[rows] = detections.xyxy[cols]

        expired = confirmed & (t - self._last_seen > cfg.max_lost_s)
        ended = self._ids[expired]
        keep = (confirmed | matched) & ~expired
        if not keep.all():
            self._keep(keep)
            observed = observed[keep]
        born = free & (scores >= cfg.new_track_score)
        if born.any():
            looks = appearance[born] if appearance is not None else None
            self._birth(detections[born], t, looks)
            observed = np.concatenate([observed, detections.xyxy[born]])
        self._confirm(self._hits >= (1 if first_frame else cfg.min_hits))
        return self._report(t, ended, observed)

    def _relink(
        self,
        detections: Detections,
        appearance: F32,
        tracks: npt.NDArray[np.bool_],
        dets: npt.NDArray[np.bool_],
        taken: IntArray,
    ) -> None:
        """Stage 4 of the module docstring: ``tracks`` take ``dets`` by appearance."""
        rows, cols = np.flatnonzero(tracks), np.flatnonzero(dets)
        if not (len(rows) and len(cols)):
            return
        predicted = self._kf.boxes()[rows].astype(np.float64)
        boxes = detections.xyxy[cols].astype(np.float64)
        centre = (predicted[:, None, :2] + predicted[:, None, 2:]) / 2
        gap = np.linalg.norm(centre - (boxes[None, :, :2] + boxes[None, :, 2:]) / 2, axis=2)
        tall = boxes[None, :, 3] - boxes[None, :, 1]
        ratio = (predicted[:, None, 3] - predicted[:, None, 1]) / np.maximum(tall, 1e-6)
        near = (gap <= self.config.relink_gate * tall) & (ratio > 2 / 3) & (ratio < 1.5)
        alike = similarity(self._looks[rows], appearance[cols]) * near
        r, c = match(alike, self.config.relink_similarity)
        taken[rows[r]] = cols[c]

    def _learn_looks(self, rows: IntArray, looks: F32) -> None:
        """Fold described matches into their tracks' running appearance."""
        described = looks.any(axis=1)
        rows, looks = rows[described], looks[described]
        old = self._looks[rows]
        fresh = ~old.any(axis=1, keepdims=True)
        mixed = np.where(fresh, looks, LOOK_KEEP * old + (1 - LOOK_KEEP) * looks)
        norm = np.linalg.norm(mixed, axis=1, keepdims=True)
        self._looks[rows] = mixed / np.maximum(norm, 1e-12)

    def _keep(self, rows: npt.NDArray[np.bool_]) -> None:
        """Drop every track outside ``rows``."""
        self._kf.keep(rows)
        self._ids, self._hits = self._ids[rows], self._hits[rows]
        self._last_seen, self._scores = self._last_seen[rows], self._scores[rows]
        self._looks = self._looks[rows]

    def _birth(self, detections: Detections, t: float, looks: F32 | None) -> None:
        """Start one tentative track per detection (``looks``: their appearance, or none)."""
        n = len(detections)
        self._kf.add(detections.xyxy)
        self._ids = np.concatenate([self._ids, np.zeros(n, np.int64)])
        self._hits = np.concatenate([self._hits, np.ones(n, np.int64)])
        self._last_seen = np.concatenate([self._last_seen, np.full(n, t)])
        self._scores = np.concatenate([self._scores, detections.scores])
        new = looks if looks is not None else np.zeros((n, FEATURES), np.float32)
        self._looks = np.concatenate([self._looks, new])

    def _confirm(self, rows: npt.NDArray[np.bool_]) -> None:
        """Give the tentative tracks in ``rows`` the next free ids."""
        new = np.flatnonzero(rows & (self._ids == 0))
        if not len(new):
            return
        self._ids[new] = np.arange(self._next_id, self._next_id + len(new))
        self._next_id += len(new)

    def _report(
        self, t: float, ended: npt.NDArray[np.int64], observed: npt.NDArray[np.float32]
    ) -> Tracks:
        lost_s = t - self._last_seen
        shown = (self._ids > 0) & (lost_s <= self.config.coast_s)
        return Tracks(
            ids=self._ids[shown],
            xyxy=self._kf.boxes()[shown],
            observed=observed[shown],
            scores=self._scores[shown],
            coasting=lost_s[shown] > 0,
            ended=ended,
        )
