"""A private Mosquitto: the embedded broker of a box that works alone, and the tests' broker.

The broker gets a generated config in its own folder (listener on one local address,
persistence, optional password file), so it never touches the system Mosquitto and a restart
keeps its retained messages, sessions and queued messages (when stopped cleanly: Mosquitto saves
its database on SIGTERM, not on SIGKILL). It logs errors, warnings and notices (not each client
connection) to ``mosquitto.log`` in that folder; its own stdout/stderr go there too.

Stopped with the service: the service's runtime stops it (SIGTERM) on a clean shutdown, after
the MQTT link has said ``offline``. If the service dies without that (``kill -9``, a crash), on
Linux the kernel sends the broker SIGTERM (``PR_SET_PDEATHSIG``, set in the child before it
runs Mosquitto). As a last resort, ``mosquitto.pid`` in the folder names the broker that runs
and the process that started it; ``start`` stops a leftover one of the same folder, but only
if that process really is a Mosquitto running this folder's config file and the process that
started it is gone. While that process lives (a second camera's service on the box), ``start``
uses its broker and leaves it alone.

The broker listens on localhost only and refuses payloads over the contract's
``MAX_PAYLOAD_BYTES``, so nothing on the LAN can reach it or fill it.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import NoReturn, Self

from edge.config.service import EmbeddedBrokerConfig
from edge.contract import MAX_PAYLOAD_BYTES

log = logging.getLogger(__name__)

DEBIAN_PATH = Path("/usr/sbin/mosquitto")  # not on a normal user's PATH
START_TIMEOUT_S = 5.0
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class BrokerError(RuntimeError):
    """The private Mosquitto is missing or did not start."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (Mosquitto cannot listen on port 0 itself)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def find_executable(name: str) -> str:
    """The Mosquitto program's path, with the fix in the error when it is not installed."""
    found = shutil.which(name)
    if found is None and name == "mosquitto" and DEBIAN_PATH.is_file():
        found = str(DEBIAN_PATH)
    if found is None:
        raise BrokerError(
            f"Mosquitto executable {name!r} not found: install it with "
            "`sudo apt install mosquitto` (Debian / Raspberry Pi OS), set "
            "embedded_broker.executable to its path, or configure an mqtt section"
        )
    return found


_SYSTEMD_NOTIFY = frozenset({"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"})


def _without_systemd_notify() -> dict[str, str]:
    """The environment minus systemd's notify socket and watchdog (meant for the service)."""
    return {k: v for k, v in os.environ.items() if k not in _SYSTEMD_NOTIFY}


