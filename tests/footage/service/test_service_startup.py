"""`greetcue run` starting up as a user meets it: a file that is no video, a taken metrics port,
a second camera's service beside the first on the embedded broker, a scene with nobody in it."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.config import Config, EmbeddedBrokerConfig, write_config
from edge.service.connections import Runtime
from edge.service.delivery.broker import Mosquitto, free_port
from edge.service.service import Service
from tests.support.kiosk import PART0, kiosk_config
from tests.support.mosquitto_fixture import Received, Subscriber
from tests.support.network import lan_address, publish, reachable

WAIT_S = 60.0  # guards a hung test only
AVAILABILITY = "greetcue/pets2009/{camera}/availability"


def run_command(config: Path, source: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "edge.cli",
        "run",
        "--config",
        str(config),
        "--source",
        str(source),
    ]


def finished(config: Path, source: Path) -> subprocess.CompletedProcess[str]:
    """``greetcue run`` to its end, as a user types it."""
    command = run_command(config, source)
    return subprocess.run(command, capture_output=True, text=True, timeout=WAIT_S, check=False)


def states(messages: list[Received], camera: str = "view001") -> list[bytes]:
    return [m.payload for m in messages if m.topic == AVAILABILITY.format(camera=camera)]


def settled(seen: Subscriber) -> list[Received]:
    """Everything the broker got before now: a marker published last has come through."""
    publish(seen.port, "test/settled", b"")
    return seen.wait_for(lambda ms: any(m.topic == "test/settled" for m in ms))


@pytest.fixture
def garbage(tmp_path: Path) -> Path:
    path = tmp_path / "garbage.mp4"
    path.write_bytes(np.random.default_rng(1).bytes(200_000))
    return path


@pytest.fixture
def no_frames(tmp_path: Path) -> Path:
    """A well-formed video file holding not one frame."""
    path = tmp_path / "empty.avi"
    cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10, (64, 48)).release()
    return path


@pytest.mark.model
@pytest.mark.parametrize("video", ["garbage", "no_frames"])
def test_a_file_that_is_no_video_fails_naming_it_and_never_says_online(
    video: str, request: pytest.FixtureRequest, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    source: Path = request.getfixturevalue(video)
    config = write_config(kiosk_config(mosquitto.port, tmp_path), tmp_path / "c.yaml")
    with Subscriber(mosquitto.port, "#") as seen:
        result = finished(config, source)
        messages = settled(seen)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert f"error: {source}: " in output and ("give a video" in output or "not a video" in output)
    assert b"online" not in states(messages)


@pytest.mark.model
def test_a_taken_metrics_port_names_the_port_the_key_and_the_fix(
    mosquitto: Mosquitto, tmp_path: Path, footage_dir: Path
) -> None:
    with Subscriber(mosquitto.port, "#") as seen, _held_port() as taken:
        config = kiosk_config(mosquitto.port, tmp_path, metrics_port=taken)
        result = finished(write_config(config, tmp_path / "c.yaml"), footage_dir / PART0)
        messages = settled(seen)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert f"127.0.0.1:{taken}" in output and "service.metrics_port" in output
    assert "set service.metrics_port to a free port" in output
    assert b"online" not in states(messages)


def test_prometheus_metrics_serve_this_box_only_by_default(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    with Runtime(kiosk_config(mosquitto.port, tmp_path, metrics_port=0)) as runtime:
        assert runtime.metrics_port is not None
        assert reachable("127.0.0.1", runtime.metrics_port)
        assert not reachable(lan_address(), runtime.metrics_port)


@pytest.mark.model
def test_a_scene_with_nobody_in_it_runs_without_errors(
    mosquitto: Mosquitto, tmp_path: Path, model_cache: Path
) -> None:
    clip = tmp_path / "empty-store.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"MJPG"), 10, (768, 576))
    for _ in range(20):
        writer.write(np.full((576, 768, 3), 120, np.uint8))
    writer.release()
    result = Service(kiosk_config(mosquitto.port, tmp_path), str(clip)).run()
    assert (result.frames, result.errors, result.events) == (20, 0, 0)


@pytest.mark.footage
@pytest.mark.model
def test_a_second_service_shares_the_first_ones_embedded_broker_and_never_stops_it(
    tmp_path: Path, footage_dir: Path, model_cache: Path
) -> None:
    broker = EmbeddedBrokerConfig(port=free_port(), state_dir=tmp_path / "broker")
    first = _camera(tmp_path / "first", "view001", broker)
    second = _camera(tmp_path / "second", "view002", broker)
    with _service(first, footage_dir / PART0, tmp_path / "first.log") as one:
        pid_file = tmp_path / "broker" / "mosquitto.pid"
        seen = _watch(broker.port, one, tmp_path / "first.log")
        seen.wait_for(lambda ms: states(ms)[-1:] == [b"online"], WAIT_S)
        broker_pid = pid_file.read_text().split()[0]
        with _service(second, footage_dir / PART0, tmp_path / "second.log") as two:
            seen.wait_for(lambda ms: states(ms, "view002")[-1:] == [b"online"], WAIT_S)
            two.send_signal(signal.SIGTERM)
            assert two.wait(WAIT_S) == 0, (tmp_path / "second.log").read_text()[-3000:]
        assert pid_file.read_text().split()[0] == broker_pid
        assert _is_running(int(broker_pid)), "the first service's broker still runs"
        later = len(seen.messages)
        seen.wait_for(lambda ms: any("view001/metrics" in m.topic for m in ms[later:]), WAIT_S)
        seen.disconnect()
        one.send_signal(signal.SIGTERM)
        assert one.wait(WAIT_S) == 0, (tmp_path / "first.log").read_text()[-3000:]
    assert "already runs for process" in (tmp_path / "second.log").read_text()


def _camera(state: Path, name: str, broker: EmbeddedBrokerConfig) -> Path:
    config: Config = kiosk_config(None, state)
    camera = config.camera.model_copy(update={"name": name})
    config = config.model_copy(update={"camera": camera, "embedded_broker": broker})
    state.mkdir(parents=True, exist_ok=True)
    return write_config(config, state / "config.yaml")


@contextmanager
def _service(config: Path, source: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``greetcue run --realtime`` as a process; killed on the way out whatever happened."""
    with log.open("ab") as out:
        command = [*run_command(config, source), "--realtime"]
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def _watch(port: int, service: subprocess.Popen[bytes], log: Path) -> Subscriber:
    """A subscriber on the embedded broker, once the service has it listening."""
    deadline = time.monotonic() + WAIT_S
    while not reachable("127.0.0.1", port):
        assert service.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.1)
    return Subscriber(port, "greetcue/#").connect()


def _is_running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie has no command line)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes() != b""
    except OSError:
        return False


@contextmanager
def _held_port() -> Iterator[int]:
    """A port another program listens on, for the duration of the ``with``."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])
