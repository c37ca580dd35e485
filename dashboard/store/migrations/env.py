"""Alembic environment: runs on the engine the dashboard hands over (no alembic.ini)."""

from __future__ import annotations

from alembic import context

from dashboard.store.partitions import not_a_partition
from dashboard.store.tables import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=not_a_partition,
    )
    with context.begin_transaction():
        context.run_migrations()
