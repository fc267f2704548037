"""Insurance: rating tables, policies, claims and payments, churn models, retention and cross-sell records.

Row-level security (enabled and forced) and the application role's grants come from `saas migrate`,
which secures every table with a `tenant_id` after the plugins' migrations.

Revision ID: ins_0001
Revises: (branch base; depends on the core's customers, 0001)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "ins_0001"
down_revision = None
branch_labels = ("insurance",)
depends_on = "0001"


def _id() -> sa.Column:
    return sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False)


def _tenant() -> sa.Column:
    return sa.Column("tenant_id", sa.UUID(), nullable=False)


def _now(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)


def _money(name: str) -> sa.Column:
    return sa.Column(name, sa.Numeric(16, 2), nullable=False)


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"), ondelete="CASCADE"
    )


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{target}.tenant_id", f"{target}.id"],
        name=op.f(f"fk_{table}_tenant_id_{column}_{target}"),
        ondelete=ondelete,
    )


def _check(table: str, name: str, condition: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(condition, name=op.f(f"ck_{table}_{name}"))


def upgrade() -> None:
    op.create_table(
        "ins_counters",
        _tenant(),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        _tenant_fk("ins_counters"),
        sa.PrimaryKeyConstraint("tenant_id", "kind", name=op.f("pk_ins_counters")),
    )

    op.create_table(
        "ins_rating_tables",
        _tenant(),
        _id(),
        sa.Column("line", sa.String(length=10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("base_frequency", sa.Numeric(12, 6), nullable=False),
        sa.Column("base_severity", sa.Numeric(12, 6), nullable=False),
        sa.Column("expense_loading", sa.Numeric(6, 4), nullable=False),
        sa.Column("profit_loading", sa.Numeric(6, 4), nullable=False),
        sa.Column("full_credibility_claims", sa.Integer(), nullable=False),
        sa.Column("factors", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        _now("created_at"),
        _tenant_fk("ins_rating_tables"),
        _check("ins_rating_tables", "loadings_below_one", "expense_loading + profit_loading < 1"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_ins_rating_tables")),
    )
    op.create_index(
        "uq_ins_rating_tables_line_version", "ins_rating_tables", ["tenant_id", "line", "version"], unique=True
    )

    op.create_table(
        "ins_policies",
        _tenant(),
        _id(),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("line", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        _money("premium"),
        sa.Column("currency", sa.String(length=3), nullable=False),
        _money("sum_insured"),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column(
            "rating_factors",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("rating_table_id", sa.UUID(), nullable=False),
        sa.Column("renewed_from_id", sa.UUID(), nullable=True),
        sa.Column("renewals", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cancelled_on", sa.Date(), nullable=True),
        sa.Column("cancel_reason", sa.String(length=500), nullable=True),
        sa.Column("renewal_score", sa.Numeric(6, 4), nullable=True),
        sa.Column("renewal_reasons", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=True),
        _now("created_at"),
        _now("updated_at"),
        _tenant_fk("ins_policies"),
        _fk("ins_policies", "customer_id", "customers", "CASCADE"),
        _fk("ins_policies", "rating_table_id", "ins_rating_tables", "RESTRICT"),
        _fk("ins_policies", "renewed_from_id", "ins_policies", "RESTRICT"),
        _check("ins_policies", "term", "ends_on > starts_on"),
        _check("ins_policies", "amounts", "premium >= 0 AND sum_insured > 0"),
        _check("ins_policies", "status", "status IN ('active', 'expired', 'cancelled')"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_ins_policies")),
    )
    op.create_index("uq_ins_policies_number", "ins_policies", ["tenant_id", "number"], unique=True)
    op.create_index("uq_ins_policies_renewed_from", "ins_policies", ["tenant_id", "renewed_from_id"], unique=True)
    op.create_index("ix_ins_policies_customer", "ins_policies", ["tenant_id", "customer_id", "starts_on"])
    op.create_index("ix_ins_policies_ends_on", "ins_policies", ["tenant_id", "status", "ends_on"])
    op.create_index("ix_ins_policies_created", "ins_policies", ["tenant_id", "created_at", "id"])

    op.create_table(
        "ins_claims",
        _tenant(),
        _id(),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("policy_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("reported_on", sa.Date(), nullable=False),
        sa.Column("cause", sa.String(length=100), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        _money("reserve"),
        _money("paid_amount"),
        sa.Column("decision_reason", sa.String(length=500), nullable=True),
        _now("created_at"),
        _now("updated_at"),
        _tenant_fk("ins_claims"),
        _fk("ins_claims", "customer_id", "customers", "CASCADE"),
        _fk("ins_claims", "policy_id", "ins_policies", "CASCADE"),
        _check("ins_claims", "amounts", "reserve >= 0 AND paid_amount >= 0"),
        _check("ins_claims", "status", "status IN ('reported', 'approved', 'denied', 'closed')"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_ins_claims")),
    )
    op.create_index("uq_ins_claims_number", "ins_claims", ["tenant_id", "number"], unique=True)
    op.create_index("ix_ins_claims_policy", "ins_claims", ["tenant_id", "policy_id", "occurred_on"])
    op.create_index("ix_ins_claims_customer", "ins_claims", ["tenant_id", "customer_id", "occurred_on"])
    op.create_index("ix_ins_claims_created", "ins_claims", ["tenant_id", "created_at", "id"])

    op.create_table(
        "ins_claim_payments",
        _tenant(),
        _id(),
        sa.Column("claim_id", sa.UUID(), nullable=False),
        _money("amount"),
        sa.Column("paid_on", sa.Date(), nullable=False),
        _now("created_at"),
        _tenant_fk("ins_claim_payments"),
        _fk("ins_claim_payments", "claim_id", "ins_claims", "CASCADE"),
        _check("ins_claim_payments", "positive", "amount > 0"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_ins_claim_payments")),
    )
    op.create_index("ix_ins_claim_payments_claim", "ins_claim_payments", ["tenant_id", "claim_id"])

    op.create_table(
        "ins_churn_models",
        _tenant(),
        _id(),
        _now("trained_at"),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("auc", sa.Numeric(6, 4), nullable=False),
        sa.Column("intercept", sa.Numeric(20, 10), nullable=False),
        sa.Column("coefficients", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        _tenant_fk("ins_churn_models"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_ins_churn_models")),
    )
    op.create_index("ix_ins_churn_models_trained", "ins_churn_models", ["tenant_id", "trained_at"])

    op.create_table(
        "ins_retention_tasks",
        _tenant(),
        sa.Column("policy_id", sa.UUID(), nullable=False),
        sa.Column("task_id", sa.UUID(), nullable=False),
        _now("created_at"),
        _tenant_fk("ins_retention_tasks"),
        _fk("ins_retention_tasks", "policy_id", "ins_policies", "CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "policy_id", name=op.f("pk_ins_retention_tasks")),
    )

    op.create_table(
        "ins_cross_sell_leads",
        _tenant(),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("line", sa.String(length=10), nullable=False),
        sa.Column("lead_id", sa.UUID(), nullable=False),
        _now("created_at"),
        _tenant_fk("ins_cross_sell_leads"),
        _fk("ins_cross_sell_leads", "customer_id", "customers", "CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", "line", name=op.f("pk_ins_cross_sell_leads")),
    )


def downgrade() -> None:
    for table in (
        "ins_cross_sell_leads",
        "ins_retention_tasks",
        "ins_churn_models",
        "ins_claim_payments",
        "ins_claims",
        "ins_policies",
        "ins_rating_tables",
        "ins_counters",
    ):
        op.drop_table(table)
