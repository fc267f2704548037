"""Marketing campaigns (`campaigns`, their frozen `campaign_members` and `campaign_responses`, the
campaign a lead came from: `leads.campaign_id`) and export jobs (`export_jobs`).

Revision ID: 0024_campaigns_exports
Revises: 0023_tenant_data
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0024_campaigns_exports"
down_revision = "0023_tenant_data"
branch_labels = None
depends_on = None

UUID = postgresql.UUID(as_uuid=True)


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("id", UUID, server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("channel_id", UUID, nullable=False),
        sa.Column("budget", sa.Numeric(14, 2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("audience", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="draft", nullable=False),
        sa.Column("audience_size", sa.Integer(), nullable=True),
        sa.Column("inbound_token_hash", sa.String(length=64), nullable=True),
        sa.Column("created_by_id", UUID, nullable=True),
        sa.Column("launched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("budget > 0", name=op.f("ck_campaigns_budget_positive")),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_campaigns_ends_after_start")),
        sa.CheckConstraint("status IN ('draft', 'launched')", name=op.f("ck_campaigns_status")),
        _tenant_fk("campaigns"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "channel_id"],
            ["channels.tenant_id", "channels.id"],
            name="fk_campaigns_tenant_id_channels",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "created_by_id"],
            ["memberships.tenant_id", "memberships.id"],
            name="fk_campaigns_tenant_id_memberships",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_campaigns")),
    )
    op.create_index("ix_campaigns_tenant_created", "campaigns", ["tenant_id", "created_at", "id"])
    op.create_table(
        "campaign_members",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("campaign_id", UUID, nullable=False),
        sa.Column("customer_id", UUID, nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        _tenant_fk("campaign_members"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "campaign_id"],
            ["campaigns.tenant_id", "campaigns.id"],
            name="fk_campaign_members_tenant_id_campaigns",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            name="fk_campaign_members_tenant_id_customers",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "campaign_id", "customer_id", name=op.f("pk_campaign_members")),
    )
    op.create_index("ix_campaign_members_tenant_customer", "campaign_members", ["tenant_id", "customer_id"])
    op.create_table(
        "campaign_responses",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("id", UUID, server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("campaign_id", UUID, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("customer_id", UUID, nullable=True),
        sa.Column("contact_id", UUID, nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("lead_id", UUID, nullable=True),
        sa.Column("source", sa.String(length=10), server_default="api", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        _tenant_fk("campaign_responses"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "campaign_id"],
            ["campaigns.tenant_id", "campaigns.id"],
            name="fk_campaign_responses_tenant_id_campaigns",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            name="fk_campaign_responses_tenant_id_customers",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "contact_id"],
            ["contacts.tenant_id", "contacts.id"],
            name="fk_campaign_responses_tenant_id_contacts",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "lead_id"],
            ["leads.tenant_id", "leads.id"],
            name="fk_campaign_responses_tenant_id_leads",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_campaign_responses")),
    )
    op.create_index(
        "ix_campaign_responses_tenant_campaign", "campaign_responses", ["tenant_id", "campaign_id", "created_at"]
    )
    op.add_column("leads", sa.Column("campaign_id", UUID, nullable=True))
    op.create_foreign_key(
        "fk_leads_tenant_id_campaigns",
        "leads",
        "campaigns",
        ["tenant_id", "campaign_id"],
        ["tenant_id", "id"],
        ondelete="RESTRICT",
    )
    op.create_index("ix_leads_tenant_campaign", "leads", ["tenant_id", "campaign_id"])
    op.create_table(
        "export_jobs",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("id", UUID, server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("format", sa.String(length=4), nullable=False),
        sa.Column("filter", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="pending", nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=True),
        sa.Column("download_id", UUID, nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("requested_by_id", UUID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'completed', 'failed')", name=op.f("ck_export_jobs_status")),
        _tenant_fk("export_jobs"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "requested_by_id"],
            ["memberships.tenant_id", "memberships.id"],
            name="fk_export_jobs_tenant_id_memberships",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_export_jobs")),
    )
    op.create_index("ix_export_jobs_tenant_created", "export_jobs", ["tenant_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_export_jobs_tenant_created", table_name="export_jobs")
    op.drop_table("export_jobs")
    op.drop_index("ix_leads_tenant_campaign", table_name="leads")
    op.drop_constraint("fk_leads_tenant_id_campaigns", "leads", type_="foreignkey")
    op.drop_column("leads", "campaign_id")
    op.drop_index("ix_campaign_responses_tenant_campaign", table_name="campaign_responses")
    op.drop_table("campaign_responses")
    op.drop_index("ix_campaign_members_tenant_customer", table_name="campaign_members")
    op.drop_table("campaign_members")
    op.drop_index("ix_campaigns_tenant_created", table_name="campaigns")
    op.drop_table("campaigns")
