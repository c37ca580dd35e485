"""Configuration: defaults, the design.md contract keys, and errors that name the key and fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from edge.cli import app
from edge.config import ConfigError, load_config, parse_config, write_config
from edge.service.service import Service
from tests.support.paths import REPO

EXAMPLES = REPO / "deploy" / "examples"
FOUR_POINTS = [
    {"pixel": [100, 400], "floor_ft": [-3, 4]},
    {"pixel": [540, 400], "floor_ft": [3, 4]},
    {"pixel": [200, 250], "floor_ft": [-3, 12]},
    {"pixel": [440, 250], "floor_ft": [3, 12]},
]


def test_defaults_follow_the_10_5_3_rule() -> None:
    config = load_config(None)
    assert [(z.name, z.radius_ft) for z in config.zones] == [("10ft", 10), ("5ft", 5), ("3ft", 3)]
    assert config.mqtt is None
    assert config.counter.position_ft == (0.0, 0.0)


def test_design_contract_keys_load_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "greetcue.yaml"
    path.write_text(
        "site: store-9\n"
        "camera: {name: door, source: rtsp://cam/1, hfov_deg: 90}\n"
        f"calibration: {{floor_points: {FOUR_POINTS}}}\n"
        "counter: {position_ft: [0, 1.5]}\n"
        "zones: [{name: near, radius_ft: 4}]\n"
        "mqtt: {host: broker.local, port: 8883}\n"
    )
    config = load_config(path)
    assert config.site == "store-9"
    assert config.camera.source == "rtsp://cam/1"
    assert config.calibration is not None and len(config.calibration.floor_points or []) == 4
    assert config.mqtt is not None and config.mqtt.port == 8883


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"camra": {}}, "camra: unknown key"),
        ({"camera": {"hfov_deg": 400}}, "camera.hfov_deg"),
        ({"camera": {"hfov_deg": None}}, "hfov_deg (lens field of view) or focal_px"),
        ({"camera": {"distortion": [0.1, 0.2, 0.3]}}, "give 4 or 5"),
        ({"zones": [{"name": "x", "radius_ft": -1}]}, "zones.0.radius_ft"),
        ({"calibration": {"floor_points": FOUR_POINTS[:3]}}, "at least 4"),
        ({"calibration": {}}, "exactly one of floor_points or aruco"),
        ({"mqtt": {"port": 70000}}, "got 70000"),
        ([1, 2], "must be a mapping"),
    ],
)
def test_bad_values_name_the_key_and_the_fix(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=None) as caught:
        parse_config(data)
    assert message in str(caught.value)


def test_missing_file_and_bad_yaml_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("site: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken)


@pytest.mark.parametrize(
    "data",
    [
        {"service": {"metrics_port": None}},  # "off" must not reload as the default 9464
        {"mqtt": {"discovery_prefix": None, "tls": None}, "cues": {"zones": None}},
        {"calibration": {"floor_points": FOUR_POINTS}, "presence": {"exclusion_ft": None}},
    ],
)
def test_a_written_config_reads_back_equal_explicit_nulls_included(
    tmp_path: Path, data: dict[str, object]
) -> None:
    config = parse_config(data)
    assert load_config(write_config(config, tmp_path / "written.yaml")) == config


def test_the_examples_read_back_equal(tmp_path: Path) -> None:
    for example in sorted(EXAMPLES.glob("*.yaml")):
        config = load_config(example)
        assert load_config(write_config(config, tmp_path / example.name)) == config


@pytest.mark.parametrize(
    ("calibration", "missing"),
    [
        (None, "calibration: missing"),
        ({"aruco": {"size_ft": 1.0}}, "calibration.aruco: "),
        ({"camera_file": "no-such-camera.yaml"}, "calibration.camera_file: "),
    ],
)
def test_config_check_refuses_what_run_refuses_and_names_the_fix(
    tmp_path: Path, calibration: dict[str, object] | None, missing: str
) -> None:
    path = tmp_path / "camera.yaml"
    path.write_text(yaml.safe_dump({"calibration": calibration}))
    checked = CliRunner().invoke(app, ["config", "check", str(path)])
    assert checked.exit_code == 1, checked.output
    assert missing in checked.output and "greetcue calibrate" in checked.output
    with pytest.raises(ConfigError) as refused:
        Service(load_config(path))
    assert missing in str(refused.value) and "greetcue calibrate" in str(refused.value)


def test_config_check_passes_a_calibrated_camera(tmp_path: Path) -> None:
    path = tmp_path / "camera.yaml"
    path.write_text(yaml.safe_dump({"calibration": {"floor_points": FOUR_POINTS}}))
    checked = CliRunner().invoke(app, ["config", "check", str(path)])
    assert checked.exit_code == 0 and "ready for `greetcue run`" in checked.output
