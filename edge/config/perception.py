"""Perception settings: the camera and its calibration, the counter, detector, tracker, ranging."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, model_validator

from edge.config.base import Pair, Strict
from edge.contract import RESERVED_CAMERA_NAMES, Name


class CameraConfig(Strict):
    """The camera: where frames come from and its lens."""

    name: Name = Field(
        "counter-1",
        description="camera name used in MQTT topics (letters, digits, - _ .; not cue or ack)",
    )
    source: int | str = Field(
        0, description="USB index, /dev/videoN, rtsp://..., http://..., a video file or folder"
    )
    hfov_deg: float | None = Field(
        66.0, gt=1, lt=179, description="horizontal field of view in degrees (or set focal_px)"
    )
    focal_px: Pair | None = Field(None, description="focal length in pixels [fx, fy]")
    principal_px: Pair | None = Field(
        None, description="principal point [cx, cy] in pixels; default: the image centre"
    )
    distortion: list[float] | None = Field(
        None, description="OpenCV distortion coefficients k1 k2 p1 p2 [k3]"
    )

    @model_validator(mode="after")
    def _check_distortion(self) -> Self:
        if self.name in RESERVED_CAMERA_NAMES:
            raise ValueError(
                f"camera.name {self.name!r} is a fixed topic level; call the camera otherwise"
            )
        if self.distortion is not None and len(self.distortion) not in (4, 5, 8):
            raise ValueError(
                f"camera.distortion has {len(self.distortion)} values; give 4 or 5 "
                "(k1 k2 p1 p2 [k3]) or 8, as OpenCV's calibrateCamera prints them"
            )
        if self.focal_px is None and self.hfov_deg is None:
            raise ValueError("camera needs hfov_deg (lens field of view) or focal_px [fx, fy]")
        return self


class FloorPoint(Strict):
    """One pixel <-> floor correspondence used to solve the camera pose."""

    pixel: Pair = Field(description="image position [u, v] in pixels")
    floor_ft: Pair = Field(description="floor position [x, y] in feet, counter coordinates")


class ArucoMarker(Strict):
    """An ArUco marker lying flat on the floor, found in a snapshot to solve the camera pose."""

    dictionary: str = Field("DICT_4X4_50", description="OpenCV ArUco dictionary name")
    id: int = Field(0, ge=0, description="marker id")
    size_ft: float = Field(gt=0, description="side length of the black square, in feet")
    floor_ft: Pair = Field((0.0, 0.0), description="floor position of the marker centre, in feet")
    yaw_deg: float = Field(
        0.0, description="rotation of the marker's x axis from the floor x axis, degrees"
    )


class CalibrationConfig(Strict):
    """How the camera pose is found: floor points, or an ArUco marker on the floor."""

    floor_points: list[FloorPoint] | None = Field(
        None, description="four or more pixel <-> floor pairs (floor in feet)"
    )
    aruco: ArucoMarker | None = Field(None, description="a marker lying on the floor")
    camera_file: Path | None = Field(
        None,
        description="camera solved by `greetcue calibrate --out`; when set, the edge process "
        "loads it instead of solving (needed with aruco: the marker is gone after set-up). "
        "A relative path is relative to the edge process's working directory",
    )
    max_residual_in: float = Field(
        6.0, gt=0, description="`greetcue calibrate` warns about floor points off by more (inches)"
    )

    @model_validator(mode="after")
    def _one_method(self) -> Self:
        if self.floor_points is not None and self.aruco is not None:
            raise ValueError("calibration needs exactly one of floor_points or aruco, not both")
        if self.floor_points is None and self.aruco is None and self.camera_file is None:
            raise ValueError(
                "calibration needs exactly one of floor_points or aruco "
                "(or a camera_file written by `greetcue calibrate --out`)"
            )
        if self.floor_points is not None and len(self.floor_points) < 4:
            raise ValueError(
                f"calibration.floor_points has {len(self.floor_points)} points; "
                "measure at least 4 spread over the floor area people walk on"
            )
        return self


class CounterConfig(Strict):
    """Where staff stand: distances are measured to this floor point."""

    position_ft: Pair = Field((0.0, 0.0), description="counter position on the floor, feet")


class TilesConfig(Strict):
    """Tiling: the detector runs on overlapping crops of the part of the frame where a person
    inside the outer zone can appear, so far customers are not shrunk away with the whole frame."""

    mode: Literal["auto", "off"] = Field(
        "auto",
        description="auto: plan tiles from the calibration and the outer zone (one whole-frame "
        "tile without a calibration); off: always the whole frame in one pass",
    )
    max_tiles: int = Field(
        2,
        ge=1,
        le=16,
        description="detector passes per frame at most; the tiles are scaled down just enough "
        "for this many to cover the region (each pass costs one inference)",
    )
    overlap: float = Field(
        1.0,
        ge=0,
        le=3,
        description="overlap of neighbouring tiles as a multiple of the largest person in the "
        "region (width across a vertical seam, height across a horizontal one), so one of the "
        "two tiles holds that person whole",
    )
    margin_ft: float = Field(
        6.0,
        ge=0,
        le=30,
        description="floor margin beyond the outer zone's ring that is covered too: people are "
        "tracked and their approach judged before they reach the ring (about 1 s of walking)",
    )
    scale_tolerance: float = Field(
        0.85,
        gt=0,
        le=1,
        description="fewer tiles are used when their scale is at least this share of the largest "
        "scale max_tiles allows (1: always the largest scale)",
    )
    person_height_ft: float = Field(
        6.5, gt=3, lt=9, description="height of the tallest person the region must hold (feet)"
    )
    seam_px: float = Field(
        4.0,
        ge=0,
        le=50,
        description="a box within this many detector-input pixels of a tile's inner edge is "
        "cut by the seam (its tile saw part of a person)",
    )
    merge_iou: float = Field(
        0.5, gt=0, lt=1, description="boxes of two tiles overlapping this much (IoU) are one person"
    )
    merge_ios: float = Field(
        0.6,
        gt=0,
        lt=1,
        description="a seam-cut box and another tile's box whose intersection covers this share "
        "of the smaller one are one person",
    )


class DetectorConfig(Strict):
    """Person detector: which model and how it runs."""

    model: str = Field("yolox-nano", description="model name from `greetcue models list`")
    threads: int = Field(1, ge=1, le=64, description="ONNX Runtime intra-op threads")
    score: float | None = Field(
        None, gt=0, lt=1, description="minimum person score; default: the model's own"
    )
    nms_iou: float | None = Field(
        None, gt=0, lt=1, description="NMS overlap threshold; default: the model's own"
    )
    spin: bool = Field(
        False,
        description="let ONNX Runtime threads spin while idle: a little faster with threads > 1, "
        "but burns CPU the rest of the box may need",
    )
    tiles: TilesConfig = Field(default_factory=lambda: TilesConfig())


class TrackerConfig(Strict):
    """Multi-person tracker (ByteTrack-style association, constant-velocity Kalman filter)."""

    high_score: float = Field(
        0.5, gt=0, lt=1, description="detections at or above this score are matched first"
    )
    low_score: float = Field(
        0.1,
        gt=0,
        lt=1,
        description="detections from here up to high_score only extend tracks; below: ignored",
    )
    new_track_score: float = Field(
        0.6, gt=0, lt=1, description="an unmatched detection needs this score to start a track"
    )
    match_iou: float = Field(
        0.1, gt=0, lt=1, description="minimum IoU of a high-score detection and a predicted box"
    )
    low_match_iou: float = Field(
        0.5, gt=0, lt=1, description="minimum IoU of a low-score detection and a predicted box"
    )
    min_hits: int = Field(
        2, ge=1, le=30, description="consecutive matches before a new track gets an id"
    )
    max_lost_s: float = Field(
        1.5, gt=0, le=60, description="a track unseen for longer than this (seconds) ends"
    )
    coast_s: float = Field(
        0.0,
        ge=0,
        le=60,
        description="also report tracks unseen for up to this long (seconds), at the predicted box",
    )
    relink_similarity: float = Field(
        0.8,
        ge=0,
        le=1,
        description="a lost track takes back a new strong box whose clothes' colours are this "
        "alike (Bhattacharyya coefficient of the torso's hue-saturation histograms) where the "
        "box overlap no longer reaches: a person keeps their id after an occlusion (0: off)",
    )
    relink_gate: float = Field(
        1.0,
        gt=0,
        le=10,
        description="... and whose centre is within this many box heights of where the lost "
        "track was predicted",
    )

    @model_validator(mode="after")
    def _check_scores(self) -> Self:
        if not self.low_score <= self.high_score <= self.new_track_score:
            raise ValueError(
                "tracker scores must satisfy low_score <= high_score <= new_track_score, got "
                f"{self.low_score} / {self.high_score} / {self.new_track_score}"
            )
        if self.coast_s > self.max_lost_s:
            raise ValueError(
                f"tracker.coast_s ({self.coast_s}) cannot exceed max_lost_s ({self.max_lost_s}): "
                "a track is only reported while it exists"
            )
        return self


class RangingConfig(Strict):
    """Distance to the counter from boxes on a calibrated camera."""

    head_height_ft: float = Field(
        5.583,
        gt=3,
        lt=8,
        description="head height (5 ft 7 in) assumed for cut-off boxes of a track whose own "
        "height is not learnt yet",
    )
    bottom_margin_px: float = Field(
        6.0,
        ge=0,
        le=50,
        description="a box within this many pixels of the bottom (or any) edge is cut off there",
    )
    head_height_sd_ft: float = Field(
        0.3,
        ge=0,
        le=2,
        description="spread of people's height around head_height_ft (feet); one person's "
        "error, the same on every frame: it never counts as movement",
    )
    body_width_ft: float = Field(
        1.6,
        gt=0.5,
        lt=5,
        description="apparent width of a person's box (shoulders and arms, feet), used to range "
        "cut-off boxes of a track whose own width is not learnt yet",
    )
    body_width_sd_ft: float = Field(
        0.3,
        ge=0,
        le=2,
        description="spread of people's apparent width around body_width_ft (feet); one "
        "person's error, the same on every frame: it never counts as movement",
    )
    learn_frames: int = Field(
        30,
        ge=1,
        le=1000,
        description="a track's own height and width are the median of its latest this many frames "
        "with the whole box in view",
    )
    learn_min_frames: int = Field(
        5,
        ge=1,
        le=1000,
        description="frames with the whole box in view before a track's own height and width "
        "replace head_height_ft and body_width_ft",
    )
    learnt_height_range_ft: Pair = Field(
        (4.5, 7.0), description="a track's learnt head height is clamped to [low, high] feet"
    )
    learnt_width_range_ft: Pair = Field(
        (1.0, 3.0), description="a track's learnt apparent width is clamped to [low, high] feet"
    )
    body_radius_ft: float = Field(
        0.5,
        ge=0,
        le=2,
        description="half a person's depth: box edges touch the body's near or far side, "
        "the position is its centre",
    )
    pixel_noise_px: float = Field(
        3.0, gt=0, le=50, description="jitter of a box edge between frames (measurement noise)"
    )
    step_noise_ft: float = Field(
        0.3, ge=0, le=5, description="jitter of the foot point as a person steps (feet)"
    )
    accel_noise_ftps2: float = Field(
        4.0, gt=0, le=50, description="how fast walking speed can change (ft/s^2, process noise)"
    )
    min_approach_ftps: float = Field(
        0.5, ge=0, le=10, description="slower approaches count as standing: no time-to-arrival"
    )
    motion_window_s: float = Field(
        1.0,
        ge=0.2,
        le=10,
        description="movement is judged over this window of a person's floor positions (s)",
    )
    motion_sigmas: float = Field(
        1.0,
        ge=0,
        le=10,
        description="a displacement over the window counts as movement (an approach, or walking "
        "at all) only beyond this many times the noise of the positions",
    )
    box_jump_share: float = Field(
        0.25,
        gt=0,
        le=5,
        description="a box whose height or top moves by more than this share of its height "
        "between frames (plus box_change_per_s), e.g. two people merged, is not used for speed",
    )
    box_change_per_s: float = Field(
        1.5,
        ge=0,
        le=20,
        description="share of its height a box may change per second as a person walks near",
    )

    @model_validator(mode="after")
    def _check_learning(self) -> Self:
        if self.learn_min_frames > self.learn_frames:
            raise ValueError(
                f"ranging.learn_min_frames ({self.learn_min_frames}) cannot exceed learn_frames "
                f"({self.learn_frames}): the size would never be learnt"
            )
        for key in ("learnt_height_range_ft", "learnt_width_range_ft"):
            low, high = getattr(self, key)
            if not 0 < low < high:
                raise ValueError(f"ranging.{key} must be [low, high] with 0 < low < high feet")
        return self
