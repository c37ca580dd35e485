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
    op.execute("ALTER TABLE events RENAME TO events_unpartitioned")
    op.execute("ALTER INDEX ix_events_captured RENAME TO ix_events_captured_unpartitioned")
    op.execute("ALTER INDEX ix_events_site_captured RENAME TO ix_events_site_unpartitioned")
    op.execute(
        "CREATE TABLE events (LIKE events_unpartitioned INCLUDING DEFAULTS, "
        "PRIMARY KEY (id, captured_s)) PARTITION BY RANGE (captured_s)"
    )
    op.execute("CREATE TABLE events_default PARTITION OF events DEFAULT")
    op.execute("CREATE INDEX ix_events_captured ON events (captured_s)")
    op.execute("CREATE INDEX ix_events_site_captured ON events (site, captured_s)")
    low, high = bind.exec_driver_sql(
        "SELECT min(captured_s), max(captured_s) FROM events_unpartitioned"
    ).one()
    create_months(bind, month_starts(low, high))
    op.execute(f"INSERT INTO events ({COLUMNS}) SELECT {COLUMNS} FROM events_unpartitioned")
    op.execute("DROP TABLE events_unpartitioned")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE events RENAME TO events_partitioned")
    op.execute("ALTER INDEX ix_events_captured RENAME TO ix_events_captured_partitioned")
    op.execute("ALTER INDEX ix_events_site_captured RENAME TO ix_events_site_partitioned")
    op.execute("CREATE TABLE events (LIKE events_partitioned INCLUDING DEFAULTS, PRIMARY KEY (id))")
    op.execute("CREATE INDEX ix_events_captured ON events (captured_s)")
    op.execute("CREATE INDEX ix_events_site_captured ON events (site, captured_s)")
    op.execute(
        f"INSERT INTO events ({COLUMNS}) SELECT {COLUMNS} FROM events_partitioned "
        "ON CONFLICT DO NOTHING"
    )
    op.execute("DROP TABLE events_partitioned")
