"""Giving a contact portal access, listing and revoking it: staff operations, audited, each an event.

The token itself is made by the GraphQL mutation from `token_claims` (a core scoped token); the
record here is what the credential check asks about on every use (`saas/portal/rules.py`).
Revoking ends the tenant's cached credentials in this process once committed
(`forget_credentials_after_commit`), and in other processes within the cache window.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.accounts.credentials import forget_credentials_after_commit
from saas.audit.log import record_change, snapshot
from saas.auth.permissions import PORTAL_MANAGE, require
from saas.auth.principal import Principal
from saas.customers import service as customers
from saas.db.paging import Page, keyset_page
from saas.errors import FieldError, InputInvalid, NotFoundError, UserErrorCode
from saas.events.outbox import emit_event
from saas.events.payloads import api_object, node_ref
from saas.portal.models import PortalAccess
from saas.portal.rules import DEFAULT_PORTAL_DAYS, MAX_PORTAL_DAYS, PORTAL_PERMISSIONS, PORTAL_SCOPE

PORTAL_ACCESS_CREATED = "portal_access.created"
PORTAL_ACCESS_REVOKED = "portal_access.revoked"


def _now() -> datetime:
    return datetime.now(UTC)


def _event(session: Session, principal: Principal, action: str, access: PortalAccess, before: Any) -> None:
    from saas.portal.graphql.types import PortalAccess as PortalAccessType

    record_change(session, principal, action, "PortalAccess", access.id, before, snapshot(access))
    payload = api_object(
        PortalAccessType.from_model(access),
        customer=node_ref("Customer", access.customer_id),
        contact=node_ref("Contact", access.contact_id),
    )
    emit_event(session, action, {"portalAccess": payload})


def _days(days: Any) -> int:
    if days is None:
        return DEFAULT_PORTAL_DAYS
    if isinstance(days, bool) or not isinstance(days, int):
        raise InputInvalid([FieldError(["input", "days"], UserErrorCode.INVALID, "days must be a whole number")])
    if not 1 <= days <= MAX_PORTAL_DAYS:
        raise InputInvalid(
            [FieldError(["input", "days"], UserErrorCode.OUT_OF_RANGE, f"days must be between 1 and {MAX_PORTAL_DAYS}")]
        )
    return days


def create_portal_access(
    session: Session, principal: Principal, contact_id: uuid.UUID, days: int | None = None
) -> PortalAccess:
    """Portal access for a contact the caller sees, valid `days` (30 when left out, at most 365)."""
    require(principal.permissions, PORTAL_MANAGE)
    valid_days = _days(days)
    try:
        contact = customers.get_contact(session, principal, contact_id)
    except NotFoundError:
        raise InputInvalid([FieldError(["input", "contactId"], UserErrorCode.NOT_FOUND, "No such contact")]) from None
    access = PortalAccess(
        id=uuid.uuid4(),
        customer_id=contact.customer_id,
        contact_id=contact.id,
        created_by=principal.label,
        expires_at=_now() + timedelta(days=valid_days),
    )
    session.add(access)
    session.flush()
    session.refresh(access)
    _event(session, principal, PORTAL_ACCESS_CREATED, access, None)
    return access


def token_claims(access: PortalAccess) -> dict[str, Any]:
    """The scoped token of an access: its customer, contact and record in the scope, valid until the access expires."""
    return {
        "tenant_id": access.tenant_id,
        "subject": f"portal:{access.contact_id}",
        "permissions": PORTAL_PERMISSIONS,
        "scope": {
            "customer_id": str(access.customer_id),
            "contact_id": str(access.contact_id),
            PORTAL_SCOPE: str(access.id),
        },
        "ttl_seconds": max(1, int((access.expires_at - _now()).total_seconds())),
    }


def get_portal_access(session: Session, principal: Principal, access_id: uuid.UUID) -> PortalAccess:
    require(principal.permissions, PORTAL_MANAGE)
    access = session.scalar(select(PortalAccess).where(PortalAccess.id == access_id))
    if access is None:
        raise NotFoundError("Portal access not found", id=str(access_id))
    return access


def revoke_portal_access(session: Session, principal: Principal, access_id: uuid.UUID) -> PortalAccess:
    """Revoke an access (again: nothing changes); its token is refused everywhere from then on."""
    require(principal.permissions, PORTAL_MANAGE)
    access = session.scalar(select(PortalAccess).where(PortalAccess.id == access_id).with_for_update())
    if access is None:
        raise InputInvalid([FieldError(["input", "id"], UserErrorCode.NOT_FOUND, "No such portal access")])
    if access.revoked_at is None:
        before = snapshot(access)
        access.revoked_at = _now()
        session.flush()
        _event(session, principal, PORTAL_ACCESS_REVOKED, access, before)
        forget_credentials_after_commit(session, access.tenant_id)
    return access


def list_portal_accesses(
    session: Session, principal: Principal, customer_id: uuid.UUID | None, limit: int, after: list[Any] | None
) -> Page[PortalAccess]:
    """Newest first, optionally of one customer."""
    require(principal.permissions, PORTAL_MANAGE)
    query = select(PortalAccess)
    if customer_id is not None:
        query = query.where(PortalAccess.customer_id == customer_id)
    return keyset_page(session, query, (PortalAccess.created_at, PortalAccess.id), limit, after, descending=True)
