"""Finance: instruments and daily closes, accounts, holdings, the append-only ledger, target weights.

Revision ID: fin_0001
Revises: (branch base; depends on the core's customers table, 0002)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "fin_0001"
down_revision = None
branch_labels = ("finance",)
depends_on = "0002"

# The ledger is append-only: no UPDATE ever, no DELETE except the cascade of a deleted tenant
# (which reaches this trigger from the foreign key's own trigger, at depth > 1).
APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION fin_transactions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND pg_trigger_depth() > 1 THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'fin_transactions is append-only (% refused)', TG_OP USING ERRCODE = 'restrict_violation';
END;
$$
"""
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER fin_transactions_append_only BEFORE UPDATE OR DELETE ON fin_transactions
FOR EACH ROW EXECUTE FUNCTION fin_transactions_append_only()
"""
ASSET_CLASSES = "asset_class IN ('equity', 'bond', 'fund', 'cash_equivalent', 'commodity', 'crypto')"


def _tenant() -> sa.Column:
    return sa.Column("tenant_id", sa.UUID(), nullable=False)


def _id() -> sa.Column:
    return sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False)


def _now(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)


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
        "fin_instruments",
        _tenant(),
        _id(),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("asset_class", sa.String(length=24), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("last_price", sa.Numeric(precision=20, scale=8), nullable=True),
        sa.Column("last_price_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("previous_close", sa.Numeric(precision=20, scale=8), nullable=True),
        _now("created_at"),
        _tenant_fk("fin_instruments"),
        _check("fin_instruments", "asset_class_known", ASSET_CLASSES),
        _check("fin_instruments", "last_price_positive", "last_price IS NULL OR last_price > 0"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_fin_instruments")),
    )
    op.create_index("uq_fin_instruments_tenant_symbol", "fin_instruments", ["tenant_id", "symbol"], unique=True)
    op.create_index("ix_fin_instruments_tenant_class", "fin_instruments", ["tenant_id", "asset_class", "symbol"])

    op.create_table(
        "fin_daily_closes",
        _tenant(),
        sa.Column("instrument_id", sa.UUID(), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("close", sa.Numeric(precision=20, scale=8), nullable=False),
        sa.Column("quoted_at", sa.DateTime(timezone=True), nullable=False),
        _tenant_fk("fin_daily_closes"),
        _fk("fin_daily_closes", "instrument_id", "fin_instruments", "CASCADE"),
        _check("fin_daily_closes", "close_positive", "close > 0"),
        sa.PrimaryKeyConstraint("tenant_id", "instrument_id", "on", name=op.f("pk_fin_daily_closes")),
    )

    op.create_table(
        "fin_accounts",
        _tenant(),
        _id(),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("cash_balance", sa.Numeric(precision=18, scale=2), server_default="0", nullable=False),
        _now("created_at"),
        _tenant_fk("fin_accounts"),
        _fk("fin_accounts", "customer_id", "customers", "RESTRICT"),
        _check("fin_accounts", "cash_not_negative", "cash_balance >= 0"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_fin_accounts")),
    )
    op.create_index("uq_fin_accounts_tenant_number", "fin_accounts", ["tenant_id", "number"], unique=True)
    op.create_index("ix_fin_accounts_tenant_customer", "fin_accounts", ["tenant_id", "customer_id", "number"])

    op.create_table(
        "fin_holdings",
        _tenant(),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("instrument_id", sa.UUID(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=24, scale=8), server_default="0", nullable=False),
        _tenant_fk("fin_holdings"),
        _fk("fin_holdings", "account_id", "fin_accounts", "RESTRICT"),
        _fk("fin_holdings", "instrument_id", "fin_instruments", "RESTRICT"),
        _check("fin_holdings", "quantity_not_negative", "quantity >= 0"),
        sa.PrimaryKeyConstraint("tenant_id", "account_id", "instrument_id", name=op.f("pk_fin_holdings")),
    )

    op.create_table(
        "fin_transactions",
        _tenant(),
        _id(),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("instrument_id", sa.UUID(), nullable=True),
        sa.Column("quantity", sa.Numeric(precision=24, scale=8), nullable=True),
        sa.Column("price", sa.Numeric(precision=20, scale=8), nullable=True),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("fee", sa.Numeric(precision=18, scale=2), server_default="0", nullable=False),
        sa.Column("cash_after", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        _now("created_at"),
        _tenant_fk("fin_transactions"),
        _fk("fin_transactions", "account_id", "fin_accounts", "RESTRICT"),
        _fk("fin_transactions", "instrument_id", "fin_instruments", "RESTRICT"),
        _check(
            "fin_transactions",
            "kind_known",
            "kind IN ('buy', 'sell', 'deposit', 'withdrawal', 'dividend', 'fee')",
        ),
        _check("fin_transactions", "amounts_not_negative", "amount >= 0 AND fee >= 0"),
        _check(
            "fin_transactions",
            "trade_has_instrument",
            "kind NOT IN ('buy', 'sell') OR (instrument_id IS NOT NULL AND quantity > 0 AND price > 0)",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_fin_transactions")),
    )
    op.create_index(
        "ix_fin_transactions_tenant_account", "fin_transactions", ["tenant_id", "account_id", "occurred_at", "seq"]
    )
    op.create_index(
        "ix_fin_transactions_tenant_account_instrument",
        "fin_transactions",
        ["tenant_id", "account_id", "instrument_id", "seq"],
    )
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(APPEND_ONLY_TRIGGER)

    op.create_table(
        "fin_target_weights",
        _tenant(),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("asset_class", sa.String(length=24), nullable=False),
        sa.Column("weight", sa.Numeric(precision=9, scale=8), nullable=False),
        _tenant_fk("fin_target_weights"),
        _fk("fin_target_weights", "account_id", "fin_accounts", "CASCADE"),
        _check("fin_target_weights", "asset_class_known", ASSET_CLASSES),
        _check("fin_target_weights", "weight_within_one", "weight >= 0 AND weight <= 1"),
        sa.PrimaryKeyConstraint("tenant_id", "account_id", "asset_class", name=op.f("pk_fin_target_weights")),
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS fin_transactions_append_only ON fin_transactions")
    op.execute("DROP FUNCTION IF EXISTS fin_transactions_append_only()")
    for table in (
        "fin_target_weights",
        "fin_transactions",
        "fin_holdings",
        "fin_accounts",
        "fin_daily_closes",
        "fin_instruments",
    ):
        op.drop_table(table)
