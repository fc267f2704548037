"""GraphQL types of notifications."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from saas.notifications import models
from saas.schema.common import Node
from saas.schema.connections import CountedConnection
from saas.schema.relay import to_global_id
from saas.schema.scalars import parse_datetime


@strawberry.type(description="A message to the caller (due follow-ups, assignments, …).")
class Notification(Node):
    kind: str
    title: str
    body: str
    data: JSON
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def from_model(cls, row: models.Notification) -> Notification:
        return cls(
            id=strawberry.ID(to_global_id("Notification", row.id)),
            kind=row.kind,
            title=row.title,
            body=row.body,
            data=cast(JSON, row.data),
            created_at=row.created_at,
            read_at=row.read_at,
        )

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> Notification:
        """From a live message (saas.notifications.service.live_message): new, so unread."""
        return cls(
            id=strawberry.ID(to_global_id("Notification", uuid.UUID(message["id"]))),
            kind=message["kind"],
            title=message["title"],
            body=message["body"],
            data=cast(JSON, message["data"]),
            created_at=parse_datetime(message["created_at"]),
            read_at=None,
        )


@strawberry.type
class NotificationConnection(CountedConnection[Notification]):
    total_count: int = strawberry.field(description="All the caller's notifications (unread ones with unreadOnly).")
    unread_count: int
