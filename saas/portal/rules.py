"""What a portal token is: its scope key, its permissions, and whether its access record still stands.

A portal token is a core scoped token whose scope names the customer, the contact and the
`portal_accesses` row it was issued for. `portal_access_stands` is the portal's say in the
credential check (listed in `CORE_SCOPE_CHECKS`, asked on every use of a scoped token within
the credential cache window), so a revoked or expired access is refused by every field, core
and plugin, exactly as a deleted customer or contact is (`saas/customers/rules.py` `scope_stands`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.auth.permissions import KNOWLEDGE_READ, PRODUCTS_READ, TICKETS_READ, TICKETS_WRITE
from saas.auth.principal import Principal
from saas.db.conditions import SqlCondition
from saas.portal.models import PortalAccess

# The scope key naming the access record (the core also honours `customer_id` and `contact_id`).
PORTAL_SCOPE = "portal_access"
# What a portal token may do in the core: its customer's tickets (`saas/tickets/rules.py` limits
# it to those, their public comments and no internal field), the published articles of the
# knowledge base (`saas/knowledge/rules.py`), and reading the catalog. Nothing else: every other
# root field needs a permission it does not hold.
PORTAL_PERMISSIONS = frozenset({TICKETS_READ, TICKETS_WRITE, KNOWLEDGE_READ, PRODUCTS_READ})
# What a portal token reads of the core types its records lead to (its tickets' customer and
# contact): who they are, and its customer's tickets. Any other field of these types (a customer's
# notes, owner, opportunities, timeline, contacts; a contact's e-mail) is refused before anything
# runs (`saas/schema/field_limits.py`, asked through `CORE_FIELD_LIMITS` in `saas/runtime.py`).
# Other types answer to their own rules: a ticket's internal fields (`saas/tickets/rules.py`
# `reads_internal_fields`), articles (`saas/knowledge/rules.py`), a plugin's types (the plugin).
PORTAL_FIELDS: dict[str, frozenset[str]] = {
    "Customer": frozenset({"id", "name", "tickets"}),
    "Contact": frozenset({"id", "name"}),
    "Member": frozenset({"id", "name"}),
}

DEFAULT_PORTAL_DAYS = 30
MAX_PORTAL_DAYS = 365


def portal_access_id(principal: Principal) -> uuid.UUID | None:
    """The access record a portal token names; None for every other principal (and a malformed one)."""
    named = principal.scoped(PORTAL_SCOPE)
    if named is None:
        return None
    try:
        return uuid.UUID(named)
    except ValueError:
        return None


def is_portal(principal: Principal) -> bool:
    return principal.scoped(PORTAL_SCOPE) is not None


def live_access(session: Session, principal: Principal) -> PortalAccess | None:
    """The access record of a portal token if it stands: not revoked, not expired, and naming the
    token's own customer and contact. The session's tenant filter keeps other tenants' rows out."""
    access_id = portal_access_id(principal)
    if access_id is None:
        return None
    access = session.scalar(select(PortalAccess).where(PortalAccess.id == access_id))
    if (
        access is None
        or access.revoked_at is not None
        or access.expires_at <= datetime.now(UTC)
        or str(access.customer_id) != principal.scoped("customer_id")
        or str(access.contact_id) != principal.scoped("contact_id")
    ):
        return None
    return access


def live_access_condition(principal: Principal, alias: str) -> SqlCondition | None:
    """`live_access` as SQL over a `portal_accesses` row under `alias`, for a compiled read that
    checks the access in its own statement (`Within`); None when the principal is no portal token
    or names its access, customer or contact malformed (no access of it can stand)."""
    access_id = portal_access_id(principal)
    customer_id, contact_id = principal.scoped("customer_id"), principal.scoped("contact_id")
    if access_id is None or customer_id is None or contact_id is None:
        return None
    try:
        customer, contact = uuid.UUID(customer_id), uuid.UUID(contact_id)
    except ValueError:
        return None
    if str(customer) != customer_id or str(contact) != contact_id:  # as `live_access` compares them
        return None
    condition = SqlCondition()
    condition.add(
        f"{alias}.id = :portal_access_id AND {alias}.revoked_at IS NULL AND {alias}.expires_at > now()"
        f" AND {alias}.customer_id = :portal_customer_id AND {alias}.contact_id = :portal_contact_id",
        portal_access_id=access_id,
        portal_customer_id=customer,
        portal_contact_id=contact,
    )
    return condition


def portal_access_stands(session: Session, principal: Principal) -> bool:
    """The credential check's question for every scoped token: a portal token stands while its
    access does; other scoped tokens (a plugin's) are not the portal's business."""
    if not is_portal(principal):
        return True
    return live_access(session, principal) is not None


def portal_reads_field(principal: Principal, type_name: str, field_name: str) -> bool | None:
    """Whether a portal token may select `type_name.field_name` (`PORTAL_FIELDS`); None (no say)
    for other principals and for the types the portal does not govern."""
    fields = PORTAL_FIELDS.get(type_name)
    if fields is None or not is_portal(principal):
        return None
    return field_name in fields
