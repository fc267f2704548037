"""Channels, leads and the tenant's sales settings."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from saas.db.base import EMAIL_KEY_SQL, PHONE_KEY_SQL, Base, TenantOwned, created_at_column, uuid_pk


class LeadStatus(StrEnum):
    """Where a lead stands; stored as the value (`leads.status`), named in GraphQL by the member.

    POOL: open and unowned (in the lead pool); CLAIMED: open and owned by a member;
    CONVERTED: became a customer; DISQUALIFIED: ended without one.
    """

    POOL = "pool"
    CLAIMED = "claimed"
    CONVERTED = "converted"
    DISQUALIFIED = "disqualified"


OPEN_STATUSES = (LeadStatus.POOL, LeadStatus.CLAIMED)


class Channel(TenantOwned, Base):
    """Where leads come from, with what it cost (for the channel ROI report)."""

    __tablename__ = "channels"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        Index("uq_channels_tenant_name", "tenant_id", text("lower(name)"), unique=True),
        CheckConstraint("cost >= 0", name="cost_not_negative"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    cost: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False, server_default="0")
    currency: Mapped[str] = mapped_column(String(3), nullable=False, server_default="USD")
    created_at: Mapped[datetime] = created_at_column()


class Lead(TenantOwned, Base):
    __tablename__ = "leads"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["tenant_id", "owner_id"], ["memberships.tenant_id", "memberships.id"], ondelete="RESTRICT"
        ),
        ForeignKeyConstraint(["tenant_id", "channel_id"], ["channels.tenant_id", "channels.id"], ondelete="RESTRICT"),
        ForeignKeyConstraint(
            ["tenant_id", "converted_customer_id"], ["customers.tenant_id", "customers.id"], ondelete="RESTRICT"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "converted_opportunity_id"],
            ["opportunities.tenant_id", "opportunities.id"],
            ondelete="RESTRICT",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "campaign_id"], ["campaigns.tenant_id", "campaigns.id"], ondelete="RESTRICT"
        ),
        CheckConstraint(
            "(status <> 'pool' OR owner_id IS NULL) AND (status <> 'claimed' OR owner_id IS NOT NULL)",
            name="pool_means_unowned",
        ),
        CheckConstraint("status <> 'converted' OR converted_customer_id IS NOT NULL", name="converted_has_customer"),
        Index("ix_leads_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_leads_tenant_status", "tenant_id", "status", "created_at", "id"),
        Index("ix_leads_tenant_owner_status", "tenant_id", "owner_id", "status"),
        # An owner's page (`ownerId`, on a generic plan: saas/db/prepared.py `ORDERED_MEMBER_PAGES`).
        Index("ix_leads_tenant_owner_created", "tenant_id", "owner_id", "created_at", "id"),
        Index("ix_leads_tenant_channel", "tenant_id", "channel_id"),
        Index("ix_leads_tenant_campaign", "tenant_id", "campaign_id"),
        Index("ix_leads_tenant_email_key", "tenant_id", "email_key", "created_at", "id"),
        Index("ix_leads_tenant_phone_key", "tenant_id", "phone_key", "created_at", "id"),
        Index("ix_leads_tenant_company_key", "tenant_id", "company_key", "created_at", "id"),
        # The `customField` list filter (JSONB containment; saas/custom_fields/rules.py).
        Index(
            "ix_leads_custom_fields",
            "custom_fields",
            postgresql_using="gin",
            postgresql_ops={"custom_fields": "jsonb_path_ops"},
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # lower(name), stored, for the `search` filter (`saas.leads.rules.lead_conditions`).
    name_key: Mapped[str | None] = mapped_column(Text, Computed("lower(name)", persisted=True))
    company: Mapped[str | None] = mapped_column(String(200))
    # lower(company), stored, for the duplicate check (see `Customer.name_key`).
    company_key: Mapped[str | None] = mapped_column(Text, Computed("lower(company)", persisted=True))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    # lower(email) and the phone's digits, stored, for the duplicate check (see `Customer.name_key`).
    email_key: Mapped[str | None] = mapped_column(Text, Computed(EMAIL_KEY_SQL, persisted=True))
    phone_key: Mapped[str | None] = mapped_column(Text, Computed(PHONE_KEY_SQL, persisted=True))
    channel_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # The marketing campaign whose response made it (saas/campaigns), if one did.
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="pool")
    custom_fields: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    returned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    return_reason: Mapped[str | None] = mapped_column(String(500))
    disqualified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disqualify_reason: Mapped[str | None] = mapped_column(String(500))
    converted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    converted_customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    converted_contact_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # The opportunity the conversion made (saas/deals), if one was asked for.
    converted_opportunity_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )

    __mapper_args__ = {"version_id_col": version}


class SalesSettings(TenantOwned, Base):
    """The tenant's sales rules; a tenant without a row has the defaults (`saas.leads.rules`)."""

    __tablename__ = "sales_settings"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        CheckConstraint("lead_claim_cap > 0", name="lead_claim_cap_positive"),
        CheckConstraint("public_pool_days > 0", name="public_pool_days_positive"),
    )

    lead_claim_cap: Mapped[int] = mapped_column(Integer, nullable=False)
    public_pool_days: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
