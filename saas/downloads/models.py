"""A produced file and its bytes, in the database: any API process can serve what any worker wrote."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKeyConstraint, Index, Integer, LargeBinary, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from saas.db.base import Base, TenantOwned, created_at_column, uuid_pk


class Download(TenantOwned, Base):
    """One file: what produced it (`kind`), its name and type, its size and SHA-256 once complete.

    `completed_at` is set when the last chunk is written: a link is only ever issued for a complete
    file. `downloaded_at` is set by the one request that may read it (`claim`)."""

    __tablename__ = "downloads"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "created_by_id"], ["memberships.tenant_id", "memberships.id"]),
        Index("ix_downloads_tenant_expires", "tenant_id", "expires_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = mapped_column(String(60), nullable=False)
    file_name: Mapped[str] = mapped_column(String(255), nullable=False)
    content_type: Mapped[str] = mapped_column(String(120), nullable=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    chunk_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    sha256: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at_column()
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    downloaded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DownloadChunk(TenantOwned, Base):
    """The bytes of a download in order, at most `CHUNK_BYTES` each."""

    __tablename__ = "download_chunks"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "download_id"], ["downloads.tenant_id", "downloads.id"], ondelete="CASCADE"),
    )

    download_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
