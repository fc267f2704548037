"""Loyalty: entries name the domain event that earned them by its UUID (event ids are UUIDs now).

Old entries lose their event number: their events were handled in the transaction that
booked them, so none of them can be handed to the plugin again.

Revision ID: loyalty_0002
Revises: loyalty_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "loyalty_0002"
down_revision = "loyalty_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("uq_loyalty_entries_event", "loyalty_entries", type_="unique")
    op.alter_column(
        "loyalty_entries", "event_id", type_=sa.UUID(), existing_type=sa.BigInteger(), postgresql_using="NULL"
    )
    op.create_unique_constraint("uq_loyalty_entries_event", "loyalty_entries", ["tenant_id", "event_id"])


def downgrade() -> None:
    op.drop_constraint("uq_loyalty_entries_event", "loyalty_entries", type_="unique")
    op.alter_column(
        "loyalty_entries", "event_id", type_=sa.BigInteger(), existing_type=sa.UUID(), postgresql_using="NULL"
    )
    op.create_unique_constraint("uq_loyalty_entries_event", "loyalty_entries", ["tenant_id", "event_id"])
