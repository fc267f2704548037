"""Notifying members: stored for the `notifications` query, streamed live after commit."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from saas.accounts.models import Membership
from saas.audit.log import json_safe
from saas.auth.permissions import Role
from saas.db.paging import Page, keyset_page
from saas.errors import NotFoundError
from saas.notifications.models import Notification
from saas.notifications.rules import notification_conditions, unread_conditions
from saas.realtime import publish_after_commit

TOPIC = "notifications"


def live_message(notification: Notification) -> dict[str, Any]:
    """What subscribers receive: the whole notification, so that they need not read it back."""
    return {
        "id": str(notification.id),
        "recipient_id": str(notification.recipient_id),
        "kind": notification.kind,
        "title": notification.title,
        "body": notification.body,
        "data": json_safe(notification.data),
        "created_at": notification.created_at.isoformat(),
    }


def notify(
    session: Session, recipient_id: uuid.UUID, kind: str, title: str, body: str = "", data: dict[str, Any] | None = None
) -> Notification:
    """A notification for one member, delivered live once the transaction commits.

    Clients read `data` as it is given (`notifications { data }`, the live message): callers
    give it in the API's shapes (`saas.events.payloads.api_object`, `node_ref`), like an
    event's payload, never raw UUIDs or column names.
    """
    notification = Notification(
        id=uuid.uuid4(),
        recipient_id=recipient_id,
        kind=kind,
        title=title[:200],
        body=body,
        data=data or {},
        created_at=datetime.now(UTC),
    )
    session.add(notification)
    publish_after_commit(session, TOPIC, live_message(notification))
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


def notification_page(
    session: Session,
    recipient_id: uuid.UUID,
    limit: int,
    after: Sequence[Any] | None,
    unread_only: bool,
) -> tuple[Page[Notification], int]:
    """The recipient's notifications, newest first (keyset on created_at, id), and how many are unread.

    The page's `total_count` counts what the list shows: all of them, or the unread ones with `unread_only`.
    """
    table = Notification.__tablename__  # the compiled read's rules (`rules.py`), over the table itself
    mine, unread_ones = notification_conditions(recipient_id, table, False), unread_conditions(recipient_id, table)
    shown = unread_ones if unread_only else mine
    query = select(Notification).where(text(shown.sql).bindparams(**shown.params))
    unread_count = func.count().filter(text(unread_ones.sql).bindparams(**unread_ones.params))
    counts = select(func.count(), unread_count).select_from(Notification)
    total, unread = session.execute(counts.where(text(mine.sql).bindparams(**mine.params))).one()
    key = (Notification.created_at, Notification.id)
    page = keyset_page(session, query, key, limit, after, descending=True, count=False)
    return Page(page.rows, page.has_next_page, unread if unread_only else total), unread


def get_notification(session: Session, recipient_id: uuid.UUID, notification_id: uuid.UUID) -> Notification:
    """One of the recipient's own notifications, else NOT_FOUND (a colleague's and another tenant's included)."""
    row = session.scalars(
        select(Notification).where(Notification.recipient_id == recipient_id, Notification.id == notification_id)
    ).first()
    if row is None:
        raise NotFoundError("Notification not found", id=str(notification_id))
    return row


def mark_read(session: Session, recipient_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[Notification]:
    """Mark the recipient's notifications read; any id that is not theirs is NOT_FOUND (nothing changes)."""
    wanted = list(dict.fromkeys(ids))
    rows = list(
        session.scalars(
            select(Notification)
            .where(Notification.recipient_id == recipient_id, Notification.id.in_(wanted))
            .with_for_update()
        )
    )
    found = {row.id for row in rows}
    missing = [i for i in wanted if i not in found]
    if missing:
        raise NotFoundError("Notification not found", id=str(missing[0]))
    now = datetime.now(UTC)
    for row in rows:
        if row.read_at is None:
            row.read_at = now
    session.flush()
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in wanted]
