"""Loyalty: the ledger of points per customer and the tenant's tiers (root of the `loyalty` branch).

Revision ID: loyalty_0001
Depends on: 0001 (the core revision that created `tenants` and `customers`)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "loyalty_0001"
down_revision = None
branch_labels = ("loyalty",)
depends_on = "0001"


def upgrade() -> None:
    # `saas migrate` enables and forces row-level security on both tables (they have tenant_id).
    op.create_table(
        "loyalty_entries",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expired", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("points <> 0", name="ck_loyalty_entries_points_not_zero"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_loyalty_entries_tenants", ondelete="CASCADE"),
        # Composite, so an entry can only ever point at a customer of its own tenant.
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            name="fk_loyalty_entries_customers",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_loyalty_entries"),
        sa.UniqueConstraint("tenant_id", "event_id", name="uq_loyalty_entries_event"),
    )
    op.create_index("ix_loyalty_entries_customer", "loyalty_entries", ["tenant_id", "customer_id", "created_at"])
    op.create_index(
        "ix_loyalty_entries_due",
        "loyalty_entries",
        ["tenant_id", "expires_at"],
        postgresql_where=sa.text("NOT expired AND expires_at IS NOT NULL"),
    )
    op.create_table(
        "loyalty_tiers",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("min_points", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_loyalty_tiers_tenants", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "name", name="pk_loyalty_tiers"),
    )


def downgrade() -> None:
    op.drop_table("loyalty_tiers")
    op.drop_table("loyalty_entries")
