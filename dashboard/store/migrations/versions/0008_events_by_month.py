"""events partitioned by month on PostgreSQL

Revision ID: 0008
Revises: 0007

A month of raw events is one partition, so keeping a year costs nothing to the pages and
dropping an old month (the retention setting) is instant. The key becomes (id, captured_s):
PostgreSQL requires the partition key in every unique key; a redelivered event has both the
same, so it is still stored once. SQLite keeps one table.
"""

from __future__ import annotations

from alembic import op

from dashboard.store.partitions import create_months, month_starts

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = (
    "id, type, site, camera, track_id, zone, device, staff, cue_id, captured_s, received_s, payload"
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    old = _recreate("unpartitioned", "PRIMARY KEY (id, captured_s)) PARTITION BY RANGE (captured_s")
    op.execute("CREATE TABLE events_default PARTITION OF events DEFAULT")
    low, high = bind.exec_driver_sql(f"SELECT min(captured_s), max(captured_s) FROM {old}").one()
    create_months(bind, month_starts(low, high))
    op.execute(f"INSERT INTO events ({COLUMNS}) SELECT {COLUMNS} FROM {old}")
    op.execute(f"DROP TABLE {old}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    old = _recreate("partitioned", "PRIMARY KEY (id)")
    op.execute(f"INSERT INTO events ({COLUMNS}) SELECT {COLUMNS} FROM {old} ON CONFLICT DO NOTHING")
    op.execute(f"DROP TABLE {old}")


def _recreate(suffix: str, key: str) -> str:
    """Rename ``events`` (and its indexes) with ``suffix`` and make a new empty ``events``
    like it, ending its definition with ``key``; the old table's name."""
    old = f"events_{suffix}"
    op.execute(f"ALTER TABLE events RENAME TO {old}")
    op.execute(f"ALTER INDEX ix_events_captured RENAME TO ix_events_captured_{suffix}")
    op.execute(f"ALTER INDEX ix_events_site_captured RENAME TO ix_events_site_{suffix}")
    op.execute(f"CREATE TABLE events (LIKE {old} INCLUDING DEFAULTS, {key})")
    op.execute("CREATE INDEX ix_events_captured ON events (captured_s)")
    op.execute("CREATE INDEX ix_events_site_captured ON events (site, captured_s)")
    return old
