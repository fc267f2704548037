"""Wiring the event pipeline into a process: called once by `create_runtime`.

After `install`, notifications are
published live on the tenant's Redis channel. (A committed transaction with events enqueues
`dispatch_events` by itself, `outbox.request_dispatch`; the dispatcher reaches the plugins of
the runtime its job broker was set up with, `JobContext.plugins`.)
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from saas.notifications import service as notifications
from saas.realtime import publish

if TYPE_CHECKING:
    from saas.runtime import Runtime


def install(runtime: Runtime) -> None:
    client = runtime.redis

    def publish_notification(tenant_id: uuid.UUID, topic: str, message: dict[str, Any]) -> None:
        # Called after commit (`on_commit`): the notification is stored; if Redis fails, only
        # its live copy is lost, and that is logged and counted there.
        publish(client, tenant_id, topic, message)

    notifications.publisher = publish_notification
