"""Cue ground truth: who in a clip walks up to the counter, and when they cross each ring.

Cues are judged on what a person at the counter would say happened, not on what the tracker
reports, so each labelled clip has a small committed YAML file in ``cue_truth/`` (one per clip,
named after it). Schema (every key is checked; unknown keys are errors)::

    clip: intel/worker-zone-detection.gif   # under the footage folder (GREETCUE_FOOTAGE)
    config: worker-zone.yaml                # the deploy/examples configuration with the counter
    labelled: by hand                       # or: derived (from ground truth, by a command)
    method: how the labels were made (frames looked at, rules applied, the command)
    ground_truth:                           # optional: per-frame boxes (PETS/CVML XML) that
      file: PETS2009-S2L1.xml               #   tell people apart better than the hints; file
      frame_offset: 250                     #   beside the clip; the clip's frame 0 is this one
    people:
      - id: 1                               # unique; the ground truth's id when there is one
        class: approaching                  # approaching | passing | standing | leaving
        seen:                               # rough boxes [x1, y1, x2, y2] in source pixels, the
          - {t: 0.0, box: [160, 60, 230, 180]}   # first at first sight; more help matching
        last_seen_s: 4.2
        rings:                              # approaching only: one mapping per walk-in (a person
          - {10.0: 0.9, 5.0: 2.3}           #   who leaves beyond the outer ring and comes back
                                            #   walks in again): ring radius (ft) -> time (s
                                            #   from clip start) of the inward crossing
        note: free text

Times are the clip's own media time (frame index / the rate the file states), the clock the
replays run on.
"""

from __future__ import annotations

from bisect import bisect_right
from functools import cached_property
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Literal, Self

import yaml
from pydantic import ConfigDict, Field, ValidationError, model_validator

from edge.config.base import Strict
from edge.plumbing.config_errors import invalid

TRUTH_DIR = Path(__file__).parent / "cue_truth"
Seconds = Annotated[float, Field(ge=0.0)]
Box = tuple[float, float, float, float]
PersonClass = Literal["approaching", "passing", "standing", "leaving"]


class TruthError(ValueError):
    """A cue truth file is missing or does not follow the schema."""


class Sighting(Strict):
    """Where a person is at ``t``: a rough box, enough to tell them from the others."""

    t: Seconds
    box: Box

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        x1, y1, x2, y2 = self.box
        if not (x1 < x2 and y1 < y2):
            raise ValueError(f"box {list(self.box)} must be [x1, y1, x2, y2] with x1 < x2, y1 < y2")
        return self


class Person(Strict):
    """One person in the clip, their class relative to the counter and, when they approach,
    the time they cross each ring."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: int = Field(ge=0)
    kind: PersonClass = Field(alias="class")
    seen: list[Sighting] = Field(min_length=1)
    last_seen_s: Seconds
    rings: list[dict[float, Seconds]] = Field(default_factory=list)
    note: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        times = [s.t for s in self.seen]
        if times != sorted(times) or self.last_seen_s < times[-1]:
            raise ValueError("seen times must rise and end at or before last_seen_s")
        if self.rings and self.kind != "approaching":
            raise ValueError(f"only an approaching person crosses rings, not a {self.kind} one")
        if self.kind == "approaching" and not all(self.rings or [{}]):
            raise ValueError("an approaching person needs each walk-in's time of at least one ring")
        crossings = [walk[r] for walk in self.rings for r in sorted(walk, reverse=True)]
        if crossings != sorted(crossings):
            raise ValueError(f"rings {self.rings} must be crossed outer first, walk-ins in order")
        return self

    def walk_in_at(self, t: float) -> int:
        """The walk-in a moment belongs to: consecutive walk-ins part halfway between one's last
        labelled crossing and the next one's first."""
        bounds = [(max(a.values()) + min(b.values())) / 2 for a, b in pairwise(self.rings)]
        return bisect_right(bounds, t)

    @property
    def first_seen_s(self) -> float:
        """When the person comes into view."""
        return self.seen[0].t


class BoxTruth(Strict):
    """Per-frame ground-truth boxes beside the clip (PETS/CVML XML)."""

    file: str
    frame_offset: int = Field(0, ge=0)


class CueTruth(Strict):
    """One clip's labels (the module docstring has the schema)."""

    clip: str
    config: str
    labelled: Literal["derived", "by hand"]
    method: str
    ground_truth: BoxTruth | None = None
    people: list[Person]

    @model_validator(mode="after")
    def _unique(self) -> Self:
        ids = [p.id for p in self.people]
        if len(ids) != len(set(ids)):
            raise ValueError(f"person ids must be unique, got {sorted(ids)}")
        return self

    @cached_property
    def approaching(self) -> list[Person]:
        """The people who should be cued."""
        return [p for p in self.people if p.kind == "approaching"]


def truth_name(clip: str) -> str:
    """The truth file's name for a clip: its path under the footage folder, flattened."""
    return Path(clip).with_suffix("").as_posix().replace("/", "-") + ".yaml"


def truth_files(folder: Path = TRUTH_DIR) -> list[Path]:
    """Every committed truth file, in name order."""
    return sorted(folder.glob("*.yaml"))


def load_truth(path: Path) -> CueTruth:
    """Read and validate one truth file; errors name the file, the key and the fix."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TruthError(
            f"cue truth {path} cannot be read ({exc.strerror}); check the path"
        ) from None
    except yaml.YAMLError as exc:
        raise TruthError(f"cue truth {path} is not valid YAML: {exc}") from None
    try:
        return CueTruth.model_validate(data)
    except ValidationError as exc:
        hint = "; the schema is in edge/tools/evaluation/cue_labels.py"
        raise TruthError(invalid(f"cue truth {path}", exc, hint)) from None


class _Dumper(yaml.SafeDumper):
    """Boxes and sightings on one line each, as a person writes them by hand."""


_Dumper.add_representer(
    tuple, lambda dumper, box: dumper.represent_sequence("tag:yaml.org,2002:seq", box, True)
)


def dump_truth(truth: CueTruth) -> str:
    """The YAML text of ``truth``, keys in schema order, so a derived file is reproducible."""
    data = truth.model_dump(by_alias=True, exclude_defaults=True)
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True)
