"""The systemd units of deploy/systemd and the sd_notify hooks that their watchdogs rely on.

``systemd-analyze verify`` checks that each unit's ExecStart programs exist, so the units are
checked with their ``/opt/greetcue/venv`` pointed at the virtual environment running these
tests, which holds a real ``greetcue`` (the debootstrap test verifies them in a real installed
root). The hooks are checked against a real unix datagram socket named by NOTIFY_SOCKET, as
systemd provides one: ``greetcue run`` on real footage and ``greetcue dashboard`` on a real
Mosquitto.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from edge.config import write_config
from edge.service.delivery.broker import Mosquitto, free_port
from edge.service.health.systemd import ServiceNotifier
from tests.support.kiosk import PART0, kiosk_config
from tests.support.paths import REPO

UNITS = REPO / "deploy" / "systemd"
SYSTEMD_ANALYZE = "/usr/bin/systemd-analyze"
INSTALLED_VENV = "/opt/greetcue/venv"
OK_EXPOSURE = 20  # tenths: systemd-analyze rates an exposure of 2.0 and under "OK"
WAIT_S = 120.0  # guards against a hung test only; never a speed requirement
INSTANCES = {
    "greetcue-edge@.service": "greetcue-edge@counter-1.service",
    "greetcue-ingest@.service": "greetcue-ingest@1.service",
    "greetcue-dashboard.service": "greetcue-dashboard.service",
}


def unit_settings(name: str) -> dict[str, list[str]]:
    """Every ``Key=value`` of a unit file (a key may repeat, as systemd allows)."""
    settings: dict[str, list[str]] = {}
    for line in (UNITS / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


@pytest.fixture(scope="module")
def rendered_units(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The units with the installed venv's path replaced by this test run's venv."""
    venv = Path(sys.prefix)
    assert (venv / "bin" / "greetcue").is_file(), f"no greetcue in {venv}: pip install -e ."
    out = tmp_path_factory.mktemp("units")
    for unit in UNITS.glob("*.service"):
        (out / unit.name).write_text(unit.read_text().replace(INSTALLED_VENV, str(venv)))
    return out


def test_the_units_are_the_three_services() -> None:
    assert sorted(p.name for p in UNITS.glob("*.service")) == sorted(INSTANCES)


@pytest.mark.parametrize("unit", sorted(INSTANCES.values()))
def test_systemd_analyze_verify_passes(rendered_units: Path, unit: str) -> None:
    done = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", str(rendered_units / unit)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", "no warnings (unknown keys, bad values)"


