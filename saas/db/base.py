"""The declarative base and the `TenantOwned` mixin that every tenant table uses."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, MetaData, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(
        UUID(as_uuid=True), primary_key=True, default=uuid.uuid4, server_default=text("gen_random_uuid()")
    )


def created_at_column() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class TenantOwned:
    """Mixin for rows that belong to one tenant.

    The primary key is `(tenant_id, id)`; foreign keys between tenant tables include
    `tenant_id`; the tenant-bound session filters and stamps `tenant_id` by itself, and
    row-level security (enabled and forced by the migrations) is the second wall.
    """

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, sort_order=-1)


# The duplicate check's keys of an e-mail and a phone column, stored as generated columns
# (`email_key`, `phone_key`) of the tables it searches: compared with `=`, their tenant-led indexes
# serve it under row-level security, which an expression such as `lower(email)` cannot (PostgreSQL
# uses no index for a condition with a function that is not leakproof on a table with RLS).
EMAIL_KEY_SQL = "lower(email)"
PHONE_KEY_SQL = "regexp_replace(phone, '\\D', '', 'g')"
