"""The tenant's wrapped keys, the core fields it marks sensitive, and its re-encryption runs."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKeyConstraint, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from saas.db.base import Base, TenantOwned, created_at_column, uuid_pk


class TenantKey(TenantOwned, Base):
    """One version of a tenant's data key (`purpose` "data") or its index key ("index"), wrapped by
    the master key `master_key_id`. Only wrapped keys are stored, so an export carries them as they
    are; an import binds them (and the sealed values) to the new tenant wherever the same master
    keys are configured (`saas.sensitive.rebind`)."""

    __tablename__ = "tenant_keys"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),)

    purpose: Mapped[str] = mapped_column(String(10), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    master_key_id: Mapped[str] = mapped_column(String(64), nullable=False)
    wrapped: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    rewrapped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SensitiveField(TenantOwned, Base):
    """A core field the tenant stores encrypted (e.g. contacts' `phone`)."""

    __tablename__ = "sensitive_fields"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),)

    entity: Mapped[str] = mapped_column(String(20), primary_key=True)
    field: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = created_at_column()


class ReencryptRun(TenantOwned, Base):
    """Bringing every sensitive value of the tenant under data key `key_version` (and the core
    fields in line with their marking), in batches: the cursor (`table_index`, `last_id`) and
    `processed` move in each batch's transaction, so a run killed midway resumes where it stood."""

    __tablename__ = "reencrypt_runs"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        Index("ix_reencrypt_runs_tenant_status", "tenant_id", "status", "started_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    key_version: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="running")
    table_index: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    last_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    processed: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    batches: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    started_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)
