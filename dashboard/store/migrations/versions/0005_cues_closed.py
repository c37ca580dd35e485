"""a cue can be closed without an ack or a leaving customer

Revision ID: 0005
Revises: 0004

When a camera goes offline (stopped, restarted, crashed: its Last Will), the cues it left open
are closed with a reason, so "still open" means open now. Existing rows are unchanged: their
open cues stay open until their camera's next offline message.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cues", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_s", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("closed_why", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cues", schema=None) as batch_op:
        batch_op.drop_column("closed_why")
        batch_op.drop_column("closed_s")
