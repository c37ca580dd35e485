"""initial tables

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cameras",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("camera", sa.String(length=64), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("changed_s", sa.Float(), nullable=False),
        sa.Column("metrics", sa.Text(), nullable=True),
        sa.Column("metrics_s", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("site", "camera"),
    )
    op.create_table(
        "cues",
        sa.Column("cue_id", sa.String(length=36), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("camera", sa.String(length=64), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=True),
        sa.Column("zone", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=16), nullable=True),
        sa.Column("device", sa.String(length=64), nullable=True),
        sa.Column("issued", sa.Boolean(), nullable=False),
        sa.Column("cued_s", sa.Float(), nullable=True),
        sa.Column("escalations", sa.Integer(), nullable=False),
        sa.Column("expires_s", sa.Float(), nullable=True),
        sa.Column("lead_s", sa.Float(), nullable=True),
        sa.Column("ack_event", sa.String(length=36), nullable=True),
        sa.Column("acked_s", sa.Float(), nullable=True),
        sa.Column("latency_s", sa.Float(), nullable=True),
        sa.Column("ack_device", sa.String(length=64), nullable=True),
        sa.Column("staff", sa.String(length=64), nullable=True),
        sa.Column("before", sa.String(length=255), nullable=True),
        sa.Column("acks", sa.Integer(), nullable=False),
        sa.Column("left_s", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("cue_id"),
    )
    with op.batch_alter_table("cues", schema=None) as batch_op:
        batch_op.create_index("ix_cues_cued", ["cued_s"], unique=False)
        batch_op.create_index("ix_cues_site_cued", ["site", "cued_s"], unique=False)

    op.create_table(
        "events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("camera", sa.String(length=64), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=True),
        sa.Column("zone", sa.String(length=64), nullable=True),
        sa.Column("device", sa.String(length=64), nullable=True),
        sa.Column("staff", sa.String(length=64), nullable=True),
        sa.Column("cue_id", sa.String(length=36), nullable=True),
        sa.Column("captured_s", sa.Float(), nullable=False),
        sa.Column("received_s", sa.Float(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_captured", ["captured_s"], unique=False)
        batch_op.create_index("ix_events_site_captured", ["site", "captured_s"], unique=False)

    op.create_table(
        "occupancy",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("camera", sa.String(length=64), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("radius_ft", sa.Float(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("nearest_ft", sa.Float(), nullable=True),
        sa.Column("updated_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("site", "camera", "zone"),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_s", sa.Float(), nullable=False),
        sa.Column("revoked_s", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )


def downgrade() -> None:
    op.drop_table("users")
    op.drop_table("tokens")
    op.drop_table("occupancy")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_site_captured")
        batch_op.drop_index("ix_events_captured")

    op.drop_table("events")
    with op.batch_alter_table("cues", schema=None) as batch_op:
        batch_op.drop_index("ix_cues_site_cued")
        batch_op.drop_index("ix_cues_cued")

    op.drop_table("cues")
    op.drop_table("cameras")
