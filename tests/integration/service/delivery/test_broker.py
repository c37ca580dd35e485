"""The private Mosquitto dies with its parent, and a leftover of its folder is stopped at start."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.config import EmbeddedBrokerConfig
from edge.contract import MAX_PAYLOAD_BYTES
from edge.service.delivery import broker as broker_module
from edge.service.delivery.broker import Mosquitto, free_port
from tests.support.mosquitto_fixture import Subscriber
from tests.support.network import lan_address, publish, reachable

pytestmark = [
    pytest.mark.integration,  # starts real Mosquitto brokers
    pytest.mark.skipif(
        not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG and /proc are Linux's"
    ),
]
WAIT_S = 10.0  # guards against a hung test only; never a speed requirement

CHILD = """
import sys, time
from pathlib import Path
from edge.service.delivery import broker
if sys.argv[3] == "no-pdeathsig":
    broker.parent_death_signal = lambda *_: None  # a broker that outlives us, as on macOS
mosquitto = broker.Mosquitto(Path(sys.argv[1]), int(sys.argv[2])).start()
print(mosquitto.pid, flush=True)
time.sleep(60)
"""


def is_mosquitto(pid: int) -> bool:
    """Whether ``pid`` still runs Mosquitto (a zombie does not: its command line is empty)."""
    args = broker_module._command_line(pid)
    return bool(args) and "mosquitto" in Path(args[0]).name


def wait_gone(pid: int, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while is_mosquitto(pid):
        assert time.monotonic() < deadline, f"Mosquitto {pid} still runs"
        time.sleep(0.05)


def broker_in_child(
    folder: Path, port: int, mode: str = "pdeathsig"
) -> tuple[subprocess.Popen[str], int]:
    """A python process that started a Mosquitto, and the broker's pid."""
    args = [sys.executable, "-c", CHILD, str(folder), str(port), mode]
    child = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    return child, int(child.stdout.readline())


def kill_9(child: subprocess.Popen[str]) -> None:
    child.kill()  # SIGKILL
    child.wait()
    assert child.stdout is not None
    child.stdout.close()


@pytest.fixture
def leftovers() -> Iterator[list[int]]:
    """Broker pids a failing test may leave behind: killed at the end whatever happens."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if is_mosquitto(pid):
            os.kill(pid, signal.SIGKILL)


def test_kill_9_of_the_service_takes_the_broker_with_it(
    tmp_path: Path, leftovers: list[int]
) -> None:
    folder, port = tmp_path / "mosquitto", free_port()
    child, pid = broker_in_child(folder, port)
    leftovers.append(pid)
    assert is_mosquitto(pid)
    kill_9(child)
    wait_gone(pid)
    with Mosquitto(folder, port) as again:  # the port is free again
        assert again.running and again.port == port


def test_a_leftover_broker_of_the_same_folder_is_stopped_at_start(
    tmp_path: Path, leftovers: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    folder, port = tmp_path / "mosquitto", free_port()
    child, pid = broker_in_child(folder, port, "no-pdeathsig")
    leftovers.append(pid)
    kill_9(child)
    time.sleep(0.3)
    assert is_mosquitto(pid)  # orphaned, still on the port
    assert (folder / "mosquitto.pid").read_text().split()[0] == str(pid)
    with caplog.at_level(logging.WARNING), Mosquitto(folder, port) as again:
        assert not is_mosquitto(pid) and again.running and again.pid != pid
        assert (folder / "mosquitto.pid").read_text().split() == [str(again.pid), str(os.getpid())]
    assert f"stopping a leftover Mosquitto (pid {pid})" in caplog.text
    assert not (folder / "mosquitto.pid").exists()  # removed by a clean stop


def test_a_pid_file_naming_another_process_kills_nothing(tmp_path: Path) -> None:
    other = subprocess.Popen(["sleep", "30"])
    neighbour = Mosquitto(tmp_path / "neighbour").start()  # a Mosquitto, but not this folder's
    try:
        for pid in (other.pid, neighbour.pid, os.getpid(), 999_999_999):
            folder = tmp_path / f"broker-{pid}"
            folder.mkdir()
            (folder / "mosquitto.pid").write_text(f"{pid}\n")
            with Mosquitto(folder) as broker:
                assert broker.running
        assert other.poll() is None and neighbour.running
    finally:
        other.kill()
        other.wait()
        neighbour.stop()


def test_the_config_logs_errors_warnings_and_notices_only(tmp_path: Path) -> None:
    with Mosquitto(tmp_path / "mosquitto") as broker:
        lines = broker.config_file.read_text().splitlines()
    types = [line.split()[1] for line in lines if line.startswith("log_type")]
    assert types == ["error", "warning", "notice"]
    assert f"log_dest file {broker.log_file}" in lines


def test_a_broker_whose_owner_still_runs_is_shared_and_left_alone(
    tmp_path: Path, leftovers: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    folder, port = tmp_path / "mosquitto", free_port()
    child, pid = broker_in_child(folder, port)  # the first service, alive
    leftovers.append(pid)
    try:
        with caplog.at_level(logging.WARNING), Mosquitto(folder) as second:
            assert (second.shared_with, second.port, second.pid) == (child.pid, port, None)
            with Subscriber(second.port, "#", host=second.host):
                assert is_mosquitto(pid)
        assert is_mosquitto(pid), "the second service leaves the first one's broker running"
        assert (folder / "mosquitto.pid").read_text().split()[0] == str(pid)
        assert f"already runs for process {child.pid}" in caplog.text
    finally:
        kill_9(child)
    wait_gone(pid)


def test_the_embedded_broker_listens_on_localhost_only(tmp_path: Path) -> None:
    config = EmbeddedBrokerConfig(port=0, state_dir=tmp_path / "mosquitto")
    with Mosquitto.from_config(config, tmp_path) as broker:
        assert reachable("127.0.0.1", broker.port)
        assert not reachable(lan_address(), broker.port)


def test_the_embedded_broker_refuses_payloads_over_the_contract_limit(tmp_path: Path) -> None:
    config = EmbeddedBrokerConfig(port=0, state_dir=tmp_path / "mosquitto")
    with (
        Mosquitto.from_config(config, tmp_path) as broker,
        Subscriber(broker.port, "t/#") as seen,
    ):
        publish(broker.port, "t/big", b"x" * (MAX_PAYLOAD_BYTES + 1))
        publish(broker.port, "t/fits", b"x" * MAX_PAYLOAD_BYTES)
        seen.wait_for(lambda ms: any(m.topic == "t/fits" for m in ms))
    assert [m.topic for m in seen.messages] == ["t/fits"]  # the bigger one was sent first
