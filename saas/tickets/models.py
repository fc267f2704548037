"""Tickets and their comments; the tenant's ticket types, classification rules, agents' skills and SLA policies."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from saas.db.base import Base, TenantOwned, created_at_column, uuid_pk


class TicketStatus(StrEnum):
    """Where a ticket stands; stored as the value, named in GraphQL by the member (`IN_PROGRESS`)."""

    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    RESOLVED = "resolved"
    CLOSED = "closed"


# A ticket in one of these counts towards its assignee's load (auto-dispatch) and can breach its SLA.
OPEN_STATUSES = (TicketStatus.NEW, TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS, TicketStatus.WAITING)


class TicketPriority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class TicketType(TenantOwned, Base):
    """A kind of ticket (`return`, `repair`, …) and the skills that qualify an agent for it."""

    __tablename__ = "ticket_types"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),)

    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    skills: Mapped[list[str]] = mapped_column(ARRAY(String(50)), nullable=False, server_default="{}")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class ClassificationRule(TenantOwned, Base):
    """When a new ticket matches every condition given, it gets `set_type` and `set_priority`.

    Rules are tried in `position` order (then creation); the first match wins. Deleted rules
    keep their row (`deleted_at`), so the tickets they classified still name them.
    """

    __tablename__ = "classification_rules"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["tenant_id", "set_type"], ["ticket_types.tenant_id", "ticket_types.key"], ondelete="RESTRICT"
        ),
        Index("ix_classification_rules_tenant_position", "tenant_id", "position", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    keywords: Mapped[list[str]] = mapped_column(ARRAY(String(100)), nullable=False, server_default="{}")
    pattern: Mapped[str | None] = mapped_column(String(500))
    customer_tier: Mapped[str | None] = mapped_column(String(20))
    channel: Mapped[str | None] = mapped_column(String(50))
    set_type: Mapped[str] = mapped_column(String(50), nullable=False)
    set_priority: Mapped[str] = mapped_column(String(10), nullable=False, server_default="normal")
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AgentSkills(TenantOwned, Base):
    """A member's skills for auto-dispatch, and when a ticket was last given to them."""

    __tablename__ = "agent_skills"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["tenant_id", "membership_id"], ["memberships.tenant_id", "memberships.id"], ondelete="CASCADE"
        ),
    )

    membership_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    skills: Mapped[list[str]] = mapped_column(ARRAY(String(50)), nullable=False, server_default="{}")
    last_assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class SlaPolicy(TenantOwned, Base):
    """How soon a ticket of a type and priority must get its first response and be resolved."""

    __tablename__ = "sla_policies"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "type"], ["ticket_types.tenant_id", "ticket_types.key"], ondelete="CASCADE"),
        CheckConstraint("first_response_minutes > 0 AND resolution_minutes > 0", name="minutes_positive"),
    )

    type: Mapped[str] = mapped_column(String(50), primary_key=True)
    priority: Mapped[str] = mapped_column(String(10), primary_key=True)
    first_response_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    resolution_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class TicketCounter(TenantOwned, Base):
    """The tenant's last ticket number; incremented in the creating transaction (row lock)."""

    __tablename__ = "ticket_counters"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),)

    last_number: Mapped[int] = mapped_column(Integer, nullable=False)


class Ticket(TenantOwned, Base):
    __tablename__ = "tickets"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"], ondelete="RESTRICT"
        ),
        ForeignKeyConstraint(["tenant_id", "contact_id"], ["contacts.tenant_id", "contacts.id"], ondelete="RESTRICT"),
        ForeignKeyConstraint(
            ["tenant_id", "assignee_id"], ["memberships.tenant_id", "memberships.id"], ondelete="RESTRICT"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "type"], ["ticket_types.tenant_id", "ticket_types.key"], ondelete="RESTRICT"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "classified_by_id"],
            ["classification_rules.tenant_id", "classification_rules.id"],
            ondelete="RESTRICT",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "portal_access_id"], ["portal_accesses.tenant_id", "portal_accesses.id"], ondelete="RESTRICT"
        ),
        Index("uq_tickets_tenant_number", "tenant_id", "number", unique=True),
        Index("ix_tickets_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_tickets_tenant_status", "tenant_id", "status", "created_at", "id"),
        Index("ix_tickets_tenant_assignee_status", "tenant_id", "assignee_id", "status"),
        # An assignee's page (`assigneeId`, on a generic plan: saas/db/prepared.py `ORDERED_MEMBER_PAGES`).
        Index("ix_tickets_tenant_assignee_created", "tenant_id", "assignee_id", "created_at", "id"),
        Index("ix_tickets_tenant_customer", "tenant_id", "customer_id", "created_at", "id"),
        Index("ix_tickets_tenant_type_status", "tenant_id", "type", "status"),
        # The SLA job's scan: open tickets not yet flagged.
        Index(
            "ix_tickets_tenant_sla_open",
            "tenant_id",
            "resolution_due_at",
            postgresql_where=text("breached_at IS NULL AND resolved_at IS NULL"),
        ),
        # On the subject and body. Not used under row-level security (`ILIKE` is not leakproof):
        # the `search` filter reads `subject_key` and `body_key` (0027_search_keys).
        Index("ix_tickets_subject_trgm", "subject", postgresql_using="gin", postgresql_ops={"subject": "gin_trgm_ops"}),
        Index("ix_tickets_body_trgm", "body", postgresql_using="gin", postgresql_ops={"body": "gin_trgm_ops"}),
        CheckConstraint("number > 0", name="number_positive"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    # lower(subject) and lower(body), stored, for the `search` filter (`saas.tickets.rules.ticket_conditions`).
    subject_key: Mapped[str | None] = mapped_column(Text, Computed("lower(subject)", persisted=True))
    body_key: Mapped[str | None] = mapped_column(Text, Computed("lower(body)", persisted=True))
    type: Mapped[str] = mapped_column(String(50), nullable=False)
    priority: Mapped[str] = mapped_column(String(10), nullable=False, server_default="normal")
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="new")
    channel: Mapped[str | None] = mapped_column(String(50))
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    contact_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    classified_by_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    portal_access_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    first_response_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    breached_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )

    __mapper_args__ = {"version_id_col": version}


class TicketComment(TenantOwned, Base):
    """A comment on a ticket: public ones are shown to the customer's portal, internal ones are not."""

    __tablename__ = "ticket_comments"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "ticket_id"], ["tickets.tenant_id", "tickets.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["tenant_id", "author_id"], ["memberships.tenant_id", "memberships.id"], ondelete="RESTRICT"
        ),
        Index("ix_ticket_comments_tenant_ticket", "tenant_id", "ticket_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    ticket_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    public: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    # The member who wrote it; None for the customer's portal contact (then `from_customer`).
    author_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    author_label: Mapped[str] = mapped_column(String(200), nullable=False)
    from_customer: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    created_at: Mapped[datetime] = created_at_column()
