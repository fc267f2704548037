"""Tenant export and deletion: `tenant_exports` (the owner's export jobs and their progress), and
`tenants.deleted_at` / `tenants.purged_at` (a deleted tenant is refused at once, erased later).

Revision ID: 0023_tenant_data
Revises: 0022_sensitive_fields
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0023_tenant_data"
down_revision = "0022_sensitive_fields"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tenants", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("tenants", sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "tenant_exports",
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("id", postgresql.UUID(as_uuid=True), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("requested_by_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("tables_total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("tables_done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rows_done", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("download_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("link_issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_tenant_exports_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "requested_by_id"],
            ["memberships.tenant_id", "memberships.id"],
            name=op.f("fk_tenant_exports_tenant_id_memberships"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_tenant_exports")),
    )
    op.create_index("ix_tenant_exports_tenant_created", "tenant_exports", ["tenant_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_tenant_exports_tenant_created", table_name="tenant_exports")
    op.drop_table("tenant_exports")
    op.drop_column("tenants", "purged_at")
    op.drop_column("tenants", "deleted_at")
