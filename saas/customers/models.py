"""Customer and Contact tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
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
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from saas.db.base import EMAIL_KEY_SQL, PHONE_KEY_SQL, Base, TenantOwned, created_at_column, uuid_pk


class CustomerKind(StrEnum):
    """What a customer is; stored as the value (`customers.kind`), named in GraphQL by the member."""

    COMPANY = "company"
    PERSON = "person"


class LifecycleStage(StrEnum):
    """Where a customer stands; stored as the value (`customers.lifecycle_stage`)."""

    LEAD = "lead"
    PROSPECT = "prospect"
    CUSTOMER = "customer"
    CHURNED = "churned"


class Customer(TenantOwned, Base):
    __tablename__ = "customers"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["tenant_id", "owner_id"], ["memberships.tenant_id", "memberships.id"], ondelete="RESTRICT"
        ),
        Index("ix_customers_tenant_name", "tenant_id", "name", "id"),
        Index("ix_customers_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_customers_tenant_updated", "tenant_id", "updated_at", "id"),
        # An owner's page by name (`ownerId`, on a generic plan: saas/db/prepared.py `ORDERED_MEMBER_PAGES`).
        Index("ix_customers_tenant_owner_name", "tenant_id", "owner_id", "name", "id"),
        Index("ix_customers_tenant_stage", "tenant_id", "lifecycle_stage"),
        Index("ix_customers_tags", "tags", postgresql_using="gin"),
        Index("ix_customers_tenant_name_key", "tenant_id", "name_key", "created_at", "id"),  # the duplicate check
        Index(
            "ix_customers_custom_fields",
            "custom_fields",
            postgresql_using="gin",
            postgresql_ops={"custom_fields": "jsonb_path_ops"},
        ),
        Index(
            "ix_customers_name_trgm",
            "name",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        ),
    )
    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = mapped_column(String(10), nullable=False, server_default="company")
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # lower(name), stored: the duplicate check compares it with `=`, which row-level security lets
    # an index answer (a condition on `lower(name)` it does not: `lower` is not leakproof).
    name_key: Mapped[str | None] = mapped_column(Text, Computed("lower(name)", persisted=True))
    industry: Mapped[str | None] = mapped_column(String(100))
    tier: Mapped[str | None] = mapped_column(String(20))
    lifecycle_stage: Mapped[str] = mapped_column(String(20), nullable=False, server_default="lead")
    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    source: Mapped[str | None] = mapped_column(String(100))
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(50)), nullable=False, server_default="{}")
    custom_fields: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    notes: Mapped[str | None] = mapped_column(Text)
    last_contacted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_follow_up_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # The server's defaults (version, timestamps, kind, stage, tags) come back with the INSERT or
    # UPDATE (RETURNING) instead of a read when they are next used.
    __mapper_args__ = {"version_id_col": version, "eager_defaults": True}


class Contact(TenantOwned, Base):
    __tablename__ = "contacts"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"], ondelete="CASCADE"),
        Index("ix_contacts_tenant_customer", "tenant_id", "customer_id", "name", "id"),
        Index(
            "uq_contacts_one_primary",
            "tenant_id",
            "customer_id",
            unique=True,
            postgresql_where=text("is_primary AND deleted_at IS NULL"),
        ),
        # The duplicate check (saas/customers/duplicates.py) looks contacts up by these.
        Index("ix_contacts_tenant_email_key", "tenant_id", "email_key", "created_at", "id"),
        Index("ix_contacts_tenant_phone_key", "tenant_id", "phone_key", "created_at", "id"),
        Index(
            "ix_contacts_custom_fields",
            "custom_fields",
            postgresql_using="gin",
            postgresql_ops={"custom_fields": "jsonb_path_ops"},
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    title: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    # lower(email) and the phone's digits, stored, for the duplicate check (see `Customer.name_key`).
    email_key: Mapped[str | None] = mapped_column(Text, Computed(EMAIL_KEY_SQL, persisted=True))
    phone_key: Mapped[str | None] = mapped_column(Text, Computed(PHONE_KEY_SQL, persisted=True))
    phone: Mapped[str | None] = mapped_column(String(32))
    is_primary: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    custom_fields: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    # The sealed values of the core fields the tenant marks sensitive, by column (saas/sensitive).
    sensitive: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __mapper_args__ = {"version_id_col": version}
