"""Return requests on orders and their lines."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, DateTime, ForeignKeyConstraint, Index, Integer, Numeric, String, Text, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from saas.db.base import Base, TenantOwned, created_at_column, uuid_pk


class ReturnStatus(StrEnum):
    """requested → approved → received → refunded; requested or approved → rejected."""

    REQUESTED = "requested"
    APPROVED = "approved"
    RECEIVED = "received"
    REFUNDED = "refunded"
    REJECTED = "rejected"


# The lifecycle: from each status, where a return may go next.
TRANSITIONS: dict[ReturnStatus, frozenset[ReturnStatus]] = {
    ReturnStatus.REQUESTED: frozenset({ReturnStatus.APPROVED, ReturnStatus.REJECTED}),
    ReturnStatus.APPROVED: frozenset({ReturnStatus.RECEIVED, ReturnStatus.REJECTED}),
    ReturnStatus.RECEIVED: frozenset({ReturnStatus.REFUNDED}),
    ReturnStatus.REFUNDED: frozenset(),
    ReturnStatus.REJECTED: frozenset(),
}


class ReturnRequest(TenantOwned, Base):
    __tablename__ = "return_requests"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "order_id"], ["orders.tenant_id", "orders.id"], ondelete="RESTRICT"),
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"], ondelete="RESTRICT"
        ),
        ForeignKeyConstraint(["tenant_id", "requested_by_id"], ["memberships.tenant_id", "memberships.id"]),
        CheckConstraint("status IN ('requested', 'approved', 'received', 'refunded', 'rejected')", name="status_known"),
        CheckConstraint("value >= 0", name="value_not_negative"),
        CheckConstraint(
            "refunded_amount IS NULL OR (refunded_amount > 0 AND refunded_amount <= value)", name="refund_within_value"
        ),
        Index("ix_return_requests_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_return_requests_tenant_order", "tenant_id", "order_id"),
        Index("ix_return_requests_tenant_customer", "tenant_id", "customer_id", "created_at", "id"),
        Index("ix_return_requests_tenant_status", "tenant_id", "status", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    order_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="requested")
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    # What the returned lines were sold for: quantity x unit price, summed; the refund's ceiling.
    value: Mapped[Decimal] = mapped_column(Numeric(16, 2), nullable=False)
    refunded_amount: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refunded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rejected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class ReturnLine(TenantOwned, Base):
    """How many of one order line come back."""

    __tablename__ = "return_lines"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "return_id"], ["return_requests.tenant_id", "return_requests.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "order_line_id"], ["order_lines.tenant_id", "order_lines.id"], ondelete="RESTRICT"
        ),
        ForeignKeyConstraint(["tenant_id", "product_id"], ["products.tenant_id", "products.id"]),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_return_lines_tenant_return", "tenant_id", "return_id", "position"),
        Index("ix_return_lines_tenant_order_line", "tenant_id", "order_line_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    return_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    order_line_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    product_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(16, 2), nullable=False)
