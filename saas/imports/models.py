"""Import jobs (the uploaded file, its settings and counts) and the outcome of each of its rows."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, deferred, mapped_column

from saas.db.base import Base, TenantOwned, created_at_column, uuid_pk


class ImportEntity(StrEnum):
    CUSTOMER = "customer"
    CONTACT = "contact"
    LEAD = "lead"


class DuplicatePolicy(StrEnum):
    """What a row matching an existing record does: nothing, updates it, or creates another."""

    SKIP = "skip"
    UPDATE = "update"
    CREATE = "create"


class ImportStatus(StrEnum):
    """QUEUED → PARSING → PREVIEWING → PREVIEWED (a dry run) → COMMITTING → COMPLETED; FAILED when the
    file cannot be read. An import started without a dry run goes from PREVIEWING to COMMITTING itself."""

    QUEUED = "queued"
    PARSING = "parsing"
    PREVIEWING = "previewing"
    PREVIEWED = "previewed"
    COMMITTING = "committing"
    COMPLETED = "completed"
    FAILED = "failed"


class RowOutcome(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    SKIP = "skip"
    FAIL = "fail"


class ImportJob(TenantOwned, Base):
    __tablename__ = "import_jobs"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "created_by_id"], ["memberships.tenant_id", "memberships.id"]),
        CheckConstraint("entity IN ('customer', 'contact', 'lead')", name="entity_known"),
        CheckConstraint("duplicate_policy IN ('skip', 'update', 'create')", name="policy_known"),
        CheckConstraint(
            "status IN ('queued', 'parsing', 'previewing', 'previewed', 'committing', 'completed', 'failed')",
            name="status_known",
        ),
        Index("ix_import_jobs_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_import_jobs_tenant_creator", "tenant_id", "created_by_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    entity: Mapped[str] = mapped_column(String(10), nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, server_default="queued")
    dry_run: Mapped[bool] = mapped_column(Boolean, nullable=False)
    duplicate_policy: Mapped[str] = mapped_column(String(10), nullable=False)
    file_name: Mapped[str] = mapped_column(String(255), nullable=False)
    file_format: Mapped[str] = mapped_column(String(10), nullable=False)  # csv or xlsx
    # The uploaded file itself, so that a worker on any machine reads it; loaded only when parsing.
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    encoding: Mapped[str | None] = mapped_column(String(20))  # what the CSV was read as
    mapping: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    # Who started it (none: the CLI's operator); the job acts as them, with their permissions and visibility.
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    total_rows: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    processed_rows: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    created: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    updated: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    skipped: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    failed: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    # The last row number done in the current phase: the chunk cursor a resumed worker continues from.
    cursor: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    error: Mapped[str | None] = mapped_column(String(500))
    committed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class ImportRow(TenantOwned, Base):
    """One data row of the file: its cleaned values, errors, the planned outcome and, once applied, the result."""

    __tablename__ = "import_rows"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "job_id"], ["import_jobs.tenant_id", "import_jobs.id"], ondelete="CASCADE"),
        CheckConstraint("outcome IS NULL OR outcome IN ('create', 'update', 'skip', 'fail')", name="outcome_known"),
        Index("ix_import_rows_tenant_job_outcome", "tenant_id", "job_id", "outcome", "row_number"),
    )

    job_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    row_number: Mapped[int] = mapped_column(Integer, primary_key=True)  # as in the file: the header is row 1
    values: Mapped[dict] = mapped_column(JSONB, nullable=False)
    errors: Mapped[list] = mapped_column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    # Normalised duplicate keys (e-mail, phone digits, name), for the in-file check.
    keys: Mapped[list] = mapped_column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    outcome: Mapped[str | None] = mapped_column(String(10))
    matched_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # The matched record's version when previewed: a different one at commit is STALE.
    matched_version: Mapped[int | None] = mapped_column(Integer)
    diff: Mapped[dict | None] = mapped_column(JSONB)
    record_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))  # what the commit created or updated
    applied: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
