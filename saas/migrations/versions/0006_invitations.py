"""Invitations to join a tenant: addressed to an e-mail, accepted by the holder of that account.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invitations",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("secret_hash", sa.String(length=128), nullable=False),
        sa.Column("invited_by_membership_id", sa.UUID(), nullable=True),
        sa.Column("accepted_membership_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "accepted_at IS NULL OR revoked_at IS NULL", name=op.f("ck_invitations_accepted_or_revoked")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_invitations_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "invited_by_membership_id"],
            ["memberships.tenant_id", "memberships.id"],
            name=op.f("fk_invitations_tenant_id_invited_by_membership_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "accepted_membership_id"],
            ["memberships.tenant_id", "memberships.id"],
            name=op.f("fk_invitations_tenant_id_accepted_membership_id_memberships"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_invitations")),
    )
    op.create_index(
        "ix_invitations_tenant_open_email",
        "invitations",
        ["tenant_id", sa.text("lower(email)")],
        unique=True,
        postgresql_where=sa.text("accepted_at IS NULL AND revoked_at IS NULL"),
    )
    op.create_index("ix_invitations_tenant_created", "invitations", ["tenant_id", "created_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_invitations_tenant_created", table_name="invitations")
    op.drop_index("ix_invitations_tenant_open_email", table_name="invitations")
    op.drop_table("invitations")
