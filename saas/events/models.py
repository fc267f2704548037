"""The outbox: one row per domain event, written in the transaction of the change."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKeyConstraint,
    Identity,
    Index,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from saas.db.base import Base, TenantOwned, created_at_column


class OutboxEvent(TenantOwned, Base):
    """One event. `id` is what the world sees; `seq` orders dispatch and never leaves the database.

    `seq` comes from one sequence shared by every tenant, so showing it would tell a tenant how
    busy the others are. `webhook_ids` are the tenant's live webhooks when the event was
    recorded (see `saas.events.outbox.emit_event`).
    """

    __tablename__ = "outbox_events"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "id"),
        Index("ix_outbox_events_tenant_pending", "tenant_id", "seq", postgresql_where=text("dispatched_at IS NULL")),
    )

    seq: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), nullable=False, default=uuid.uuid4, server_default=text("gen_random_uuid()")
    )
    type: Mapped[str] = mapped_column(String(100), nullable=False)
    payload: Mapped[dict] = mapped_column(JSONB, nullable=False)
    webhook_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(UUID(as_uuid=True)), nullable=False, server_default=text("'{}'")
    )
    # How many automation runs led to this event (0: a person or a job made it); see
    # `saas.events.outbox.caused_by_automation`.
    causation_depth: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default="0")
    created_at: Mapped[datetime] = created_at_column()
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
