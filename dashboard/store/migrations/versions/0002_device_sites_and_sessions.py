"""a device is (site, device); revocable manager sessions

Revision ID: 0002
Revises: 0001

Staff links are looked up, replaced and revoked by site and device. A live staff link stored
without a site (before links needed one) cannot be scoped safely: if every event this
database holds comes from one site, the link gets that site (it can only be for that store);
otherwise it is revoked, since guessing would hand one store's cues to another's phone, and
the manager makes a new one (``greetcue staff link DEVICE --site SITE``). Every other row is
carried over unchanged. Manager sessions get a table, so logging out ends a session for good.
A cue's ``before`` (the zones its first ack came before) becomes text: the contract allows more
zone names than 255 characters hold, and PostgreSQL refused such an ack.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

tokens = sa.table(
    "tokens",
    sa.column("kind", sa.String),
    sa.column("site", sa.String),
    sa.column("revoked_s", sa.Float),
)
events = sa.table("events", sa.column("site", sa.String))


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_s", sa.Float(), nullable=False),
        sa.Column("expires_s", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("digest"),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index("ix_sessions_user_id", ["user_id"], unique=False)
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.create_index("ix_tokens_kind_site_name", ["kind", "site", "name"], unique=False)
    with op.batch_alter_table("cues", schema=None) as batch_op:
        batch_op.alter_column("before", type_=sa.Text(), existing_type=sa.String(length=255))
    _scope_legacy_staff_links()


def _scope_legacy_staff_links() -> None:
    bind = op.get_bind()
    sites = bind.execute(sa.select(events.c.site).distinct().limit(2)).scalars().all()
    legacy = tokens.update().where(
        tokens.c.kind == "staff", tokens.c.site.is_(None), tokens.c.revoked_s.is_(None)
    )
    if len(sites) == 1:
        bind.execute(legacy.values(site=sites[0]))
    else:
        bind.execute(legacy.values(revoked_s=time.time()))


def downgrade() -> None:
    with op.batch_alter_table("cues", schema=None) as batch_op:
        batch_op.alter_column("before", type_=sa.String(length=255), existing_type=sa.Text())
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_tokens_kind_site_name")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_user_id")
    op.drop_table("sessions")
