"""Files produced by exports, kept in the database for a limited time: `downloads` and their
`download_chunks` (at most 1 MiB each), so any API process serves what any worker wrote.

Revision ID: 0019_downloads
Revises: 0018_service_links
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0019_downloads"
down_revision = "0018_service_links"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "downloads",
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("id", postgresql.UUID(as_uuid=True), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=120), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("chunk_count", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("created_by_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("downloaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_downloads_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "created_by_id"],
            ["memberships.tenant_id", "memberships.id"],
            name=op.f("fk_downloads_tenant_id_memberships"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_downloads")),
    )
    op.create_index("ix_downloads_tenant_expires", "downloads", ["tenant_id", "expires_at"])
    op.create_table(
        "download_chunks",
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("download_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_download_chunks_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "download_id"],
            ["downloads.tenant_id", "downloads.id"],
            name=op.f("fk_download_chunks_tenant_id_downloads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "download_id", "seq", name=op.f("pk_download_chunks")),
    )


def downgrade() -> None:
    op.drop_table("download_chunks")
    op.drop_index("ix_downloads_tenant_expires", table_name="downloads")
    op.drop_table("downloads")
