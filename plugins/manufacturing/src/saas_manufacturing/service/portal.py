"""Portal access: a contact's scoped token, limited to the contact's own customer.

The token itself is a core scoped token (`issue_scoped_token`) carrying the customer and contact
ids (which the core honours: visibility, and the token ends with either) and the id of the
access record here. The core asks `saas_check_scoped_token` whether that record still stands
whenever it checks the token, so a revoked access is refused by every field, core and plugin;
every portal request also checks the record (`common.actor_for`).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from saas.plugin_api import (
    ForbiddenError,
    Page,
    forget_credentials_after_commit,
    get_contact,
    keyset_page,
    record_change,
    require,
    snapshot,
)
from saas_manufacturing import NAME, events
from saas_manufacturing.models import PortalAccess
from saas_manufacturing.rules import PORTAL, PORTAL_MANAGE
from saas_manufacturing.service.common import PORTAL_SCOPE, Actor, not_found, now

# What a portal token may do: order for its customer, and read the catalog to choose products.
PORTAL_PERMISSIONS = frozenset({PORTAL, "products:read"})


def _staff_only(actor: Actor, permission: str) -> None:
    if actor.portal is not None:
        raise ForbiddenError("Not available to portal users")
    require(actor.principal.permissions, permission)


def create_portal_access(session: Session, actor: Actor, contact_id: uuid.UUID) -> PortalAccess:
    _staff_only(actor, PORTAL_MANAGE)
    contact = get_contact(session, actor.principal, contact_id)  # NOT_FOUND unless visible to the caller
    days = actor.settings(session).portal_token_days
    access = PortalAccess(
        id=uuid.uuid4(),
        contact_id=contact.id,
        customer_id=contact.customer_id,
        created_by=actor.label,
        expires_at=now() + timedelta(days=days),
    )
    session.add(access)
    session.flush()
    session.refresh(access)
    record_change(
        session, actor.principal, events.PORTAL_ACCESS_CREATED, "MfgPortalAccess", access.id, None, snapshot(access)
    )
    events.portal_access_changed(session, events.PORTAL_ACCESS_CREATED, access)
    return access


def token_claims(access: PortalAccess) -> dict[str, Any]:
    """The arguments of `issue_scoped_token` for an access record: the core ends the token when
    its customer or contact is deleted or the plugin is disabled; `saas_check_scoped_token`
    when the access is revoked."""
    ttl = max(1, int((access.expires_at - now()).total_seconds()))
    return {
        "subject": f"mfg-portal:{access.contact_id}",
        "permissions": PORTAL_PERMISSIONS,
        "scope": {
            "customer_id": str(access.customer_id),
            "contact_id": str(access.contact_id),
            PORTAL_SCOPE: str(access.id),
        },
        "ttl_seconds": ttl,
        "plugin": NAME,
    }


def get_access(session: Session, actor: Actor, access_id: uuid.UUID) -> PortalAccess:
    _staff_only(actor, PORTAL_MANAGE)
    access = session.scalars(select(PortalAccess).where(PortalAccess.id == access_id)).first()
    if access is None:
        raise not_found("Portal access", access_id)
    return access


def revoke_portal_access(session: Session, actor: Actor, access_id: uuid.UUID) -> PortalAccess:
    access = get_access(session, actor, access_id)
    if access.revoked_at is None:
        before = snapshot(access)
        access.revoked_at = now()
        session.flush()
        record_change(
            session,
            actor.principal,
            events.PORTAL_ACCESS_REVOKED,
            "MfgPortalAccess",
            access.id,
            before,
            snapshot(access),
        )
        events.portal_access_changed(session, events.PORTAL_ACCESS_REVOKED, access)
        # This process refuses the token from the next request on, once the revocation is committed.
        forget_credentials_after_commit(session, access.tenant_id)
    return access


def revoke_for(session: Session, *, contact_id: uuid.UUID | None = None, customer_id: uuid.UUID | None = None) -> int:
    """Revoke every live access of a deleted contact or customer (from the core's domain events)."""
    statement = update(PortalAccess).where(PortalAccess.revoked_at.is_(None)).values(revoked_at=now())
    if contact_id is not None:
        statement = statement.where(PortalAccess.contact_id == contact_id)
    if customer_id is not None:
        statement = statement.where(PortalAccess.customer_id == customer_id)
    revoked = session.scalars(statement.returning(PortalAccess)).all()
    for access in revoked:
        events.portal_access_changed(session, events.PORTAL_ACCESS_REVOKED, access)
    return len(revoked)


def list_portal_accesses(
    session: Session, actor: Actor, customer_id: uuid.UUID | None, limit: int, after: list[Any] | None
) -> Page:
    _staff_only(actor, PORTAL_MANAGE)
    query = select(PortalAccess)
    if customer_id is not None:
        query = query.where(PortalAccess.customer_id == customer_id)
    return keyset_page(session, query, (PortalAccess.created_at, PortalAccess.id), limit, after, descending=True)
