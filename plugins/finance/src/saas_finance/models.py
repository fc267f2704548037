"""The plugin's tables: instruments and their daily closes, accounts, holdings, the ledger, targets.

Every table leads with `tenant_id`; every foreign key is composite with it, so no row can point
into another tenant. Cash balances and holdings are maintained in the transaction that appends
each ledger row; their CHECK constraints (never negative) are the last wall against overspending
and overselling. The ledger refuses UPDATE and DELETE in the database (a trigger, see the migration).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Identity,
    Index,
    Numeric,
    String,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from saas.plugin_api import TenantModel, created_at_column, uuid_pk

PRICE = Numeric(20, 8)
QUANTITY = Numeric(24, 8)
MONEY = Numeric(18, 2)
WEIGHT = Numeric(9, 8)


class AssetClass(StrEnum):
    """What an instrument is; stored as the value (`fin_instruments.asset_class`)."""

    EQUITY = "equity"
    BOND = "bond"
    FUND = "fund"
    CASH_EQUIVALENT = "cash_equivalent"
    COMMODITY = "commodity"
    CRYPTO = "crypto"


# Traded in whole units only (a rebalancing plan never suggests a fraction of them).
WHOLE_UNITS = frozenset({AssetClass.EQUITY, AssetClass.FUND})


class TransactionKind(StrEnum):
    """What a ledger row did; stored as the value (`fin_transactions.kind`)."""

    BUY = "buy"
    SELL = "sell"
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    DIVIDEND = "dividend"
    FEE = "fee"


class TradeSide(StrEnum):
    BUY = "buy"
    SELL = "sell"


def _tenant_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE")


def _in(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Instrument(TenantModel):
    """Something with a price; `last_price` is the newest quote's (never an older one's)."""

    __tablename__ = "fin_instruments"
    __table_args__ = (
        _tenant_fk(),
        CheckConstraint(_in("asset_class", AssetClass), name="asset_class_known"),
        CheckConstraint("last_price IS NULL OR last_price > 0", name="last_price_positive"),
        Index("uq_fin_instruments_tenant_symbol", "tenant_id", "symbol", unique=True),
        Index("ix_fin_instruments_tenant_class", "tenant_id", "asset_class", "symbol"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    symbol: Mapped[str] = mapped_column(String(32), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    asset_class: Mapped[str] = mapped_column(String(24), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    last_price: Mapped[Decimal | None] = mapped_column(PRICE)
    last_price_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    previous_close: Mapped[Decimal | None] = mapped_column(PRICE)
    created_at: Mapped[datetime] = created_at_column()


class DailyClose(TenantModel):
    """The close of one instrument on one UTC day: the price of that day's newest quote."""

    __tablename__ = "fin_daily_closes"
    __table_args__ = (
        _tenant_fk(),
        ForeignKeyConstraint(
            ["tenant_id", "instrument_id"], ["fin_instruments.tenant_id", "fin_instruments.id"], ondelete="CASCADE"
        ),
        CheckConstraint("close > 0", name="close_positive"),
    )

    instrument_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    on: Mapped[date] = mapped_column(Date, primary_key=True)
    close: Mapped[Decimal] = mapped_column(PRICE, nullable=False)
    quoted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class Account(TenantModel):
    """A customer's account; `cash_balance` is the ledger's cash, kept in the same transaction."""

    __tablename__ = "fin_accounts"
    __table_args__ = (
        _tenant_fk(),
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"], ondelete="RESTRICT"
        ),
        CheckConstraint("cash_balance >= 0", name="cash_not_negative"),
        Index("uq_fin_accounts_tenant_number", "tenant_id", "number", unique=True),
        Index("ix_fin_accounts_tenant_customer", "tenant_id", "customer_id", "number"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    number: Mapped[str] = mapped_column(String(32), nullable=False)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    cash_balance: Mapped[Decimal] = mapped_column(MONEY, nullable=False, server_default="0")
    created_at: Mapped[datetime] = created_at_column()


class Holding(TenantModel):
    """Units of one instrument in one account, kept by the ledger; never negative."""

    __tablename__ = "fin_holdings"
    __table_args__ = (
        _tenant_fk(),
        ForeignKeyConstraint(
            ["tenant_id", "account_id"], ["fin_accounts.tenant_id", "fin_accounts.id"], ondelete="RESTRICT"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "instrument_id"], ["fin_instruments.tenant_id", "fin_instruments.id"], ondelete="RESTRICT"
        ),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    instrument_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY, nullable=False, server_default="0")


class Transaction(TenantModel):
    """One row of the append-only ledger (a trigger refuses UPDATE and direct DELETE).

    `amount` is the gross cash of the row (quantity * price for trades), `fee` what the account
    paid on top; the cash effect follows from the kind (`service/ledger.py` `cash_effect`).
    """

    __tablename__ = "fin_transactions"
    __table_args__ = (
        _tenant_fk(),
        ForeignKeyConstraint(
            ["tenant_id", "account_id"], ["fin_accounts.tenant_id", "fin_accounts.id"], ondelete="RESTRICT"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "instrument_id"], ["fin_instruments.tenant_id", "fin_instruments.id"], ondelete="RESTRICT"
        ),
        CheckConstraint(_in("kind", TransactionKind), name="kind_known"),
        CheckConstraint("amount >= 0 AND fee >= 0", name="amounts_not_negative"),
        CheckConstraint(
            "kind NOT IN ('buy', 'sell') OR (instrument_id IS NOT NULL AND quantity > 0 AND price > 0)",
            name="trade_has_instrument",
        ),
        Index("ix_fin_transactions_tenant_account", "tenant_id", "account_id", "occurred_at", "seq"),
        Index("ix_fin_transactions_tenant_account_instrument", "tenant_id", "account_id", "instrument_id", "seq"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    # Ledger order within a moment: a database sequence, so rows keep the order they were written in.
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), nullable=False)
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    instrument_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    quantity: Mapped[Decimal | None] = mapped_column(QUANTITY)
    price: Mapped[Decimal | None] = mapped_column(PRICE)
    amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    fee: Mapped[Decimal] = mapped_column(MONEY, nullable=False, server_default="0")
    cash_after: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = created_at_column()

    __mapper_args__ = {"eager_defaults": True}


class TargetWeight(TenantModel):
    """The share of an account's value an asset class should hold (an account's weights sum to 1)."""

    __tablename__ = "fin_target_weights"
    __table_args__ = (
        _tenant_fk(),
        ForeignKeyConstraint(
            ["tenant_id", "account_id"], ["fin_accounts.tenant_id", "fin_accounts.id"], ondelete="CASCADE"
        ),
        CheckConstraint(_in("asset_class", AssetClass), name="asset_class_known"),
        CheckConstraint("weight >= 0 AND weight <= 1", name="weight_within_one"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    asset_class: Mapped[str] = mapped_column(String(24), primary_key=True)
    weight: Mapped[Decimal] = mapped_column(WEIGHT, nullable=False)
