"""Tables of follow-ups: activities, tasks, sent reminders, and customer handovers."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, ForeignKeyConstraint, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from saas.db.base import Base, TenantOwned, created_at_column, uuid_pk


class ActivityKind(StrEnum):
    """How a customer was reached; stored as the value (`activities.kind`)."""

    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    VISIT = "visit"
    NOTE = "note"


class ReminderKind(StrEnum):
    """The reminders of a task, each sent at most once (`task_reminders.kind`)."""

    DUE = "due"  # at `remind_at`, or at `due_at` when the task has no reminder time
    OVERDUE = "overdue"  # once `due_at` has passed by OVERDUE_AFTER and the task is still open


class HandoverKind(StrEnum):
    """Why a customer changed hands (`customer_handovers.kind`)."""

    TRANSFER = "transfer"
    POOL_RETURN = "pool_return"
    CLAIM = "claim"


def _member_fk(column: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id", column], ["memberships.tenant_id", "memberships.id"], ondelete="RESTRICT")


def _customer_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"], ondelete="CASCADE"
    )


class Activity(TenantOwned, Base):
    """A call, e-mail, meeting, visit or note about a subject (customer, contact, lead, opportunity)."""

    __tablename__ = "activities"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        _customer_fk(),
        _member_fk("actor_id"),
        Index("ix_activities_tenant_customer", "tenant_id", "customer_id", "occurred_at", "id"),
        Index("ix_activities_tenant_subject", "tenant_id", "subject_type", "subject_id", "occurred_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    subject_type: Mapped[str] = mapped_column(String(40), nullable=False)
    subject_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    # The customer the subject belongs to (its timeline shows the activity); None for a lead.
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at_column()


class Task(TenantOwned, Base):
    """Something a member must do about a subject by `due_at`; reminded at `remind_at`."""

    __tablename__ = "tasks"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        _customer_fk(),
        _member_fk("assignee_id"),
        _member_fk("created_by_id"),
        _member_fk("completed_by_id"),
        Index(
            "ix_tasks_tenant_assignee_open",
            "tenant_id",
            "assignee_id",
            "due_at",
            "id",
            postgresql_where=text("completed_at IS NULL"),
        ),
        Index("ix_tasks_tenant_customer", "tenant_id", "customer_id", "created_at", "id"),
        Index("ix_tasks_tenant_subject", "tenant_id", "subject_type", "subject_id"),
        Index("ix_tasks_tenant_open_due", "tenant_id", "due_at", postgresql_where=text("completed_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    subject_type: Mapped[str] = mapped_column(String(40), nullable=False)
    subject_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    remind_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    assignee_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_by_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )


class TaskReminder(TenantOwned, Base):
    """A reminder that was sent: its primary key makes each (task, kind) send at most once."""

    __tablename__ = "task_reminders"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "task_id"], ["tasks.tenant_id", "tasks.id"], ondelete="CASCADE"),
    )

    task_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class CustomerHandover(TenantOwned, Base):
    """A customer changing hands: a transfer, a return to the public pool, or a claim from it."""

    __tablename__ = "customer_handovers"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        _customer_fk(),
        _member_fk("from_member_id"),
        _member_fk("to_member_id"),
        _member_fk("actor_id"),
        Index("ix_customer_handovers_tenant_customer", "tenant_id", "customer_id", "occurred_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    from_member_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    to_member_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    note: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class WrittenTimelineEntry(TenantOwned, Base):
    """A timeline line written by a domain whose own tables the timeline does not read (a plugin's
    policy issued, a claim paid): `saas.plugin_api.add_timeline_entry` writes it.

    `subject_id` is the global id of the record it is about (None: the customer itself); the
    timeline shows it as the entry's `recordId`.
    """

    __tablename__ = "timeline_entries"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        _customer_fk(),
        _member_fk("actor_id"),
        Index("ix_timeline_entries_tenant_customer", "tenant_id", "customer_id", "occurred_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    summary: Mapped[str] = mapped_column(String(500), nullable=False)
    subject_id: Mapped[str | None] = mapped_column(String(200))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at_column()
