"""Custom field definitions, and the values of unique fields (one row per value in use)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from saas.db.base import Base, TenantOwned, created_at_column, uuid_pk


class CustomFieldEntity(StrEnum):
    """The kinds of record that carry custom fields; stored as the value."""

    CUSTOMER = "customer"
    CONTACT = "contact"
    LEAD = "lead"
    OPPORTUNITY = "opportunity"


class CustomFieldType(StrEnum):
    """What a custom field holds; stored as the value."""

    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    BOOLEAN = "boolean"
    SELECT = "select"
    MULTI_SELECT = "multi_select"
    # A string stored encrypted (saas/sensitive): masked unless the caller has `sensitive:read`,
    # searchable by equality through its blind index.
    SENSITIVE = "sensitive"


class CustomFieldDefinition(TenantOwned, Base):
    """One field of one entity in one tenant. `key` is the field's name in `customFields` JSON."""

    __tablename__ = "custom_field_definitions"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        # A key is never reused for another field of the entity, archived ones included: stored
        # values under it keep their meaning.
        Index("uq_custom_field_definitions_tenant_entity_key", "tenant_id", "entity", "key", unique=True),
        Index("ix_custom_field_definitions_tenant_entity_position", "tenant_id", "entity", "position", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    entity: Mapped[str] = mapped_column(String(20), nullable=False)
    key: Mapped[str] = mapped_column(String(64), nullable=False)
    label: Mapped[str] = mapped_column(String(200), nullable=False)
    type: Mapped[str] = mapped_column(String(20), nullable=False)
    required: Mapped[bool] = mapped_column(Boolean, nullable=False)
    unique: Mapped[bool] = mapped_column(Boolean, nullable=False)
    options: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default="{}")
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __mapper_args__ = {"version_id_col": version}


class CustomFieldUniqueValue(TenantOwned, Base):
    """A value of a unique field held by one record: the primary key makes a second holder fail,
    also between concurrent transactions (the second insert waits for the first to commit)."""

    __tablename__ = "custom_field_unique_values"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "definition_id"],
            ["custom_field_definitions.tenant_id", "custom_field_definitions.id"],
            ondelete="CASCADE",
        ),
        Index("uq_custom_field_unique_values_record", "tenant_id", "definition_id", "record_id", unique=True),
    )

    definition_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    value_key: Mapped[str] = mapped_column(Text, primary_key=True)
    record_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