@pytest.mark.parametrize("unit", sorted(INSTANCES.values()))
def test_systemd_analyze_security_rates_the_units_ok(rendered_units: Path, unit: str) -> None:
    command = [SYSTEMD_ANALYZE, "security", "--offline=true", f"--threshold={OK_EXPOSURE}"]
    done = subprocess.run(
        [*command, str(rendered_units / unit)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


COMMON = [
    ("Type", "notify"),
    ("NotifyAccess", "main"),
    ("Restart", "on-failure"),
    ("StartLimitIntervalSec", "300"),
    ("StartLimitBurst", "5"),
    ("User", "greetcue"),
    ("StateDirectory", "greetcue"),
    ("EnvironmentFile", "/etc/greetcue/greetcue.env"),
    ("ProtectSystem", "strict"),
    ("ProtectHome", "true"),
    ("PrivateTmp", "true"),
    ("NoNewPrivileges", "true"),
    ("CapabilityBoundingSet", ""),
    ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
    ("SystemCallFilter", "@system-service"),
]
EDGE_DEVICES = [
    ("SupplementaryGroups", "gpio video"),
    ("DevicePolicy", "closed"),
    ("DeviceAllow", "char-video4linux rw"),
    ("DeviceAllow", "char-gpiochip rw"),
    ("DeviceAllow", "/dev/gpiomem rw"),
]


@pytest.mark.parametrize(
    ("unit", "key", "value"),
    [(unit, key, value) for unit in INSTANCES for key, value in COMMON]
    + [("greetcue-edge@.service", key, value) for key, value in EDGE_DEVICES]
    + [(u, "PrivateDevices", "true") for u in INSTANCES if not u.startswith("greetcue-edge")],
)
def test_units_set_restart_limits_watchdog_and_hardening(unit: str, key: str, value: str) -> None:
    assert value in unit_settings(unit).get(key, []), f"{unit}: {key}={value}"


@pytest.mark.parametrize("unit", sorted(INSTANCES))
def test_every_unit_has_a_watchdog(unit: str) -> None:
    (watchdog,) = unit_settings(unit)["WatchdogSec"]
    assert int(watchdog) > 0


def test_the_edge_service_runs_one_camera_config_per_instance() -> None:
    (command,) = unit_settings("greetcue-edge@.service")["ExecStart"]
    assert command == f"{INSTALLED_VENV}/bin/greetcue run --config /etc/greetcue/cameras/%i.yaml"


class NotifySocket:
    """A unix datagram socket like systemd's notify socket (abstract: no path-length limit),
    read on a thread as systemd reads it, at once. As with ``NotifyAccess=main``, only the
    messages of one process count: the sender's pid comes with each (SCM_CREDENTIALS)."""

    def __init__(self) -> None:
        self.name = f"@greetcue-test-{uuid.uuid4().hex}"
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self._socket.bind("\0" + self.name[1:])
        self.main_pid = os.getpid()
        self._received: list[tuple[int, str]] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def received(self) -> list[str]:
        """The main process's messages so far."""
        with self._changed:
            return [text for pid, text in self._received if pid == self.main_pid]

    def wait_for(self, message: str, timeout_s: float = WAIT_S) -> list[str]:
        """The main process's messages so far, once ``message`` has arrived from it."""
        with self._changed:
            arrived = self._changed.wait_for(lambda: message in self.received, timeout_s)
            assert arrived, f"no {message} within {timeout_s} s; got {self.received}"
        return self.received

    def close(self) -> None:
        self._socket.shutdown(socket.SHUT_RDWR)  # the reader's recvmsg returns no data: it ends
        self._reader.join(WAIT_S)
        self._socket.close()  # after the reader, which would otherwise read a closed socket

    def _read(self) -> None:
        credentials = struct.calcsize("3i")
        while True:
            data, ancillary, _flags, _address = self._socket.recvmsg(
                4096, socket.CMSG_SPACE(credentials)
            )
            if not data:
                return
            pid = next(
                struct.unpack("3i", payload[:credentials])[0]
                for level, kind, payload in ancillary
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS
            )
            with self._changed:
                self._received.append((pid, data.decode()))
                self._changed.notify_all()


@pytest.fixture
def notify_socket() -> Iterator[NotifySocket]:
    listener = NotifySocket()
    yield listener
    listener.close()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        # (seconds later, frame processed, camera online): the first turn pings at once.
        ([(0, True, True), (0.5, True, True), (1.1, True, True)], 2),
        ([(0, True, True), (1.1, False, True), (2.2, False, True)], 1),  # detector stuck
        ([(0, True, True), (1.1, False, False), (2.2, False, False)], 3),  # camera offline
        ([(0, False, False), (1.1, True, True), (2.2, False, True)], 2),  # a camera starting
        ([(0, True, True), (0.2, True, True), (0.4, True, True)], 1),  # at most every 1 s
    ],
)
def test_the_edge_pings_the_watchdog_only_while_healthy(
    notify_socket: NotifySocket,
    monkeypatch: pytest.MonkeyPatch,
    turns: list[tuple[float, bool, bool]],
    expected: int,
) -> None:
    clock = Clock()
    monkeypatch.setenv("NOTIFY_SOCKET", notify_socket.name)
    monkeypatch.setenv("WATCHDOG_USEC", "2000000")
    systemd = ServiceNotifier(clock)
    systemd.ready()
    for at, frame, online in turns:
        clock.now = at
        systemd.turned(frame, online)
    systemd.stopping()
    received = notify_socket.wait_for("STOPPING=1")
    assert received == ["READY=1", *["WATCHDOG=1"] * expected, "STOPPING=1"]


