"""Work orders: a technician's visit to a customer, scheduled, then completed with hours worked (or cancelled)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, DateTime, ForeignKeyConstraint, Index, Numeric, String, Text, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from saas.db.base import Base, TenantOwned, created_at_column, uuid_pk


class WorkOrderKind(StrEnum):
    TESTING = "testing"
    INSTALLATION = "installation"
    DEMO = "demo"
    REPAIR = "repair"


class WorkOrderStatus(StrEnum):
    """SCHEDULED → COMPLETED (hours worked, report) or CANCELLED (frees the technician's time)."""

    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


# The exclusion constraint that keeps a technician's non-cancelled work orders apart (migration 0014):
# its name is how the service recognises a clash and answers OVERLAP.
NO_OVERLAP_CONSTRAINT = "ex_work_orders_technician_no_overlap"


class WorkOrder(TenantOwned, Base):
    __tablename__ = "work_orders"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"], ondelete="RESTRICT"
        ),
        ForeignKeyConstraint(["tenant_id", "technician_id"], ["memberships.tenant_id", "memberships.id"]),
        ForeignKeyConstraint(["tenant_id", "created_by_id"], ["memberships.tenant_id", "memberships.id"]),
        CheckConstraint("kind IN ('testing', 'installation', 'demo', 'repair')", name="kind_known"),
        CheckConstraint("status IN ('scheduled', 'completed', 'cancelled')", name="status_known"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("hours_worked IS NULL OR hours_worked > 0", name="hours_positive"),
        Index("ix_work_orders_tenant_starts", "tenant_id", "starts_at", "id"),
        Index("ix_work_orders_tenant_customer", "tenant_id", "customer_id", "starts_at", "id"),
        ForeignKeyConstraint(["tenant_id", "ticket_id"], ["tickets.tenant_id", "tickets.id"]),
        Index("ix_work_orders_tenant_ticket", "tenant_id", "ticket_id"),
        # The technician's calendar is served by the exclusion constraint's GiST index
        # (tenant_id, technician_id, tstzrange(starts_at, ends_at)).
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    technician_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="scheduled")
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    hours_worked: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    report: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
