"""Wiring the event pipeline into a process: called once by `create_runtime`.

After `install`, a committed transaction with events enqueues `dispatch_events` for its
tenant, the dispatcher reaches this process's plugins, webhook secrets decrypt with the
configured keys, and notifications are published live on the tenant's Redis channel.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from saas.events import dispatch, outbox
from saas.notifications import service as notifications
from saas.realtime import publish
from saas.webhooks import delivery

if TYPE_CHECKING:
    from saas.runtime import Runtime


def request_dispatch(tenant_id: uuid.UUID) -> None:
    """Enqueue dispatch of the tenant's pending events (no-op in a process without a broker)."""
    if dispatch.dispatch_events.actor is not None:
        dispatch.dispatch_events.send(tenant_id)


def install(runtime: Runtime) -> None:
    dispatch.configure(runtime.plugins)
    delivery.configure(runtime.settings)
    outbox.dispatch_hook = request_dispatch
    client = runtime.redis

    def publish_notification(tenant_id: uuid.UUID, topic: str, message: dict[str, Any]) -> None:
        # Called after commit (`on_commit`): the notification is stored; if Redis fails, only
        # its live copy is lost, and that is logged and counted there.
        publish(client, tenant_id, topic, message)

    notifications.publisher = publish_notification
