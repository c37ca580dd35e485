"""The outbox keeps every event, in order, across reopen and kill -9; its bounds drop the oldest."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from edge.config.service import OutboxConfig
from edge.service.delivery.outbox import Outbox, OutboxError, Outgoing


def events(count: int, start: int = 0, captured: float | None = None) -> list[Outgoing]:
    return [
        Outgoing("greetcue/s/c/event", f'{{"id": {i}}}'.encode(), captured_wall=captured)
        for i in range(start, start + count)
    ]


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_rows_come_back_in_order_with_every_field(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.sqlite3") as box:
        message = Outgoing("t/a", b"\x00\xffbytes", qos=0, retain=True, captured_wall=12.5)
        ids = box.add([message, *events(3)])
        rows = box.pending()
        assert [r.rowid for r in rows] == ids == sorted(ids)
        assert rows[0].message == message
        assert box.depth() == 4


def test_pending_pages_after_a_row_id_and_remove_deletes(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.sqlite3") as box:
        ids = box.add(events(10))
        assert [r.rowid for r in box.pending(after_rowid=ids[3], limit=2)] == ids[4:6]
        assert box.remove(ids[:5]) == 5
        assert box.remove(ids[:5]) == 0  # already gone: not an error
        assert [r.rowid for r in box.pending()] == ids[5:]
        assert box.depth() == 5


def test_survives_reopen_and_never_reuses_a_row_id(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    with Outbox(path) as box:
        first = box.add(events(3))
        box.remove(first[:1])
    with Outbox(path) as box:
        assert [r.rowid for r in box.pending()] == first[1:]
        assert box.depth() == 2
        box.remove(first[1:])
    with Outbox(path) as box:
        assert box.add(events(1)) == [first[-1] + 1]  # a publisher's cursor never goes back


def test_full_outbox_drops_the_oldest_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Outbox(tmp_path / "o.sqlite3", OutboxConfig(max_rows=100)) as box:
        ids = box.add(events(120))
        with caplog.at_level(logging.WARNING, logger="edge.service.delivery.outbox"):
            ids += box.add(events(30, start=120))
        assert [r.rowid for r in box.pending(limit=1000)] == ids[-100:]
        assert (box.depth(), box.dropped) == (100, 50)
    assert "max_rows=100" in caplog.text and "dropped the 30 oldest" in caplog.text


def test_rows_past_max_age_are_dropped_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    path = tmp_path / "o.sqlite3"
    config = OutboxConfig(max_age_s=3600)
    with Outbox(path, config, clock=clock) as box:
        box.add(events(5))
        clock.now += 1800
        kept = box.add(events(2, start=5))
        clock.now += 2000
        with caplog.at_level(logging.WARNING, logger="edge.service.delivery.outbox"):
            box.trim()
        assert [r.rowid for r in box.pending()] == kept
        assert box.dropped == 5
    assert "dropped 5 unsent events older than outbox.max_age_s=3600" in caplog.text
    clock.now += 3600
    with Outbox(path, config, clock=clock) as box:  # an old outbox is trimmed on open
        assert (box.depth(), box.dropped) == (0, 2)


def test_add_does_not_scan_the_table(tmp_path: Path) -> None:
    """The age bound looks at the oldest row by id: an add costs the same on a big outbox."""

    def steps_to_add_one(box: Outbox) -> int:
        steps = [0]

        def count() -> int:
            steps[0] += 1
            return 0  # go on

        box._db.set_progress_handler(count, 100)  # called every 100 SQLite VM instructions
        box.add(events(1))
        box._db.set_progress_handler(None, 0)
        return steps[0]

    with Outbox(tmp_path / "small.sqlite3") as small, Outbox(tmp_path / "big.sqlite3") as big:
        small.add(events(10))
        big.add(events(20_000))
        assert steps_to_add_one(big) <= steps_to_add_one(small) + 5


CHILD = """
import sys
from pathlib import Path
from edge.service.delivery.outbox import Outbox, Outgoing
box = Outbox(Path(sys.argv[1]))
i = 0
while True:
    ids = box.add([Outgoing("t", str(i + k).encode()) for k in range(5)])
    print(ids[-1], flush=True)
    i += 5
"""


def test_kill_9_after_add_returns_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    confirmed = [int(child.stdout.readline()) for _ in range(40)]
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    with Outbox(path) as box:
        rows = box.pending(limit=1_000_000)
    stored = [r.rowid for r in rows]
    assert set(range(1, confirmed[-1] + 1)) <= set(stored)
    assert stored == sorted(stored) and stored[0] == 1
    assert [r.message.payload for r in rows] == [str(i).encode() for i in range(len(rows))]


def _garbage(path: Path) -> Path:
    path.write_bytes(b"not a database " * 100)
    return path


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


def _foreign_db(path: Path) -> Path:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE photos (x)")
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_garbage, "is not a readable SQLite database"),
        (_folder, "cannot open the outbox"),
        (_foreign_db, "not a greetcue outbox"),
    ],
)
def test_unusable_file_is_an_error_naming_path_and_fix_and_is_kept(
    tmp_path: Path, make: Callable[[Path], Path], message: str
) -> None:
    path = make(tmp_path / "o.sqlite3")
    before = path.read_bytes() if path.is_file() else None
    with pytest.raises(OutboxError, match=message) as error:
        Outbox(path)
    assert str(path) in str(error.value) and "outbox.path" in str(error.value)
    assert path.exists() and (before is None or path.read_bytes() == before)
