"""The loyalty tables: a ledger of point changes per customer, and the tenant's tiers.

Foreign keys to the core's tables live in the migration only: the plugin's models never need
the core's models loaded.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from saas.plugin_api import TenantModel, created_at_column, uuid_pk
from sqlalchemy import Boolean, DateTime, Integer, String, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column


class LoyaltyEntry(TenantModel):
    """One change of a customer's points: earned (positive), redeemed or expired (negative).

    A customer's balance is the sum of their entries; entries are never changed, except that an
    earned one is marked `expired` once the expiry job has booked its counter-entry.
    """

    __tablename__ = "loyalty_entries"

    id: Mapped[uuid.UUID] = uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    points: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200))
    # The domain event that earned the points: handling an event twice books nothing twice.
    event_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), default=None)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    expired: Mapped[bool] = mapped_column(Boolean, server_default=text("false"), default=False)
    created_at: Mapped[datetime] = created_at_column()


class LoyaltyTier(TenantModel):
    """A level a customer reaches with `min_points` (created with defaults when the plugin is enabled)."""

    __tablename__ = "loyalty_tiers"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    min_points: Mapped[int] = mapped_column(Integer)
