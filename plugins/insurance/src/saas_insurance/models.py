"""The plugin's tables: rating tables, policies, claims and their payments, churn models, and the
records that make retention tasks and cross-sell leads happen once.

Every table leads with `tenant_id`; every foreign key is composite with it, so no row can point
into another tenant. Amounts are `numeric`, never floats.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from saas.plugin_api import TenantModel, created_at_column, uuid_pk


class Line(StrEnum):
    """A line of business; stored as the value."""

    AUTO = "auto"
    HOME = "home"
    LIFE = "life"
    HEALTH = "health"


class PolicyStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class ClaimStatus(StrEnum):
    REPORTED = "reported"
    APPROVED = "approved"
    DENIED = "denied"
    CLOSED = "closed"


class ChurnModelKind(StrEnum):
    RULES = "rules"
    LOGISTIC_REGRESSION = "logistic_regression"


def _tenant_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE")


def _customer_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"], ondelete="CASCADE"
    )


def _money() -> Mapped[Decimal]:
    return mapped_column(Numeric(16, 2), nullable=False)


class Counter(TenantModel):
    """The last number given per kind (`policy`, `claim`): numbers are per tenant, without gaps."""

    __tablename__ = "ins_counters"
    __table_args__ = (_tenant_fk(),)

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, nullable=False)


class RatingTable(TenantModel):
    """One version of a line's rating table; the highest version is the one quotes use."""

    __tablename__ = "ins_rating_tables"
    __table_args__ = (
        _tenant_fk(),
        Index("uq_ins_rating_tables_line_version", "tenant_id", "line", "version", unique=True),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    line: Mapped[str] = mapped_column(String(10), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    base_frequency: Mapped[Decimal] = mapped_column(Numeric(12, 6), nullable=False)
    base_severity: Mapped[Decimal] = mapped_column(Numeric(12, 6), nullable=False)
    expense_loading: Mapped[Decimal] = mapped_column(Numeric(6, 4), nullable=False)
    profit_loading: Mapped[Decimal] = mapped_column(Numeric(6, 4), nullable=False)
    full_credibility_claims: Mapped[int] = mapped_column(Integer, nullable=False)
    # [{"name": "driverAge", "level": "18-25", "relativity": "1.50"}, ...]
    factors: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class Policy(TenantModel):
    """A customer's policy for one term; a renewal is a new policy pointing at the one it renews."""

    __tablename__ = "ins_policies"
    __table_args__ = (
        _tenant_fk(),
        _customer_fk(),
        ForeignKeyConstraint(
            ["tenant_id", "rating_table_id"],
            ["ins_rating_tables.tenant_id", "ins_rating_tables.id"],
            ondelete="RESTRICT",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "renewed_from_id"], ["ins_policies.tenant_id", "ins_policies.id"], ondelete="RESTRICT"
        ),
        Index("uq_ins_policies_number", "tenant_id", "number", unique=True),
        Index("uq_ins_policies_renewed_from", "tenant_id", "renewed_from_id", unique=True),
        Index("ix_ins_policies_customer", "tenant_id", "customer_id", "starts_on"),
        Index("ix_ins_policies_ends_on", "tenant_id", "status", "ends_on"),
        Index("ix_ins_policies_created", "tenant_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    number: Mapped[str] = mapped_column(String(20), nullable=False)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    line: Mapped[str] = mapped_column(String(10), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    premium: Mapped[Decimal] = _money()
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    sum_insured: Mapped[Decimal] = _money()
    starts_on: Mapped[date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[date] = mapped_column(Date, nullable=False)
    rating_factors: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    rating_table_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    renewed_from_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    renewals: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    cancelled_on: Mapped[date | None] = mapped_column(Date)
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    renewal_score: Mapped[Decimal | None] = mapped_column(Numeric(6, 4))
    renewal_reasons: Mapped[list[str] | None] = mapped_column(JSONB)
    scored_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )


class Claim(TenantModel):
    """A loss reported on a policy (first notice of loss), its reserve, decision and payments."""

    __tablename__ = "ins_claims"
    __table_args__ = (
        _tenant_fk(),
        _customer_fk(),
        ForeignKeyConstraint(
            ["tenant_id", "policy_id"], ["ins_policies.tenant_id", "ins_policies.id"], ondelete="CASCADE"
        ),
        Index("uq_ins_claims_number", "tenant_id", "number", unique=True),
        Index("ix_ins_claims_policy", "tenant_id", "policy_id", "occurred_on"),
        Index("ix_ins_claims_customer", "tenant_id", "customer_id", "occurred_on"),
        Index("ix_ins_claims_created", "tenant_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    number: Mapped[str] = mapped_column(String(20), nullable=False)
    policy_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    occurred_on: Mapped[date] = mapped_column(Date, nullable=False)
    reported_on: Mapped[date] = mapped_column(Date, nullable=False)
    cause: Mapped[str] = mapped_column(String(100), nullable=False)
    region: Mapped[str] = mapped_column(String(100), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    reserve: Mapped[Decimal] = _money()
    paid_amount: Mapped[Decimal] = _money()
    decision_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )


class ClaimPayment(TenantModel):
    """One payment on a claim (append-only); their sum is the claim's `paid_amount`."""

    __tablename__ = "ins_claim_payments"
    __table_args__ = (
        _tenant_fk(),
        ForeignKeyConstraint(["tenant_id", "claim_id"], ["ins_claims.tenant_id", "ins_claims.id"], ondelete="CASCADE"),
        Index("ix_ins_claim_payments_claim", "tenant_id", "claim_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    claim_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    amount: Mapped[Decimal] = _money()
    paid_on: Mapped[date] = mapped_column(Date, nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class ChurnModel(TenantModel):
    """A tenant's fitted logistic regression: standardised features, coefficients, held-out AUC."""

    __tablename__ = "ins_churn_models"
    __table_args__ = (_tenant_fk(), Index("ix_ins_churn_models_trained", "tenant_id", "trained_at"))

    id: Mapped[uuid.UUID] = uuid_pk()
    trained_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    samples: Mapped[int] = mapped_column(Integer, nullable=False)
    auc: Mapped[Decimal] = mapped_column(Numeric(6, 4), nullable=False)
    intercept: Mapped[Decimal] = mapped_column(Numeric(20, 10), nullable=False)
    # {"feature": {"coefficient": "…", "mean": "…", "scale": "…"}} in FEATURES order
    coefficients: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)


class RetentionTask(TenantModel):
    """A policy whose owner got a retention task: one per policy, whatever the job's reruns."""

    __tablename__ = "ins_retention_tasks"
    __table_args__ = (
        _tenant_fk(),
        ForeignKeyConstraint(
            ["tenant_id", "policy_id"], ["ins_policies.tenant_id", "ins_policies.id"], ondelete="CASCADE"
        ),
    )

    policy_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    task_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class CrossSellLead(TenantModel):
    """A customer who got a pool lead for a line: one per customer and line."""

    __tablename__ = "ins_cross_sell_leads"
    __table_args__ = (_tenant_fk(), _customer_fk())

    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    line: Mapped[str] = mapped_column(String(10), primary_key=True)
    lead_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
