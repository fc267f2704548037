"""Which leads a principal may see, the list filters, and the tenant's sales settings: as SQL and values.

The compiled GraphQL reads and the services both call these, so a rule cannot differ between
reading a list and changing a lead. Lead visibility is `owner_visibility` (saas/customers/rules.py)
with the pool: sales reps see their own leads, those of the teams they manage, and the pool.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.auth.principal import Principal
from saas.custom_fields.rules import CustomFieldFilter, custom_field_condition
from saas.customers.rules import LOWERED_SEARCH, SqlCondition, contains_pattern, owner_visibility
from saas.leads.models import LeadStatus, SalesSettings

DEFAULT_LEAD_CLAIM_CAP = 50
DEFAULT_PUBLIC_POOL_DAYS = 30
MAX_LEAD_CLAIM_CAP = 10_000
MAX_PUBLIC_POOL_DAYS = 3_650


@dataclass(frozen=True)
class SalesSettingsValues:
    lead_claim_cap: int = DEFAULT_LEAD_CLAIM_CAP
    public_pool_days: int = DEFAULT_PUBLIC_POOL_DAYS


def sales_settings(session: Session, tenant_id: uuid.UUID) -> SalesSettingsValues:
    """The tenant's sales settings; the defaults until an admin changes them."""
    row = session.scalar(select(SalesSettings).where(SalesSettings.tenant_id == tenant_id))
    if row is None:
        return SalesSettingsValues()
    return SalesSettingsValues(lead_claim_cap=row.lead_claim_cap, public_pool_days=row.public_pool_days)


def lead_claim_cap(session: Session, tenant_id: uuid.UUID) -> int:
    """How many open leads (and pool claims) one member may hold at most."""
    return sales_settings(session, tenant_id).lead_claim_cap


def public_pool_days(session: Session, tenant_id: uuid.UUID) -> int:
    """After how many days without a follow-up a customer goes back to the public pool."""
    return sales_settings(session, tenant_id).public_pool_days


def lead_visibility(principal: Principal, alias: str, condition: SqlCondition) -> None:
    owner_visibility(principal, alias, condition, pool=True)


@dataclass(frozen=True)
class LeadFilter:
    pool: bool | None = None
    status: LeadStatus | None = None
    search: str | None = None
    owner_id: uuid.UUID | None = None
    channel_id: uuid.UUID | None = None
    custom_field: CustomFieldFilter | None = None


def lead_conditions(principal: Principal, alias: str, flt: LeadFilter | None) -> SqlCondition:
    """Visibility and filter conditions for a leads list (the compiler adds the tenant)."""
    flt = flt or LeadFilter()
    condition = SqlCondition()
    lead_visibility(principal, alias, condition)
    if flt.pool is True:
        condition.add(f"{alias}.status = 'pool'")
    elif flt.pool is False:
        condition.add(f"{alias}.status <> 'pool'")
    condition.given(f"{alias}.status", "lead_status", flt.status, convert=lambda v: v.value)
    if flt.search and flt.search.strip():
        keys = (f"{alias}.name_key", f"{alias}.company_key", f"{alias}.email_key")  # lower(name), ...
        condition.add(
            "(" + " OR ".join(f"{key} LIKE {LOWERED_SEARCH}" for key in keys) + ")",
            search=contains_pattern(flt.search.strip()),
        )
    condition.given(f"{alias}.owner_id", "owner_id", flt.owner_id)
    condition.given(f"{alias}.channel_id", "channel_id", flt.channel_id)
    if flt.custom_field is not None:
        custom_field_condition(condition, alias, flt.custom_field)
    return condition
