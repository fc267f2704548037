"""The outbox sweep: dispatch what a crash (or a lost message) left behind, so nothing is lost.

Committing a transaction with events asks for dispatch at once (`outbox.request_dispatch`); if
the process dies between the commit and that request, or Redis refused it, the events wait
in the outbox. Every `SWEEP_INTERVAL` the sweep lists the tenants with events pending for
longer than `EVENT_AGE`, or with webhook deliveries overdue by more than
`delivery.LOST_AFTER` (their job message was lost), and enqueues `dispatch_events` for each —
one message per tenant that needs it, not per tenant. So a lost event or delivery is picked
up within about a minute and a half of when it should have gone out.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from sqlalchemy import Engine, text

from saas.events.dispatch import dispatch_events
from saas.jobs.periodic import MaintenanceTask, register_maintenance
from saas.tenancy.session import tenant_session
from saas.webhooks import delivery

log = logging.getLogger(__name__)

SWEEP_INTERVAL = timedelta(seconds=30)
# Younger events are still on their way through the normal after-commit request.
EVENT_AGE = timedelta(seconds=5)


def tenants_needing_dispatch(engine: Engine, event_age: timedelta = EVENT_AGE) -> list[uuid.UUID]:
    """Tenants with events pending longer than `event_age`, or with overdue pending deliveries."""
    with tenant_session(engine, None) as session:
        rows = session.execute(
            text("SELECT tenants_needing_dispatch(:event_age, :overdue)"),
            {"event_age": event_age, "overdue": delivery.LOST_AFTER},
        )
        return [row[0] for row in rows]


def sweep_outbox(engine: Engine, event_age: timedelta = EVENT_AGE) -> list[uuid.UUID]:
    """Enqueue `dispatch_events` for every tenant that needs it; returns those tenants."""
    tenants = tenants_needing_dispatch(engine, event_age)
    for tenant_id in tenants:
        dispatch_events.send(tenant_id)
    if tenants:
        log.info("outbox sweep: dispatch enqueued for %d tenants", len(tenants))
    return tenants


register_maintenance(MaintenanceTask("saas.outbox_sweep", sweep_outbox, SWEEP_INTERVAL))
