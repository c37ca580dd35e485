"""hourly rollups of the cues, and the marks of cues changed since

Revision ID: 0006
Revises: 0005

Reports read one row per camera and local hour instead of every cue. Existing cues are
marked, so the first report (or the ingest) rolls them up.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _key() -> list[sa.Column[object]]:
    """The key columns of an hour (a fresh copy per table)."""
    return [
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("camera", sa.String(length=64), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("waiting", sa.Boolean(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "cue_hours",
        *_key(),
        sa.Column("local_day", sa.Integer(), nullable=False),
        sa.Column("local_hour", sa.Integer(), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("acknowledged", sa.Integer(), nullable=False),
        sa.Column("left", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Integer(), nullable=False),
        sa.Column("latency_bins", sa.Integer(), nullable=False),
        sa.Column("latency", sa.Text(), nullable=True),
        sa.Column("lead_bins", sa.Integer(), nullable=False),
        sa.Column("lead", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("site", "camera", "start_s", "waiting"),
    )
    op.create_index("ix_cue_hours_start", "cue_hours", ["start_s"])
    op.create_table(
        "cue_hour_zones",
        *_key(),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("acknowledged", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("site", "camera", "start_s", "waiting", "zone"),
    )
    op.create_index("ix_cue_hour_zones_start", "cue_hour_zones", ["start_s"])
    op.create_table(
        "rollup_dirty",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("cue_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO rollup_dirty (cue_id) SELECT cue_id FROM cues")


def downgrade() -> None:
    op.drop_table("rollup_dirty")
    op.drop_index("ix_cue_hour_zones_start", table_name="cue_hour_zones")
    op.drop_table("cue_hour_zones")
    op.drop_index("ix_cue_hours_start", table_name="cue_hours")
    op.drop_table("cue_hours")
