"""An export job: what was asked (entity, filter, format), how far it got, and the file it made."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, DateTime, ForeignKeyConstraint, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from saas.db.base import Base, TenantOwned, created_at_column, uuid_pk


class ExportStatus(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"


class ExportJob(TenantOwned, Base):
    __tablename__ = "export_jobs"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "requested_by_id"], ["memberships.tenant_id", "memberships.id"]),
        CheckConstraint("status IN ('pending', 'completed', 'failed')", name="status"),
        Index("ix_export_jobs_tenant_created", "tenant_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    entity: Mapped[str] = mapped_column(String(20), nullable=False)
    format: Mapped[str] = mapped_column(String(4), nullable=False)
    # The list filter as given (validated when the job was started, applied again when it runs).
    filter: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="pending")
    row_count: Mapped[int | None] = mapped_column(Integer)
    # The file (saas/downloads); purged with it when it expires.
    download_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    error: Mapped[str | None] = mapped_column(String(500))
    # Whose visibility the export has: the member who asked (null for an API key: the whole tenant).
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at_column()
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
