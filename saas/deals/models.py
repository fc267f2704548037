"""Pipeline stages, opportunities and their stage history, contracts, orders, payment plans, invoices."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
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
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from saas.db.base import Base, TenantOwned, created_at_column, uuid_pk

MONEY = Numeric(14, 2)


class StageKind(StrEnum):
    """What reaching a stage means; an opportunity's status is its stage's kind."""

    OPEN = "open"
    WON = "won"
    LOST = "lost"


class OpportunityStatus(StrEnum):
    """An opportunity's status: the kind of the stage it is in."""

    OPEN = "open"
    WON = "won"
    LOST = "lost"


class InvoiceStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    ISSUED = "issued"


def _tenant_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE")


def _member_fk(column: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id", column], ["memberships.tenant_id", "memberships.id"])


def _customer_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"], ondelete="RESTRICT"
    )


class DealSettings(TenantOwned, Base):
    """One row per tenant, made with the default stages on first use (`ensure_pipeline`)."""

    __tablename__ = "deal_settings"
    __table_args__ = (_tenant_fk(),)

    invoice_approver_roles: Mapped[list[str]] = mapped_column(
        ARRAY(String(20)), nullable=False, server_default=text("'{owner,admin}'")
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __mapper_args__ = {"version_id_col": version}


class PipelineStage(TenantOwned, Base):
    __tablename__ = "pipeline_stages"
    __table_args__ = (
        _tenant_fk(),
        CheckConstraint("probability >= 0 AND probability <= 100", name="probability_percent"),
        CheckConstraint("kind IN ('open', 'won', 'lost')", name="kind"),
        Index("uq_pipeline_stages_tenant_name", "tenant_id", text("lower(name)"), unique=True),
        Index("ix_pipeline_stages_tenant_position", "tenant_id", "position", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    # A percentage with two decimals: 10.00 means 10 %.
    probability: Mapped[Decimal] = mapped_column(Numeric(5, 2), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __mapper_args__ = {"version_id_col": version}


class Opportunity(TenantOwned, Base):
    __tablename__ = "opportunities"
    __table_args__ = (
        _tenant_fk(),
        _customer_fk(),
        _member_fk("owner_id"),
        ForeignKeyConstraint(["tenant_id", "stage_id"], ["pipeline_stages.tenant_id", "pipeline_stages.id"]),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("status IN ('open', 'won', 'lost')", name="status"),
        Index("ix_opportunities_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_opportunities_tenant_customer", "tenant_id", "customer_id", "created_at", "id"),
        Index("ix_opportunities_tenant_owner", "tenant_id", "owner_id", "created_at", "id"),
        Index("ix_opportunities_tenant_stage", "tenant_id", "stage_id"),
        Index(
            "ix_opportunities_custom_fields",
            "custom_fields",
            postgresql_using="gin",
            postgresql_ops={"custom_fields": "jsonb_path_ops"},
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    stage_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    expected_close_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="open")
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    custom_fields: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __mapper_args__ = {"version_id_col": version}


class StageChange(TenantOwned, Base):
    """One entry of an opportunity's stage history (the first has no `from_stage_id`)."""

    __tablename__ = "opportunity_stage_changes"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "opportunity_id"], ["opportunities.tenant_id", "opportunities.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(["tenant_id", "from_stage_id"], ["pipeline_stages.tenant_id", "pipeline_stages.id"]),
        ForeignKeyConstraint(["tenant_id", "to_stage_id"], ["pipeline_stages.tenant_id", "pipeline_stages.id"]),
        _member_fk("changed_by_id"),
        Index("ix_opportunity_stage_changes_tenant_opportunity", "tenant_id", "opportunity_id", "changed_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    opportunity_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    from_stage_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    to_stage_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    changed_by_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    reason: Mapped[str | None] = mapped_column(Text)


class Contract(TenantOwned, Base):
    __tablename__ = "contracts"
    __table_args__ = (
        _tenant_fk(),
        _customer_fk(),
        _member_fk("created_by_id"),
        ForeignKeyConstraint(["tenant_id", "opportunity_id"], ["opportunities.tenant_id", "opportunities.id"]),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="period"),
        Index("uq_contracts_tenant_number", "tenant_id", "number", unique=True),
        Index("ix_contracts_tenant_customer", "tenant_id", "customer_id", "created_at", "id"),
        Index("ix_contracts_tenant_opportunity", "tenant_id", "opportunity_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    opportunity_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    number: Mapped[str] = mapped_column(String(50), nullable=False)
    amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    starts_on: Mapped[date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at_column()


class Order(TenantOwned, Base):
    __tablename__ = "orders"
    __table_args__ = (
        _tenant_fk(),
        _customer_fk(),
        _member_fk("created_by_id"),
        ForeignKeyConstraint(["tenant_id", "contract_id"], ["contracts.tenant_id", "contracts.id"]),
        Index("ix_orders_tenant_customer", "tenant_id", "customer_id", "created_at", "id"),
        Index("ix_orders_tenant_contract", "tenant_id", "contract_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    contract_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    total: Mapped[Decimal] = mapped_column(Numeric(16, 2), nullable=False)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at_column()


class OrderLine(TenantOwned, Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "order_id"], ["orders.tenant_id", "orders.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "product_id"], ["products.tenant_id", "products.id"]),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        Index("ix_order_lines_tenant_order", "tenant_id", "order_id", "position"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    order_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    product_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(16, 2), nullable=False)


class PaymentPlan(TenantOwned, Base):
    __tablename__ = "payment_plans"
    __table_args__ = (
        _tenant_fk(),
        _customer_fk(),
        ForeignKeyConstraint(["tenant_id", "contract_id"], ["contracts.tenant_id", "contracts.id"]),
        Index("uq_payment_plans_tenant_contract", "tenant_id", "contract_id", unique=True),
        Index("ix_payment_plans_tenant_customer", "tenant_id", "customer_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    contract_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    total: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class Installment(TenantOwned, Base):
    __tablename__ = "payment_installments"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "plan_id"], ["payment_plans.tenant_id", "payment_plans.id"], ondelete="CASCADE"
        ),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("received_amount >= 0 AND received_amount <= amount", name="received_within_amount"),
        Index("ix_payment_installments_tenant_plan", "tenant_id", "plan_id", "position"),
        Index("ix_payment_installments_tenant_due", "tenant_id", "due_on"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    plan_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    received_amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False, server_default="0")


class Payment(TenantOwned, Base):
    __tablename__ = "payments"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "installment_id"], ["payment_installments.tenant_id", "payment_installments.id"]
        ),
        _member_fk("recorded_by_id"),
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_payments_tenant_installment", "tenant_id", "installment_id", "received_on", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    installment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    received_on: Mapped[date] = mapped_column(Date, nullable=False)
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at_column()


class Invoice(TenantOwned, Base):
    __tablename__ = "invoices"
    __table_args__ = (
        _tenant_fk(),
        _customer_fk(),
        _member_fk("requested_by_id"),
        _member_fk("decided_by_id"),
        _member_fk("issued_by_id"),
        ForeignKeyConstraint(["tenant_id", "contract_id"], ["contracts.tenant_id", "contracts.id"]),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("status IN ('requested', 'approved', 'rejected', 'issued')", name="status"),
        CheckConstraint("(status = 'issued') = (number IS NOT NULL)", name="number_when_issued"),
        Index(
            "uq_invoices_tenant_number", "tenant_id", "number", unique=True, postgresql_where=text("number IS NOT NULL")
        ),
        Index("ix_invoices_tenant_customer", "tenant_id", "customer_id", "requested_at", "id"),
        Index("ix_invoices_tenant_contract", "tenant_id", "contract_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    contract_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="requested")
    number: Mapped[str | None] = mapped_column(String(50))
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    issued_by_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")

    __mapper_args__ = {"version_id_col": version}
