"""The outbox: every event is on disk before it is published, so no outage or crash loses it.

SQLite in WAL mode: once ``add()`` returns, the rows survive a crash or ``kill -9`` of the
service; with ``outbox.sync: full`` (an fsync per write, slow on an SD card) also a power cut.
Row ids (AUTOINCREMENT, never reused) are the delivery order.

Bounds (``OutboxConfig``): an outbox only grows while the broker is unreachable, and a box must
not fill its SD card during a long outage. At ``max_rows`` unsent rows, or for rows older than
``max_age_s``, the OLDEST rows are dropped: the newest events matter most to a store that is
open now. Every drop is logged as a WARNING (how many, which bound) and counted (``dropped``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from edge.config.service import OutboxConfig

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL,
    retain INTEGER NOT NULL,
    created_wall REAL NOT NULL,
    captured_wall REAL
)
"""


class OutboxError(RuntimeError):
    """The outbox file cannot be opened or is not a greetcue outbox."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One MQTT message to publish; ``captured_wall`` (frame capture, epoch s) gives latency."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False
    captured_wall: float | None = None


@dataclass(frozen=True, slots=True)
class Pending:
    """A stored, not yet acknowledged message and its row id (the delivery order)."""

    rowid: int
    message: Outgoing
    created_wall: float


class Outbox:
    """Unsent messages in one SQLite file; safe to share between threads (one lock)."""

    def __init__(
        self,
        path: Path,
        config: OutboxConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self._config = config or OutboxConfig()
        self._clock = clock
        self._lock = threading.Lock()
        self._dropped = 0
        self._db = _open(self.path)
        self._db.execute(f"PRAGMA synchronous={self._config.sync.upper()}")
        self._depth = self._count()
        self.trim()

    @property
    def dropped(self) -> int:
        """Rows dropped at a bound since this outbox was opened."""
        return self._dropped

    def depth(self) -> int:
        """Unsent rows (kept in memory: cheap enough for every metrics tick)."""
        return self._depth

    def add(self, messages: Sequence[Outgoing]) -> list[int]:
        """Stores ``messages`` in one transaction (durable on return); returns their row ids."""
        if not messages:
            return []
        now = self._clock()
        rows = [(m.topic, m.payload, m.qos, int(m.retain), now, m.captured_wall) for m in messages]
        with self._writing():
            first = self._next_id()
            self._db.executemany(
                "INSERT INTO outbox (topic, payload, qos, retain, created_wall, captured_wall) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            self._depth += len(rows)
            aged, over = self._enforce_bounds(now)
        self._report(aged, over)
        return list(range(first, first + len(rows)))

    def pending(self, after_rowid: int = 0, limit: int = 100) -> list[Pending]:
        """Up to ``limit`` unsent rows after ``after_rowid``, oldest first."""
        with self._lock:
            cursor = self._db.execute(
                "SELECT id, topic, payload, qos, retain, created_wall, captured_wall "
                "FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
                (after_rowid, limit),
            )
            return [_pending(row) for row in cursor.fetchall()]

    def remove(self, rowids: Iterable[int]) -> int:
        """Deletes acknowledged rows; returns how many existed (a dropped row is not an error)."""
        ids = [(rowid,) for rowid in rowids]
        if not ids:
            return 0
        with self._writing():
            before = self._db.total_changes
            self._db.executemany("DELETE FROM outbox WHERE id = ?", ids)
            removed = self._db.total_changes - before
            self._depth -= removed
        return removed

    def trim(self) -> None:
        """Applies the age bound now (also done by ``add``): call it before republishing."""
        with self._writing():
            aged, over = self._enforce_bounds(self._clock())
        self._report(aged, over)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """One write transaction under the lock; the in-memory depth follows a rollback."""
        with self._lock:
            try:
                with self._db:  # COMMIT, or ROLLBACK on an exception
                    self._db.execute("BEGIN IMMEDIATE")
                    yield
            except sqlite3.Error:
                self._depth = self._count()
                raise

    def _next_id(self) -> int:
        row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
        return (int(row[0]) if row else 0) + 1

    def _count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def _enforce_bounds(self, now: float) -> tuple[int, int]:
        """Drops rows past ``max_age_s``, then the oldest beyond ``max_rows``; (aged, over)."""
        aged = 0
        # the oldest row by id (rows go in in time order): one index step, not a table scan
        row = self._db.execute("SELECT created_wall FROM outbox ORDER BY id LIMIT 1").fetchone()
        cutoff = now - self._config.max_age_s
        if row is not None and row[0] < cutoff:
            aged = self._db.execute("DELETE FROM outbox WHERE created_wall < ?", (cutoff,)).rowcount
        self._depth -= aged
        over = max(0, self._depth - self._config.max_rows)
        if over:
            self._db.execute(
                "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT ?)",
                (over,),
            )
        self._depth -= over
        self._dropped += aged + over
        return aged, over

    def _report(self, aged: int, over: int) -> None:
        if aged:
            log.warning(
                "outbox %s: dropped %d unsent events older than outbox.max_age_s=%.0f s "
                "(%d dropped since start); is the broker reachable?",
                self.path,
                aged,
                self._config.max_age_s,
                self._dropped,
            )
        if over:
            log.warning(
                "outbox %s: full at outbox.max_rows=%d, dropped the %d oldest unsent events "
                "(%d dropped since start); is the broker reachable?",
                self.path,
                self._config.max_rows,
                over,
                self._dropped,
            )


def _pending(row: tuple[int, str, bytes, int, int, float, float | None]) -> Pending:
    rowid, topic, payload, qos, retain, created, captured = row
    message = Outgoing(topic, bytes(payload), qos, bool(retain), captured)
    return Pending(rowid, message, created)


def _open(path: Path) -> sqlite3.Connection:
    """Opens (or creates) the outbox; never deletes or rewrites a file it cannot read."""
    fix = "move it aside (greetcue never deletes it) or set outbox.path to another file"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))  # -wal and -shm take its mode
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except (OSError, sqlite3.Error) as err:
        raise OutboxError(
            f"cannot open the outbox {path}: {err}; check the folder exists and is writable, "
            "or set outbox.path"
        ) from err
    try:
        _prepare(db, path)
    except sqlite3.DatabaseError as err:
        db.close()
        raise OutboxError(
            f"outbox {path} is not a readable SQLite database ({err}): {fix}"
        ) from err
    except OutboxError:
        db.close()
        raise
    return db


def _prepare(db: sqlite3.Connection, path: Path) -> None:
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if version not in (0, SCHEMA_VERSION) or (version == 0 and tables - {"sqlite_sequence"}):
        raise OutboxError(
            f"{path} is a SQLite file but not a greetcue outbox (schema version {version}, "
            f"tables {sorted(tables)}): move it aside or set outbox.path to another file"
        )
    mode = str(db.execute("PRAGMA journal_mode=WAL").fetchone()[0])
    if mode.lower() != "wal":
        log.warning("outbox %s: journal mode %s, not WAL (a network file system?)", path, mode)
    db.execute(SCHEMA)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
