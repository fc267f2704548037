"""Automation rules, their run log, and the round-robin cursors of their `assign_owner` actions."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from saas.db.base import Base, TenantOwned, created_at_column, uuid_pk


class RunOutcome(StrEnum):
    """How one rule's run on one event ended; stored as the value, named in GraphQL by the member."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class AutomationRule(TenantOwned, Base):
    """When an event of type `trigger` matches `conditions`, run `actions` (both validated JSON).

    Deleted rules keep their row (`deleted_at`) and their run log; they never run again."""

    __tablename__ = "automation_rules"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        Index("ix_automation_rules_tenant_created", "tenant_id", "created_at", "id"),
        Index(
            "ix_automation_rules_tenant_trigger", "tenant_id", "trigger", postgresql_where=text("deleted_at IS NULL")
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    trigger: Mapped[str] = mapped_column(String(100), nullable=False)
    conditions: Mapped[dict] = mapped_column(JSONB, nullable=False)
    actions: Mapped[list] = mapped_column(JSONB, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __mapper_args__ = {"version_id_col": version}


class AutomationRun(TenantOwned, Base):
    """One rule on one event: written before the actions run, so a rule runs at most once per event."""

    __tablename__ = "automation_runs"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "rule_id"], ["automation_rules.tenant_id", "automation_rules.id"], ondelete="CASCADE"
        ),
        UniqueConstraint("tenant_id", "rule_id", "event_id"),
        CheckConstraint("outcome IN ('succeeded', 'failed', 'skipped')", name="outcome"),
        Index("ix_automation_runs_tenant_rule_at", "tenant_id", "rule_id", "at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    rule_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)  # OutboxEvent.id
    event_type: Mapped[str] = mapped_column(String(100), nullable=False)
    depth: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default="0")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    outcome: Mapped[str] = mapped_column(String(20), nullable=False)
    error: Mapped[str | None] = mapped_column(String(500))


class AutomationCursor(TenantOwned, Base):
    """Where the round robin of one `assign_owner` action (a rule's action by index) stands."""

    __tablename__ = "automation_cursors"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "rule_id"], ["automation_rules.tenant_id", "automation_rules.id"], ondelete="CASCADE"
        ),
    )

    rule_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    action_index: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
