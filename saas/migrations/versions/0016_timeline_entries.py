"""Timeline entries written by other domains and plugins (`saas.plugin_api.add_timeline_entry`).

Row-level security and grants come from `saas.tenancy.rls.secure_schema`, run after every migration.

Revision ID: 0016_timeline_entries
Revises: 0015_tickets
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_timeline_entries"
down_revision = "0015_tickets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "timeline_entries",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("subject_id", sa.String(length=200), nullable=True),
        sa.Column("actor_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_timeline_entries_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            name=op.f("fk_timeline_entries_tenant_id_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "actor_id"],
            ["memberships.tenant_id", "memberships.id"],
            name=op.f("fk_timeline_entries_tenant_id_actor_id_memberships"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_timeline_entries")),
    )
    op.create_index(
        "ix_timeline_entries_tenant_customer",
        "timeline_entries",
        ["tenant_id", "customer_id", "occurred_at", "id"],
    )


def downgrade() -> None:
    op.drop_table("timeline_entries")
