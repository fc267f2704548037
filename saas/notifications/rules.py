"""Which notifications a caller sees: their own (the recipient's), as a SQL condition for the
compiled read (the compiler adds the tenant). `service.notification_page` applies the same to its page and counts."""

from __future__ import annotations

import uuid

from saas.db.conditions import SqlCondition


def notification_conditions(recipient_id: uuid.UUID, alias: str, unread_only: bool) -> SqlCondition:
    """The recipient's notifications; only the unread ones with `unread_only`."""
    condition = SqlCondition()
    condition.add(f"{alias}.recipient_id = CAST(:notification_recipient AS uuid)", notification_recipient=recipient_id)
    if unread_only:
        condition.add(f"{alias}.read_at IS NULL")
    return condition


def unread_conditions(recipient_id: uuid.UUID, alias: str) -> SqlCondition:
    """The recipient's unread notifications (`unreadCount`, whatever the list shows)."""
    return notification_conditions(recipient_id, alias, unread_only=True)
