"""Data imports: `import_jobs` (the uploaded file, its settings, counts and chunk cursor) and
`import_rows` (each data row's cleaned values, errors, planned outcome, matched record and result).

Both are tenant tables (row-level security is applied after the migration, as for every table
with a `tenant_id`); `tenant_id` leads every key and index.

Revision ID: 0020_imports
Revises: 0019_downloads
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0020_imports"
down_revision = "0019_downloads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_jobs",
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("id", postgresql.UUID(as_uuid=True), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("entity", sa.String(10), nullable=False),
        sa.Column("status", sa.String(12), server_default="queued", nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("duplicate_policy", sa.String(10), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("file_format", sa.String(10), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("encoding", sa.String(20), nullable=True),
        sa.Column("mapping", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("created_by_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("total_rows", sa.Integer(), server_default="0", nullable=False),
        sa.Column("processed_rows", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated", sa.Integer(), server_default="0", nullable=False),
        sa.Column("skipped", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cursor", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("entity IN ('customer', 'contact', 'lead')", name=op.f("ck_import_jobs_entity_known")),
        sa.CheckConstraint(
            "duplicate_policy IN ('skip', 'update', 'create')", name=op.f("ck_import_jobs_policy_known")
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'parsing', 'previewing', 'previewed', 'committing', 'completed', 'failed')",
            name=op.f("ck_import_jobs_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_import_jobs_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "created_by_id"],
            ["memberships.tenant_id", "memberships.id"],
            name=op.f("fk_import_jobs_tenant_id_memberships"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_import_jobs")),
    )
    op.create_index("ix_import_jobs_tenant_created", "import_jobs", ["tenant_id", "created_at", "id"])
    op.create_index("ix_import_jobs_tenant_creator", "import_jobs", ["tenant_id", "created_by_id", "created_at", "id"])

    op.create_table(
        "import_rows",
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("job_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("values", postgresql.JSONB(), nullable=False),
        sa.Column("errors", postgresql.JSONB(), server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column("keys", postgresql.JSONB(), server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column("outcome", sa.String(10), nullable=True),
        sa.Column("matched_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("matched_version", sa.Integer(), nullable=True),
        sa.Column("diff", postgresql.JSONB(), nullable=True),
        sa.Column("record_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("applied", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('create', 'update', 'skip', 'fail')",
            name=op.f("ck_import_rows_outcome_known"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "job_id"],
            ["import_jobs.tenant_id", "import_jobs.id"],
            name=op.f("fk_import_rows_tenant_id_import_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "job_id", "row_number", name=op.f("pk_import_rows")),
    )
    op.create_index(
        "ix_import_rows_tenant_job_outcome", "import_rows", ["tenant_id", "job_id", "outcome", "row_number"]
    )


def downgrade() -> None:
    op.drop_index("ix_import_rows_tenant_job_outcome", table_name="import_rows")
    op.drop_table("import_rows")
    op.drop_index("ix_import_jobs_tenant_creator", table_name="import_jobs")
    op.drop_index("ix_import_jobs_tenant_created", table_name="import_jobs")
    op.drop_table("import_jobs")
