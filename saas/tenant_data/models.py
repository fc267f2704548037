"""An owner's export of the tenant's data: its progress, and the download it produced."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, DateTime, ForeignKeyConstraint, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from saas.db.base import Base, TenantOwned, created_at_column, uuid_pk


class ExportStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class TenantExport(TenantOwned, Base):
    """One `exportTenantData` request. `download_id` names the archive once complete; the link to
    it is handed out once (`link_issued_at`)."""

    __tablename__ = "tenant_exports"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "requested_by_id"], ["memberships.tenant_id", "memberships.id"]),
        Index("ix_tenant_exports_tenant_created", "tenant_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    status: Mapped[str] = mapped_column(String(20), nullable=False, default=ExportStatus.PENDING.value)
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    tables_total: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    tables_done: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    rows_done: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
    download_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    link_issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
