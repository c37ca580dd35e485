"""The ESPHome wearable (deploy/wearables/): its configuration is valid to ESPHome's own
`esphome config`, subscribes to its device's cue topic and acks on its own ack topic; the cue
logic it includes (greetcue_cue.h) is compiled with g++ and checked against Python: expiry
judged from the edge's own `expires_at`, a pattern per zone."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
import yaml

from edge.contract import CueCommand, Topic, encode
from tests.support.paths import REPO

WEARABLES = REPO / "deploy" / "wearables"
CONFIG = WEARABLES / "greetcue-wearable.yaml"
HEADER = WEARABLES / "greetcue_cue.h"
SECRETS = {
    "wifi_ssid": "store",
    "wifi_password": "password123",
    "ota_password": "ota-secret",
    "ntp_server": "192.168.1.10",
    "mqtt_broker": "192.168.1.10",
    "mqtt_password": "device-secret",
}
FIX = "run ./deploy/quickstart.sh setup (it installs ESPHome into .venv-esphome)"


def _esphome() -> str:
    """ESPHome's command: $GREETCUE_ESPHOME, else the quickstart's tool environment."""
    found = os.environ.get("GREETCUE_ESPHOME") or str(REPO / ".venv-esphome" / "bin" / "esphome")
    if not Path(found).is_file():
        pytest.fail(f"ESPHome is not installed at {found}: {FIX}")
    return found


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The configuration as `esphome config` validates and prints it, with test secrets."""
    folder = tmp_path_factory.mktemp("wearable")
    for path in (CONFIG, HEADER):
        shutil.copy(path, folder)
    (folder / "secrets.yaml").write_text(yaml.safe_dump(SECRETS))
    done = subprocess.run(
        [_esphome(), "config", CONFIG.name],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Configuration is valid!" in done.stdout + done.stderr
    return dict(yaml.load(done.stdout, Loader=_Lenient))  # the validated configuration


class _Lenient(yaml.SafeLoader):
    """Reads ESPHome's printout: its !lambda and !secret tags as plain strings."""


_Lenient.add_multi_constructor("!", lambda loader, suffix, node: loader.construct_scalar(node))


def test_esphome_accepts_the_configuration_and_it_speaks_the_contract(
    checked: dict[str, object],
) -> None:
    substitutions = yaml.load(CONFIG.read_text(), Loader=_Lenient)["substitutions"]
    names = {"prefix": substitutions["prefix"], "site": substitutions["site"]}
    mqtt = checked["mqtt"]
    assert isinstance(mqtt, dict)
    assert mqtt["username"] == substitutions["device"]
    [subscription] = mqtt["on_json_message"]
    assert subscription["topic"] == Topic.CUE.build(device=substitutions["device"], **names)
    assert subscription["qos"] == 1
    ack = Topic.ACK.build(device=substitutions["device"], **names)
    assert ack in yaml.safe_dump(checked["binary_sensor"])
    assert mqtt.get("discovery") is False and mqtt.get("topic_prefix") in (None, "")


@pytest.fixture(scope="module")
def cue_logic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A command-line driver of greetcue_cue.h, built with g++: `now` and an expires_at per
    line in, `utc_seconds stale pulses on_ms off_ms` out (zone 5ft, reason zone)."""
    compiler = shutil.which("g++")
    if compiler is None:
        pytest.fail("g++ is not installed: apt-get install g++ (Debian's build-essential)")
    folder = tmp_path_factory.mktemp("cue-logic")
    (folder / "driver.cpp").write_text(
        '#include "greetcue_cue.h"\n#include <iostream>\n'
        "int main() { long long now; std::string iso, zone, reason;\n"
        "  while (std::cin >> now >> iso >> zone >> reason) {\n"
        "    auto p = greetcue::pattern_for(zone, reason);\n"
        "    std::cout << greetcue::utc_seconds(iso) << ' ' << greetcue::stale(iso, now) << ' '\n"
        "              << p.pulses << ' ' << p.on_ms << ' ' << p.off_ms << '\\n'; } }\n"
    )
    binary = folder / "driver"
    subprocess.run(
        [compiler, "-std=c++17", "-Wall", "-Werror", f"-I{WEARABLES}", "driver.cpp", "-o", binary],
        cwd=folder,
        check=True,
        timeout=120,
    )
    yield binary


def _run(binary: Path, lines: list[str]) -> list[list[int]]:
    out = subprocess.run(
        [binary], input="\n".join(lines) + "\n", capture_output=True, text=True, check=True
    )
    return [[int(v) for v in line.split()] for line in out.stdout.splitlines()]


@pytest.mark.parametrize(
    "at",
    [
        datetime(1970, 1, 1, tzinfo=UTC),  # the edge's clock before NTP set it
        datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC),  # a leap day
        datetime(2026, 3, 1, 0, 0, 0, 500000, tzinfo=UTC),
        datetime(2026, 12, 4, 23, 30, 5, 250000, tzinfo=UTC),
        datetime(2100, 3, 1, 12, 0, tzinfo=UTC),  # 2100 is no leap year
    ],
)
def test_the_expiry_the_edge_sends_is_read_to_the_second(cue_logic: Path, at: datetime) -> None:
    """The edge's own CueCommand, encoded as it goes on the wire: its expires_at, read on the
    device, is the same second; the cue is fresh a second before and stale from then on."""
    cue = CueCommand(
        cue_id=UUID("01a24335-a4f1-7354-82f4-66373fefdfdd"),
        site="store-1",
        camera="counter-1",
        device="wearable-1",
        zone="5ft",
        reason="zone",
        escalation=0,
        track_id=3,
        issued_at=at - timedelta(seconds=30),
        expires_at=at,
    )
    iso = json.loads(encode(cue))["expires_at"]
    expected = int(at.timestamp())
    rows = _run(cue_logic, [f"{expected - 1} {iso} 5ft zone", f"{expected} {iso} 5ft zone"])
    if expected <= 0:  # the epoch itself reads as a clock not yet set: taken
        assert rows[1][:2] == [expected, 0]
        return
    assert rows[0][:2] == [expected, 0] and rows[1][:2] == [expected, 1]


@pytest.mark.parametrize(
    "iso",
    ["", "tomorrow", "2026-12-04T23:30:00+01:00", "2026-13-04T23:30:00Z", "2026-12-04 23:30Z"],
)
def test_an_expiry_that_is_no_utc_time_makes_the_cue_stale(cue_logic: Path, iso: str) -> None:
    [[seconds, stale, *_]] = _run(cue_logic, [f"1800000000 {iso or '-'} 5ft zone"])
    assert (seconds, stale) == (-1, 1)


def test_before_the_clock_is_set_a_cue_is_taken(cue_logic: Path) -> None:
    """No time from NTP yet: a late buzz beats a missed customer."""
    [[_, stale, *_]] = _run(cue_logic, ["0 2026-12-04T23:30:00Z 5ft zone"])
    assert stale == 0


def test_each_zone_vibrates_as_the_counter_buzzer_counts_it(cue_logic: Path) -> None:
    """Pulse counts as the counter buzzer's default patterns (gpio.buzzer.patterns); a customer
    waiting gets long pulses; every pulse long enough to be felt through a pocket."""
    from edge.config.service import _default_patterns

    buzzer = _default_patterns()
    cases = [("10ft", "zone", "10ft"), ("5ft", "zone", "5ft"), ("3ft", "zone", "3ft")]
    cases.append(("3ft", "waiting", "waiting"))
    lines = [f"0 2026-12-04T23:30:00Z {zone} {reason}" for zone, reason, _ in cases]
    for row, (_, _, key) in zip(_run(cue_logic, lines), cases, strict=True):
        pulses, on_ms = row[2], row[3]
        assert pulses == (len(buzzer[key]) + 1) // 2, key
        assert on_ms >= 250, key
