"""Alembic environment: runs as the database owner on the connection `saas migrate` passes in."""

from __future__ import annotations

from alembic import context

from saas.models import Base

config = context.config
connection = config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
