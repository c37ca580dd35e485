"""running totals of the hourly rollups by chain day, for chain reports over long ranges

Revision ID: 0009
Revises: 0008

Empty at first: the ingest builds them from the hourly rollups a few days at a time, and until
they are built, reports read the hours as before.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _figures() -> list[sa.Column[Any]]:
    """The counted columns (a fresh copy per table)."""
    counted = ("customers", "acknowledged", "left", "closed", "within_goal", "latency_bins")
    columns: list[sa.Column[Any]] = [sa.Column(c, sa.Integer(), nullable=False) for c in counted]
    return [*columns, sa.Column("latency", sa.Text(), nullable=True)]


def upgrade() -> None:
    op.create_table(
        "cue_sums",
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("waiting", sa.Boolean(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        *_figures(),
        sa.Column("lead_bins", sa.Integer(), nullable=False),
        sa.Column("lead", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("level", "key", "waiting", "day"),
    )
    op.create_table(
        "cue_sum_keys",
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("waiting", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("level", "key", "waiting"),
    )
    op.create_table(
        "cue_day_sums",
        sa.Column("waiting", sa.Boolean(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("local_day", sa.Integer(), nullable=False),
        *_figures(),
        sa.PrimaryKeyConstraint("waiting", "day", "local_day"),
    )
    op.create_table(
        "cue_sums_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("goals", sa.Text(), nullable=False),
        sa.Column("through_day", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    for table in ("cue_sums_state", "cue_day_sums", "cue_sum_keys", "cue_sums"):
        op.drop_table(table)
