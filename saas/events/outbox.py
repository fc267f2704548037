"""Emitting a domain event: a row in the outbox, in the caller's transaction.

The event exists exactly when the change does: a rolled-back transaction leaves no row, so
nothing is ever sent for it. After commit the dispatcher is asked to run (`on_commit`);
a periodic sweep picks up anything a crash left behind, so no committed event is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from saas.audit.log import json_safe
from saas.events.models import OutboxEvent
from saas.tenancy.session import bound_tenant, on_commit

# Set by the jobs layer: asks a worker to dispatch the tenant's pending events.
dispatch_hook: Callable[[Any], None] | None = None


def emit_event(session: Session, event_type: str, payload: dict[str, Any]) -> OutboxEvent:
    """Record `event_type` with `payload` (JSON) for the session's tenant, in its transaction."""
    tenant_id = bound_tenant(session)
    if tenant_id is None:
        raise RuntimeError("events need a tenant-bound session")
    event = OutboxEvent(type=event_type, payload=json_safe(payload))
    session.add(event)
    if dispatch_hook is not None and not session.info.get("dispatch_requested"):
        session.info["dispatch_requested"] = True
        hook = dispatch_hook

        def request_dispatch() -> None:
            session.info.pop("dispatch_requested", None)
            hook(tenant_id)

        on_commit(session, request_dispatch)
    return event
