"""Channels, leads and the lead pool, the tenant's sales settings; teams and their members.

Row-level security and the application role's grants come from `secure_schema`, which runs
after every migration and covers every table with a `tenant_id`. The expression indexes on
customers and contacts serve the duplicate check (`saas/leads/duplicates.py`); the GIN index on
`leads.custom_fields` the `customField` filter (as 0010_custom_fields does for customers and contacts).

Revision ID: 0013_leads
Revises: 0012_followups
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013_leads"
down_revision = "0012_followups"
branch_labels = None
depends_on = None

PHONE_DIGITS = sa.text("regexp_replace(phone, '\\D', '', 'g')")


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "channels",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("cost", sa.Numeric(14, 2), server_default="0", nullable=False),
        sa.Column("currency", sa.String(length=3), server_default="USD", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("cost >= 0", name=op.f("ck_channels_cost_not_negative")),
        _tenant_fk("channels"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_channels")),
    )
    op.create_index("uq_channels_tenant_name", "channels", ["tenant_id", sa.text("lower(name)")], unique=True)

    op.create_table(
        "leads",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("company", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("channel_id", sa.UUID(), nullable=True),
        sa.Column("owner_id", sa.UUID(), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="pool", nullable=False),
        sa.Column(
            "custom_fields",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("return_reason", sa.String(length=500), nullable=True),
        sa.Column("disqualified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disqualify_reason", sa.String(length=500), nullable=True),
        sa.Column("converted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("converted_customer_id", sa.UUID(), nullable=True),
        sa.Column("converted_contact_id", sa.UUID(), nullable=True),
        sa.Column("converted_opportunity_id", sa.UUID(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(status <> 'pool' OR owner_id IS NULL) AND (status <> 'claimed' OR owner_id IS NOT NULL)",
            name=op.f("ck_leads_pool_means_unowned"),
        ),
        sa.CheckConstraint(
            "status <> 'converted' OR converted_customer_id IS NOT NULL", name=op.f("ck_leads_converted_has_customer")
        ),
        _tenant_fk("leads"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "owner_id"],
            ["memberships.tenant_id", "memberships.id"],
            name=op.f("fk_leads_tenant_id_owner_id_memberships"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "channel_id"],
            ["channels.tenant_id", "channels.id"],
            name=op.f("fk_leads_tenant_id_channel_id_channels"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "converted_customer_id"],
            ["customers.tenant_id", "customers.id"],
            name=op.f("fk_leads_tenant_id_converted_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "converted_opportunity_id"],
            ["opportunities.tenant_id", "opportunities.id"],
            name=op.f("fk_leads_tenant_id_converted_opportunity_id_opportunities"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_leads")),
    )
    op.create_index("ix_leads_tenant_created", "leads", ["tenant_id", "created_at", "id"])
    op.create_index("ix_leads_tenant_status", "leads", ["tenant_id", "status", "created_at", "id"])
    op.create_index("ix_leads_tenant_owner_status", "leads", ["tenant_id", "owner_id", "status"])
    op.create_index("ix_leads_tenant_channel", "leads", ["tenant_id", "channel_id"])
    op.create_index("ix_leads_tenant_email", "leads", ["tenant_id", sa.text("lower(email)")])
    op.create_index("ix_leads_tenant_phone", "leads", ["tenant_id", PHONE_DIGITS])
    op.create_index("ix_leads_tenant_company", "leads", ["tenant_id", sa.text("lower(company)")])
    op.create_index(
        "ix_leads_custom_fields",
        "leads",
        ["custom_fields"],
        postgresql_using="gin",
        postgresql_ops={"custom_fields": "jsonb_path_ops"},
    )
    op.create_index("ix_customers_tenant_name_lower", "customers", ["tenant_id", sa.text("lower(name)")])
    op.create_index("ix_contacts_tenant_email", "contacts", ["tenant_id", sa.text("lower(email)")])
    op.create_index("ix_contacts_tenant_phone", "contacts", ["tenant_id", PHONE_DIGITS])

    op.create_table(
        "sales_settings",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("lead_claim_cap", sa.Integer(), nullable=False),
        sa.Column("public_pool_days", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("lead_claim_cap > 0", name=op.f("ck_sales_settings_lead_claim_cap_positive")),
        sa.CheckConstraint("public_pool_days > 0", name=op.f("ck_sales_settings_public_pool_days_positive")),
        _tenant_fk("sales_settings"),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_sales_settings")),
    )

    op.create_table(
        "teams",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("manager_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        _tenant_fk("teams"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "manager_id"],
            ["memberships.tenant_id", "memberships.id"],
            name=op.f("fk_teams_tenant_id_manager_id_memberships"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_teams")),
    )
    op.create_index("uq_teams_tenant_name", "teams", ["tenant_id", sa.text("lower(name)")], unique=True)
    op.create_index("ix_teams_tenant_manager", "teams", ["tenant_id", "manager_id"])
    op.create_table(
        "team_members",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("team_id", sa.UUID(), nullable=False),
        sa.Column("membership_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "team_id"],
            ["teams.tenant_id", "teams.id"],
            name=op.f("fk_team_members_tenant_id_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "membership_id"],
            ["memberships.tenant_id", "memberships.id"],
            name=op.f("fk_team_members_tenant_id_membership_id_memberships"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "team_id", "membership_id", name=op.f("pk_team_members")),
    )
    op.create_index("ix_team_members_tenant_member", "team_members", ["tenant_id", "membership_id"])


def downgrade() -> None:
    op.drop_table("team_members")
    op.drop_table("teams")
    op.drop_table("sales_settings")
    op.drop_index("ix_contacts_tenant_phone", table_name="contacts")
    op.drop_index("ix_contacts_tenant_email", table_name="contacts")
    op.drop_index("ix_customers_tenant_name_lower", table_name="customers")
    op.drop_table("leads")
    op.drop_table("channels")
