"""The pipeline and what follows a win: stages, opportunities and their stage history, contracts,
orders and their lines, payment plans, installments and payments, invoices, and the per-tenant
deal settings (who approves invoices). Opportunities carry `custom_fields` (JSONB, with a GIN
`jsonb_path_ops` index for filtering, as customers and contacts do). Row-level security and
grants come from `secure_schema` after the migration run, like every tenant table's.

Revision ID: 0011_deals
Revises: 0010_custom_fields
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011_deals"
down_revision = "0010_custom_fields"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deal_settings",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column(
            "invoice_approver_roles",
            postgresql.ARRAY(sa.String(length=20)),
            server_default=sa.text("'{owner,admin}'"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_deal_settings_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_deal_settings")),
    )
    op.create_table(
        "pipeline_stages",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("probability", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('open', 'won', 'lost')", name=op.f("ck_pipeline_stages_kind")),
        sa.CheckConstraint(
            "probability >= 0 AND probability <= 100", name=op.f("ck_pipeline_stages_probability_percent")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_pipeline_stages_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_pipeline_stages")),
    )
    op.create_index(
        "ix_pipeline_stages_tenant_position", "pipeline_stages", ["tenant_id", "position", "id"], unique=False
    )
    op.create_index(
        "uq_pipeline_stages_tenant_name", "pipeline_stages", ["tenant_id", sa.text("lower(name)")], unique=True
    )
    op.create_table(
        "opportunities",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("owner_id", sa.UUID(), nullable=True),
        sa.Column("stage_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("expected_close_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=10), server_default="open", nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "custom_fields",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('open', 'won', 'lost')", name=op.f("ck_opportunities_status")),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_opportunities_amount_not_negative")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            name=op.f("fk_opportunities_tenant_id_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "owner_id"],
            ["memberships.tenant_id", "memberships.id"],
            name=op.f("fk_opportunities_tenant_id_owner_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "stage_id"],
            ["pipeline_stages.tenant_id", "pipeline_stages.id"],
            name=op.f("fk_opportunities_tenant_id_stage_id_pipeline_stages"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_opportunities_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_opportunities")),
    )
    op.create_index("ix_opportunities_tenant_created", "opportunities", ["tenant_id", "created_at", "id"], unique=False)
    op.create_index(
        "ix_opportunities_tenant_customer",
        "opportunities",
        ["tenant_id", "customer_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_opportunities_tenant_owner", "opportunities", ["tenant_id", "owner_id", "created_at", "id"], unique=False
    )
    op.create_index("ix_opportunities_tenant_stage", "opportunities", ["tenant_id", "stage_id"], unique=False)
    op.create_index(
        "ix_opportunities_custom_fields",
        "opportunities",
        ["custom_fields"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"custom_fields": "jsonb_path_ops"},
    )
    op.create_table(
        "contracts",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("opportunity_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("number", sa.String(length=50), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("created_by_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_contracts_amount_positive")),
        sa.CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name=op.f("ck_contracts_period")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "created_by_id"],
            ["memberships.tenant_id", "memberships.id"],
            name=op.f("fk_contracts_tenant_id_created_by_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            name=op.f("fk_contracts_tenant_id_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "opportunity_id"],
            ["opportunities.tenant_id", "opportunities.id"],
            name=op.f("fk_contracts_tenant_id_opportunity_id_opportunities"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_contracts_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_contracts")),
    )
    op.create_index(
        "ix_contracts_tenant_customer", "contracts", ["tenant_id", "customer_id", "created_at", "id"], unique=False
    )
    op.create_index("ix_contracts_tenant_opportunity", "contracts", ["tenant_id", "opportunity_id"], unique=False)
    op.create_index("uq_contracts_tenant_number", "contracts", ["tenant_id", "number"], unique=True)
    op.create_table(
        "opportunity_stage_changes",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("opportunity_id", sa.UUID(), nullable=False),
        sa.Column("from_stage_id", sa.UUID(), nullable=True),
        sa.Column("to_stage_id", sa.UUID(), nullable=False),
        sa.Column("changed_by_id", sa.UUID(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "changed_by_id"],
            ["memberships.tenant_id", "memberships.id"],
            name=op.f("fk_opportunity_stage_changes_tenant_id_changed_by_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "from_stage_id"],
            ["pipeline_stages.tenant_id", "pipeline_stages.id"],
            name=op.f("fk_opportunity_stage_changes_tenant_id_from_stage_id_pipeline_stages"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "opportunity_id"],
            ["opportunities.tenant_id", "opportunities.id"],
            name=op.f("fk_opportunity_stage_changes_tenant_id_opportunity_id_opportunities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "to_stage_id"],
            ["pipeline_stages.tenant_id", "pipeline_stages.id"],
            name=op.f("fk_opportunity_stage_changes_tenant_id_to_stage_id_pipeline_stages"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_opportunity_stage_changes")),
    )
    op.create_index(
        "ix_opportunity_stage_changes_tenant_opportunity",
        "opportunity_stage_changes",
        ["tenant_id", "opportunity_id", "changed_at", "id"],
        unique=False,
    )
    op.create_table(
        "invoices",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("contract_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="requested", nullable=False),
        sa.Column("number", sa.String(length=50), nullable=True),
        sa.Column("requested_by_id", sa.UUID(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("decided_by_id", sa.UUID(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("issued_by_id", sa.UUID(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint("(status = 'issued') = (number IS NOT NULL)", name=op.f("ck_invoices_number_when_issued")),
        sa.CheckConstraint(
            "status IN ('requested', 'approved', 'rejected', 'issued')", name=op.f("ck_invoices_status")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_invoices_amount_positive")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "contract_id"],
            ["contracts.tenant_id", "contracts.id"],
            name=op.f("fk_invoices_tenant_id_contract_id_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            name=op.f("fk_invoices_tenant_id_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "decided_by_id"],
            ["memberships.tenant_id", "memberships.id"],
            name=op.f("fk_invoices_tenant_id_decided_by_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "issued_by_id"],
            ["memberships.tenant_id", "memberships.id"],
            name=op.f("fk_invoices_tenant_id_issued_by_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "requested_by_id"],
            ["memberships.tenant_id", "memberships.id"],
            name=op.f("fk_invoices_tenant_id_requested_by_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_invoices_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_invoices")),
    )
    op.create_index("ix_invoices_tenant_contract", "invoices", ["tenant_id", "contract_id"], unique=False)
    op.create_index(
        "ix_invoices_tenant_customer", "invoices", ["tenant_id", "customer_id", "requested_at", "id"], unique=False
    )
    op.create_index(
        "uq_invoices_tenant_number",
        "invoices",
        ["tenant_id", "number"],
        unique=True,
        postgresql_where=sa.text("number IS NOT NULL"),
    )
    op.create_table(
        "orders",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("contract_id", sa.UUID(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("created_by_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "contract_id"],
            ["contracts.tenant_id", "contracts.id"],
            name=op.f("fk_orders_tenant_id_contract_id_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "created_by_id"],
            ["memberships.tenant_id", "memberships.id"],
            name=op.f("fk_orders_tenant_id_created_by_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            name=op.f("fk_orders_tenant_id_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_orders_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_orders")),
    )
    op.create_index("ix_orders_tenant_contract", "orders", ["tenant_id", "contract_id"], unique=False)
    op.create_index(
        "ix_orders_tenant_customer", "orders", ["tenant_id", "customer_id", "created_at", "id"], unique=False
    )
    op.create_table(
        "payment_plans",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("contract_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "contract_id"],
            ["contracts.tenant_id", "contracts.id"],
            name=op.f("fk_payment_plans_tenant_id_contract_id_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            name=op.f("fk_payment_plans_tenant_id_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_payment_plans_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_payment_plans")),
    )
    op.create_index(
        "ix_payment_plans_tenant_customer",
        "payment_plans",
        ["tenant_id", "customer_id", "created_at", "id"],
        unique=False,
    )
    op.create_index("uq_payment_plans_tenant_contract", "payment_plans", ["tenant_id", "contract_id"], unique=True)
    op.create_table(
        "order_lines",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("order_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.UUID(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("amount", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_order_lines_quantity_positive")),
        sa.CheckConstraint("unit_price >= 0", name=op.f("ck_order_lines_unit_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            name=op.f("fk_order_lines_tenant_id_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "product_id"],
            ["products.tenant_id", "products.id"],
            name=op.f("fk_order_lines_tenant_id_product_id_products"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_order_lines")),
    )
    op.create_index("ix_order_lines_tenant_order", "order_lines", ["tenant_id", "order_id", "position"], unique=False)
    op.create_table(
        "payment_installments",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("plan_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("received_amount", sa.Numeric(precision=14, scale=2), server_default="0", nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payment_installments_amount_positive")),
        sa.CheckConstraint(
            "received_amount >= 0 AND received_amount <= amount",
            name=op.f("ck_payment_installments_received_within_amount"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "plan_id"],
            ["payment_plans.tenant_id", "payment_plans.id"],
            name=op.f("fk_payment_installments_tenant_id_plan_id_payment_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_payment_installments")),
    )
    op.create_index("ix_payment_installments_tenant_due", "payment_installments", ["tenant_id", "due_on"], unique=False)
    op.create_index(
        "ix_payment_installments_tenant_plan",
        "payment_installments",
        ["tenant_id", "plan_id", "position"],
        unique=False,
    )
    op.create_table(
        "payments",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("installment_id", sa.UUID(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("recorded_by_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payments_amount_positive")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "installment_id"],
            ["payment_installments.tenant_id", "payment_installments.id"],
            name=op.f("fk_payments_tenant_id_installment_id_payment_installments"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "recorded_by_id"],
            ["memberships.tenant_id", "memberships.id"],
            name=op.f("fk_payments_tenant_id_recorded_by_id_memberships"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_payments")),
    )
    op.create_index(
        "ix_payments_tenant_installment", "payments", ["tenant_id", "installment_id", "received_on", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_payments_tenant_installment", table_name="payments")
    op.drop_table("payments")
    op.drop_index("ix_payment_installments_tenant_due", table_name="payment_installments")
    op.drop_index("ix_payment_installments_tenant_plan", table_name="payment_installments")
    op.drop_table("payment_installments")
    op.drop_index("ix_order_lines_tenant_order", table_name="order_lines")
    op.drop_table("order_lines")
    op.drop_index("ix_payment_plans_tenant_customer", table_name="payment_plans")
    op.drop_index("uq_payment_plans_tenant_contract", table_name="payment_plans")
    op.drop_table("payment_plans")
    op.drop_index("ix_orders_tenant_contract", table_name="orders")
    op.drop_index("ix_orders_tenant_customer", table_name="orders")
    op.drop_table("orders")
    op.drop_index("ix_invoices_tenant_contract", table_name="invoices")
    op.drop_index("ix_invoices_tenant_customer", table_name="invoices")
    op.drop_index("uq_invoices_tenant_number", table_name="invoices")
    op.drop_table("invoices")
    op.drop_index("ix_opportunity_stage_changes_tenant_opportunity", table_name="opportunity_stage_changes")
    op.drop_table("opportunity_stage_changes")
    op.drop_index("ix_contracts_tenant_customer", table_name="contracts")
    op.drop_index("ix_contracts_tenant_opportunity", table_name="contracts")
    op.drop_index("uq_contracts_tenant_number", table_name="contracts")
    op.drop_table("contracts")
    op.drop_index("ix_opportunities_custom_fields", table_name="opportunities", postgresql_using="gin")
    op.drop_index("ix_opportunities_tenant_created", table_name="opportunities")
    op.drop_index("ix_opportunities_tenant_customer", table_name="opportunities")
    op.drop_index("ix_opportunities_tenant_owner", table_name="opportunities")
    op.drop_index("ix_opportunities_tenant_stage", table_name="opportunities")
    op.drop_table("opportunities")
    op.drop_index("ix_pipeline_stages_tenant_position", table_name="pipeline_stages")
    op.drop_index("uq_pipeline_stages_tenant_name", table_name="pipeline_stages")
    op.drop_table("pipeline_stages")
    op.drop_table("deal_settings")