def test_without_a_watchdog_the_edge_says_only_ready_and_stopping(
    notify_socket: NotifySocket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", notify_socket.name)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    systemd = ServiceNotifier()
    systemd.ready()
    systemd.turned(True, True)
    systemd.stopping()
    assert notify_socket.wait_for("STOPPING=1") == ["READY=1", "STOPPING=1"]


def child_env(notify: NotifySocket, tmp_path: Path, watchdog_s: float) -> dict[str, str]:
    """The environment systemd gives a Type=notify service with WatchdogSec=watchdog_s."""
    env = dict(os.environ, NOTIFY_SOCKET=notify.name, WATCHDOG_USEC=str(int(watchdog_s * 1e6)))
    env["GREETCUE_STATE_DIR"] = str(tmp_path / "state")
    env.pop("WATCHDOG_PID", None)
    return env


@pytest.mark.footage
@pytest.mark.model
def test_greetcue_run_on_real_footage_notifies_systemd(
    notify_socket: NotifySocket, footage_dir: Path, model_cache: Path, tmp_path: Path
) -> None:
    config = write_config(kiosk_config(None, tmp_path), tmp_path / "kiosk.yaml")
    command = [sys.executable, "-m", "edge.cli", "run", "--config", str(config)]
    command += ["--source", str(footage_dir / PART0)]
    env = child_env(notify_socket, tmp_path, watchdog_s=1.0)
    service = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    notify_socket.main_pid = service.pid
    output, _ = service.communicate(timeout=WAIT_S)
    assert service.returncode == 0, output.decode()
    received = notify_socket.wait_for("STOPPING=1")
    assert_ready_pings_stopping(received)


def assert_ready_pings_stopping(received: list[str]) -> None:
    """READY=1 first, STOPPING=1 last, and watchdog pings between."""
    assert received[0] == "READY=1"
    assert received[-1] == "STOPPING=1"
    assert set(received[1:-1]) == {"WATCHDOG=1"}, received


@contextmanager
def start_dashboard(
    notify: NotifySocket,
    mosquitto: Mosquitto,
    tmp_path: Path,
    command: list[str],
    options: list[str],
) -> Iterator[subprocess.Popen[bytes]]:
    """``greetcue dashboard COMMAND --config C OPTIONS`` on a migrated database, as systemd
    starts it with a 0.4 s watchdog; ``notify`` listens to it; killed at the end."""
    config = tmp_path / "dashboard.yaml"
    config.write_text(f"broker: {{host: 127.0.0.1, port: {mosquitto.port}, shared_group: g}}\n")
    env = child_env(notify, tmp_path, watchdog_s=0.4)
    greetcue = [sys.executable, "-m", "edge.cli", "dashboard"]
    migrate = [*greetcue, "migrate", "--config", str(config)]
    subprocess.run(migrate, env=env, check=True, capture_output=True, timeout=WAIT_S)
    args = [*greetcue, *command, "--config", str(config), *options]
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    notify.main_pid = process.pid
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def test_the_dashboard_is_ready_once_it_listens_and_pings_while_it_ingests(
    notify_socket: NotifySocket, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    port = free_port()
    options = ["--host", "127.0.0.1", "--port", str(port)]
    with start_dashboard(notify_socket, mosquitto, tmp_path, [], options) as server:
        notify_socket.wait_for("READY=1")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=WAIT_S) as page:
            assert page.status == 200, "READY=1 means the server listens"
        notify_socket.wait_for("WATCHDOG=1")
        server.send_signal(signal.SIGTERM)
        received = notify_socket.wait_for("STOPPING=1")
        # uvicorn re-raises the SIGTERM once it has shut down; systemd counts that as clean.
        assert server.wait(WAIT_S) in (0, -signal.SIGTERM)
    assert_ready_pings_stopping(received)


def test_an_ingest_worker_is_ready_pings_and_says_it_stops(
    notify_socket: NotifySocket, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    with start_dashboard(
        notify_socket, mosquitto, tmp_path, ["ingest"], ["--worker", "1"]
    ) as worker:
        notify_socket.wait_for("READY=1")
        notify_socket.wait_for("WATCHDOG=1")
        worker.send_signal(signal.SIGTERM)
        received = notify_socket.wait_for("STOPPING=1")
        output, _ = worker.communicate(timeout=WAIT_S)
        assert worker.returncode == 0, output.decode()
    assert_ready_pings_stopping(received)


@pytest.mark.parametrize(
    ("device", "says"),
    [("greetcue-edge", "greetcue's own MQTT user"), ("a/b", "MQTT topic level"), ("", "")],
)
def test_install_sh_refuses_a_device_name_the_broker_acl_cannot_hold(
    device: str, says: str
) -> None:
    """A device's MQTT user name is its topic level (the ACL's %u): greetcue's own users or a
    name with a / would let it write where it must not. Refused before anything is changed."""
    done = subprocess.run(
        ["bash", str(REPO / "deploy" / "install.sh"), "--device", device],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert f"--device '{device}'" in done.stderr and says in done.stderr