def parent_death_signal(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` making the child get ``sig`` when its parent dies (Linux), else None.

    The kernel sends it when the THREAD that started the child ends: start the broker from a
    thread that lives as long as the broker should (the service's main thread).
    """
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    prctl = libc.prctl  # looked up before the fork: the child only makes two system calls
    parent = os.getpid()

    def die_with_parent() -> None:
        if prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
            return  # the child still runs; its owner cleans up a leftover
        if os.getppid() != parent:  # the parent died before prctl: nobody will stop us
            os._exit(1)

    return die_with_parent


def _parent(pid: int) -> int | None:
    """The running process's parent pid; None when it is gone or unreadable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()  # after "pid (name) ": state, ppid, ...
    return int(fields[1]) if len(fields) > 1 else None


def _command_line(pid: int) -> list[str]:
    """The running process's arguments; [] when it is gone, a zombie or unreadable."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [arg.decode(errors="replace") for arg in raw.split(b"\0")[:-1]]


class Mosquitto:
    """One private Mosquitto process on ``host:port`` with its state in ``folder``.

    ``port=0`` picks a free port once; ``restart()`` keeps that port and the persistence folder.
    """

    def __init__(
        self,
        folder: Path,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        executable: str = "mosquitto",
        password_file: Path | None = None,
        extra_config: Sequence[str] = (),
        start_timeout_s: float = START_TIMEOUT_S,
    ) -> None:
        self.folder = Path(folder).absolute()  # a leftover is known by its command line
        self.host = host
        self._port = port
        self._executable = executable
        self._password_file = password_file
        self._extra_config = list(extra_config)  # more mosquitto.conf lines, e.g. acl_file
        self._start_timeout_s = start_timeout_s
        self._process: subprocess.Popen[bytes] | None = None
        self.shared_with: int | None = None  # the process whose running broker this one uses

    @classmethod
    def from_config(cls, config: EmbeddedBrokerConfig, default_state_dir: Path) -> Mosquitto:
        """The embedded broker of the service: state in ``state_dir`` or greetcue's state."""
        folder = config.state_dir or default_state_dir / "mosquitto"
        return cls(folder, config.port, executable=config.executable)

    @property
    def port(self) -> int:
        """The listening port (the chosen one once started with ``port=0``)."""
        return self._port

    @property
    def log_file(self) -> Path:
        return self.folder / "mosquitto.log"

    @property
    def config_file(self) -> Path:
        return self.folder / "mosquitto.conf"

    @property
    def pid_file(self) -> Path:
        """The running broker's process id (written by ``start``, removed by ``stop``)."""
        return self.folder / "mosquitto.pid"

    @property
    def pid(self) -> int | None:
        """The broker's process id while it runs."""
        return self._process.pid if self.running and self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> Self:
        """Writes the config, starts Mosquitto and waits until it accepts TCP connections; or,
        when another live process runs this folder's broker, uses that one as it is."""
        if self.running:
            return self
        executable = find_executable(self._executable)
        if self._share_or_stop_leftover():
            return self
        if self._port == 0:
            self._port = free_port(self.host)
        elif _port_in_use(self.host, self._port):
            raise BrokerError(
                f"cannot start Mosquitto: {self.host}:{self._port} is already in use (a system "
                "Mosquitto, see `systemctl status mosquitto`, or another greetcue service "
                "without an mqtt section); point every camera at one broker with an mqtt "
                "section, or set embedded_broker.port to a free port or 0"
            )
        self._write_config()
        with self.log_file.open("ab") as out:
            self._process = subprocess.Popen(
                [executable, "-c", str(self.config_file)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,  # a Ctrl-C meant for the service reaches us first
                env=_without_systemd_notify(),  # its READY=1 is not the service's
                preexec_fn=parent_death_signal(),
            )
        self.pid_file.write_text(f"{self._process.pid}\n{os.getpid()}\n")
        self._wait_until_listening()
        log.info("private Mosquitto on %s:%d (state in %s)", self.host, self._port, self.folder)
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """SIGTERM (Mosquitto saves its persistence database), then waits; SIGKILL if stuck."""
        process = self._process
        self.shared_with = None  # a shared broker is its owner's to stop
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                log.warning("Mosquitto did not stop within %.0f s; killing it", timeout_s)
                self.kill()
        self._forget()

    def kill(self) -> None:
        """SIGKILL: a crash; whatever Mosquitto had not saved yet is lost."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.kill()
            process.wait()
        self._forget()

    def restart(self) -> Self:
        """Stops (if running) and starts again on the same port with the same persistence."""
        self.stop()
        return self.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _forget(self) -> None:
        self._process = None
        with contextlib.suppress(OSError):
            self.pid_file.unlink()

    def _is_ours(self, pid: int) -> bool:
        """Whether ``pid`` runs Mosquitto with this folder's config file (never another one)."""
        args = _command_line(pid)
        config = str(self.config_file)
        return len(args) == 3 and "mosquitto" in Path(args[0]).name and args[1:] == ["-c", config]

    def _share_or_stop_leftover(self) -> bool:
        """Whether this folder's broker already runs for a live process (then it is used as
        it is); else stops a leftover of a previous run (its parent died without it)."""
        try:
            pid, *owner = (int(n) for n in self.pid_file.read_text().split())
        except (OSError, ValueError):
            return False
        if pid > 0 and pid != os.getpid() and self._is_ours(pid):
            if owner and _parent(pid) == owner[0]:
                self._share(pid, owner[0])
                return True
            log.warning("stopping a leftover Mosquitto (pid %d) of %s", pid, self.folder)
            for sig in (signal.SIGTERM, signal.SIGKILL):  # SIGTERM: it saves its database
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, sig)
                deadline = time.monotonic() + self._start_timeout_s
                while self._is_ours(pid) and time.monotonic() < deadline:
                    time.sleep(0.05)
                if not self._is_ours(pid):
                    break
        if not self._is_ours(pid):  # else it still runs (another user's?): start reports the port
            with contextlib.suppress(OSError):
                self.pid_file.unlink()
        return False

    def _share(self, pid: int, owner: int) -> None:
        """Use the broker ``owner`` started in this folder, on the address its config says."""
        lines: list[str] = []
        with contextlib.suppress(OSError):
            lines = self.config_file.read_text().splitlines()
        listener = next((line.split() for line in lines if line.startswith("listener ")), [])
        if len(listener) != 3 or not listener[1].isdigit():
            raise BrokerError(
                f"Mosquitto (pid {pid}) runs {self.config_file}, which names no listener; "
                f"stop process {owner} or give this service another embedded_broker.state_dir"
            )
        self._port, self.host = int(listener[1]), listener[2]
        self.shared_with = owner
        log.warning(
            "Mosquitto of %s already runs for process %d (another greetcue service?): using it "
            "on %s:%d; it stops with that process. For several cameras on one box, point every "
            "service at one broker with an mqtt section",
            self.folder,
            owner,
            self.host,
            self._port,
        )

    def _write_config(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(self._config_text())

    def _config_text(self) -> str:
        lines = [
            "# generated by greetcue: edits are overwritten on the next start",
            f"listener {self._port} {self.host}",
            "persistence true",
            f"persistence_location {self.folder}",
            "persistence_file mosquitto.db",
            f"log_dest file {self.log_file}",
            "log_type error",
            "log_type warning",
            "log_type notice",  # not information: a line per client connection adds up
            "log_timestamp_format %Y-%m-%dT%H:%M:%S",
            "set_tcp_nodelay true",  # small messages go out at once, not after Nagle's wait
            # a subscriber that is away (the dashboard restarting) keeps up to this many
            # QoS 1 messages; the default 1000 would drop events after a few minutes
            "max_queued_messages 200000",
            # QoS 1 messages in flight to one client: the default 20 caps a subscriber that
            # acknowledges after storing (the dashboard) at a few hundred messages a second
            "max_inflight_messages 1000",
            # the contract's largest payload: a bigger one is refused, never stored or queued
            f"message_size_limit {MAX_PAYLOAD_BYTES}",
        ]
        if self._password_file is not None:
            lines += ["allow_anonymous false", f"password_file {self._password_file}"]
        else:
            lines.append("allow_anonymous true")
        if os.geteuid() == 0:  # as root Mosquitto would switch to the `mosquitto` user
            lines.append(f"user {pwd.getpwuid(os.geteuid()).pw_name}")
        return "\n".join(lines + self._extra_config) + "\n"

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + self._start_timeout_s
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                code = None if self._process is None else self._process.returncode
                self._forget()
                self._fail(f"Mosquitto exited with status {code}")
            with contextlib.suppress(OSError):
                socket.create_connection((self.host, self._port), timeout=0.2).close()
                return
            time.sleep(0.05)
        self.kill()
        self._fail(f"Mosquitto did not accept connections within {self._start_timeout_s:.0f} s")

    def _fail(self, what: str) -> NoReturn:
        tail = ""
        with contextlib.suppress(OSError):
            tail = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-5:])
        raise BrokerError(
            f"{what} on {self.host}:{self._port}; see its log {self.log_file}"
            + (f":\n{tail}" if tail else "")
        )
