"""staff members: the names acknowledgements carry

Revision ID: 0004
Revises: 0003

One row per person on a site's roster (dashboard/roster.py); nothing else changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("code_digest", sa.String(length=64), nullable=True),
        sa.Column("created_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("staff_members", schema=None) as batch_op:
        batch_op.create_index("ix_staff_members_site_name", ["site", "name"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("staff_members", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_members_site_name")
    op.drop_table("staff_members")
