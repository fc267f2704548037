"""Wiring the event pipeline into a process: called once by `create_runtime`.

After `install`, a committed transaction with events enqueues `dispatch_events` for its
tenant, the dispatcher reaches this process's plugins, and webhook secrets decrypt with the
configured keys. (Live messages reach Redis through the publisher `create_runtime` binds to
the engine: `saas.realtime.bind_publisher`.)
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from saas.events import dispatch, outbox
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
