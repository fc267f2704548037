"""A contact's access to the customer portal, the record every portal token names."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKeyConstraint, Index, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from saas.db.base import Base, TenantOwned, created_at_column, uuid_pk


class PortalAccess(TenantOwned, Base):
    """A contact's access to the portal, limited to the contact's customer.

    A portal token names its record (`portal_access` in the token's scope); the token stands
    while the record is neither revoked nor expired and its customer and contact exist.
    """

    __tablename__ = "portal_accesses"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"], ondelete="RESTRICT"
        ),
        ForeignKeyConstraint(["tenant_id", "contact_id"], ["contacts.tenant_id", "contacts.id"], ondelete="RESTRICT"),
        Index("ix_portal_accesses_tenant_contact", "tenant_id", "contact_id"),
        Index("ix_portal_accesses_tenant_customer", "tenant_id", "customer_id", "created_at", "id"),
        Index("ix_portal_accesses_tenant_created", "tenant_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    contact_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()
