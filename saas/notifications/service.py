"""Notifying members: stored for the `notifications` query, streamed live after commit."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.auth.permissions import Role
from saas.notifications.models import Notification
from saas.tenancy.models import Membership
from saas.tenancy.session import bound_tenant, on_commit

TOPIC = "notifications"
# Set by the runtime: publishes a message on the tenant's real-time topic.
publisher: Any = None


def notify(
    session: Session, recipient_id: uuid.UUID, kind: str, title: str, body: str = "", data: dict[str, Any] | None = None
) -> Notification:
    """A notification for one member, delivered live once the transaction commits."""
    notification = Notification(
        id=uuid.uuid4(), recipient_id=recipient_id, kind=kind, title=title[:200], body=body, data=data or {}
    )
    session.add(notification)
    tenant_id = bound_tenant(session)
    if publisher is not None and tenant_id is not None:
        message = {"id": str(notification.id), "recipient_id": str(recipient_id)}
        on_commit(session, lambda: publisher(tenant_id, TOPIC, message))
    return notification


def notify_roles(
    session: Session, roles: Iterable[Role], kind: str, title: str, body: str = "", data: dict[str, Any] | None = None
) -> list[Notification]:
    """The same notification for every active member holding one of `roles`."""
    wanted = [r.value for r in roles]
    members = session.scalars(
        select(Membership.id).where(Membership.is_active.is_(True), Membership.role.in_(wanted))
    ).all()
    return [notify(session, member_id, kind, title, body, data) for member_id in members]
