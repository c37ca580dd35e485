"""A private, throw-away PostgreSQL server made with Debian's initdb, for the tests and the
dashboard bench (a fresh machine runs none, and the machine's own is never touched).

The cluster lives in a temporary folder, listens on 127.0.0.1 on a free port, trusts every
local connection, runs without fsync (durability is not under test) and is removed at the end.
As root (initdb refuses to run as root) the server runs as the ``postgres`` system user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import psycopg
from psycopg import sql

from edge.service.delivery.broker import free_port, parent_death_signal

START_TIMEOUT_S = 30.0  # guards against a hung start only; never a speed requirement
STOP_TIMEOUT_S = 30.0
PREFIX = "greetcue-pg-"  # the temporary folders' names
SERVER_USER = "postgres"  # the Debian package's system user, and the cluster's superuser
DEBIAN_ROOT = Path("/usr/lib/postgresql")  # Debian's /usr/lib/postgresql/VERSION/bin
PROGRAMS = ("initdb", "postgres", "pg_ctl")


class PostgresError(RuntimeError):
    """PostgreSQL is missing or would not start; the message names the fix."""


FIX = "install PostgreSQL with `apt-get install postgresql` or run `deploy/quickstart.sh setup`"
NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# Durability is not under test: skipping fsync makes initdb and every commit much faster.
FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def find_bin_dir() -> Path:
    """The folder holding initdb, postgres and pg_ctl of one PostgreSQL version; fails with
    the fix when there is none."""
    candidates: list[Path] = []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    debian = DEBIAN_ROOT.glob("*/bin")
    candidates += sorted(debian, key=lambda p: _version(p.parent.name), reverse=True)
    for folder in candidates:
        if all(os.access(folder / program, os.X_OK) for program in PROGRAMS):
            return folder
    raise PostgresError(
        f"PostgreSQL server programs ({', '.join(PROGRAMS)}) not found on PATH or under "
        f"{DEBIAN_ROOT}/*/bin: {FIX}"
    )


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name))


@dataclass
class PostgresServer:
    """One private PostgreSQL server; ``url_for`` names one of its databases for SQLAlchemy."""

    bin_dir: Path
    folder: Path
    host: str = "127.0.0.1"
    port: int = 0
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _uid: int | None = field(default=None, repr=False)
    _gid: int | None = field(default=None, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def log_file(self) -> Path:
        return self.folder / "server.log"

    def url_for(self, database: str) -> str:
        return f"postgresql+psycopg://{SERVER_USER}@{self.host}:{self.port}/{database}"

    def conninfo(self) -> str:
        """The libpq connection string psycopg takes (the ``postgres`` database)."""
        return f"host={self.host} port={self.port} user={SERVER_USER} dbname=postgres"

    def fresh_database(self, name: str) -> str:
        """Creates the empty database ``name`` (lower-case identifier) and returns its URL."""
        if not NAME.fullmatch(name):
            raise ValueError(f"database name {name!r} is not a plain lower-case identifier")
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url_for(name)

    @classmethod
    @contextmanager
    def temporary(cls) -> Iterator[Self]:
        """A new cluster, started; stopped and removed on leaving."""
        bin_dir = find_bin_dir()
        # Not under a private temp folder: the server user must be able to enter it.
        _remove_leftovers(Path(tempfile.gettempdir()))
        server = cls(bin_dir, Path(tempfile.mkdtemp(prefix=PREFIX)))
        try:
            server.init()
            server.start()
            yield server
        finally:
            server.stop()
            shutil.rmtree(server.folder, ignore_errors=True)

    def init(self) -> None:
        """Makes the cluster with initdb: superuser ``postgres``, trust auth, UTF-8."""
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam(SERVER_USER)
            except KeyError:
                raise PostgresError(
                    f"no {SERVER_USER!r} system user to run PostgreSQL as: {FIX}"
                ) from None
            self._uid, self._gid = user.pw_uid, user.pw_gid
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        options = [
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        ]
        self._run("initdb", ["-D", str(self.data_dir), "-U", SERVER_USER, *options])

    def start(self) -> None:
        """Starts the server on a free port and returns once it accepts connections."""
        for attempt in range(3):  # a free port can be taken before the server binds it
            self.port = free_port(self.host)
            settings = [f"listen_addresses={self.host}", f"unix_socket_directories={self.folder}"]
            args = [str(self.bin_dir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port)]
            for setting in [*settings, *FAST_SETTINGS]:
                args += ["-c", setting]
            with self.log_file.open("ab") as log:
                self._process = subprocess.Popen(
                    args,
                    cwd=self.folder,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    user=self._uid,
                    group=self._gid,
                    extra_groups=[] if self._uid is not None else None,
                    preexec_fn=parent_death_signal(signal.SIGINT),  # fast shutdown
                )
            if self._wait_ready():
                return
            if attempt == 2 or "could not bind" not in self._log_tail():
                break
        raise PostgresError(f"PostgreSQL did not start; {self.log_file}:\n{self._log_tail()}")

    def stop(self) -> None:
        """``pg_ctl stop -m fast``; kills the server if that does not stop it in time."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(subprocess.SubprocessError):
                self._run("pg_ctl", ["stop", "-D", str(self.data_dir), "-m", "fast", "-w"])
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT_S
        assert self._process is not None
        while time.monotonic() < deadline and self._process.poll() is None:
            try:
                with psycopg.connect(self.conninfo(), connect_timeout=2):
                    return True
            except psycopg.OperationalError:
                time.sleep(0.05)
        self.stop()
        return False

    def _run(self, program: str, args: list[str]) -> None:
        result = subprocess.run(
            [str(self.bin_dir / program), *args],
            cwd=self.folder,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            user=self._uid,
            group=self._gid,
            extra_groups=[] if self._uid is not None else None,
            timeout=START_TIMEOUT_S,
            check=False,
        )
        if result.returncode != 0:
            raise PostgresError(
                f"{program} {' '.join(args)} failed:\n{result.stdout}{result.stderr}"
            )

    def _log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        return ""


def _remove_leftovers(base: Path) -> None:
    """Removes the folders of earlier sessions killed before their finalizer ran: their server
    stopped with them (no postmaster.pid) and they are older than any start in progress."""
    for folder in base.glob(f"{PREFIX}*"):
        old = time.time() - folder.stat().st_mtime > 2 * START_TIMEOUT_S
        if old and not (folder / "data" / "postmaster.pid").exists():
            shutil.rmtree(folder, ignore_errors=True)
