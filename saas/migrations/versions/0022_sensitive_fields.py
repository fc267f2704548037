"""Sensitive fields: each tenant's wrapped keys (`tenant_keys`), the core fields it marks
sensitive (`sensitive_fields`), its re-encryption runs (`reencrypt_runs`), and the `sensitive`
column of contacts holding the sealed values of its marked core fields.

Every table leads its key with `tenant_id` and gets the tenant policy (forced row-level security)
from `secure_schema` after the migration run, like every tenant table.

Revision ID: 0022_sensitive_fields
Revises: 0021_automation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0022_sensitive_fields"
down_revision = "0021_automation"
branch_labels = None
depends_on = None


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "tenant_keys",
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("master_key_id", sa.String(length=64), nullable=False),
        sa.Column("wrapped", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("rewrapped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        _tenant_fk("tenant_keys"),
        sa.PrimaryKeyConstraint("tenant_id", "purpose", "version", name=op.f("pk_tenant_keys")),
    )
    op.create_table(
        "sensitive_fields",
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        _tenant_fk("sensitive_fields"),
        sa.PrimaryKeyConstraint("tenant_id", "entity", "field", name=op.f("pk_sensitive_fields")),
    )
    op.create_table(
        "reencrypt_runs",
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("id", postgresql.UUID(as_uuid=True), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="running", nullable=False),
        sa.Column("table_index", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("processed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("batches", sa.Integer(), server_default="0", nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        _tenant_fk("reencrypt_runs"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_reencrypt_runs")),
    )
    op.create_index("ix_reencrypt_runs_tenant_status", "reencrypt_runs", ["tenant_id", "status", "started_at"])
    op.add_column(
        "contacts",
        sa.Column(
            "sensitive", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
    )


def downgrade() -> None:
    op.drop_column("contacts", "sensitive")
    op.drop_index("ix_reencrypt_runs_tenant_status", table_name="reencrypt_runs")
    op.drop_table("reencrypt_runs")
    op.drop_table("sensitive_fields")
    op.drop_table("tenant_keys")
