"""The sweep: events committed but never announced (a crash after commit) are dispatched anyway."""

from __future__ import annotations

import uuid
from typing import Any

from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import select, text

from saas.events.dispatch import dispatch_pending
from saas.events.models import OutboxEvent
from saas.events.sweep import sweep_outbox, tenants_needing_dispatch
from saas.runtime import Runtime
from saas.webhooks.models import WebhookDelivery
from tests.conftest import GraphQLClient
from tests.events.support import Receiver, create_customer, create_webhook, in_tenant, wait_for


def _age_events(runtime: Runtime, tenant_id: uuid.UUID) -> None:
    in_tenant(
        runtime, tenant_id, lambda s: s.execute(text("UPDATE outbox_events SET created_at = now() - interval '1 hour'"))
    )


def test_the_sweep_lists_only_tenants_with_old_pending_events(
    owner: GraphQLClient, tenant: Any, other_tenant: Any, runtime: Runtime, dispatch_requests: list[uuid.UUID]
) -> None:
    create_customer(owner, "Just Now Ltd")
    assert tenant.id not in tenants_needing_dispatch(runtime.engine)  # still on its way
    _age_events(runtime, tenant.id)
    listed = tenants_needing_dispatch(runtime.engine)
    assert tenant.id in listed and other_tenant.id not in listed
    # The listing leaves the caller's own tenant setting as it was.
    with runtime.engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(other_tenant.id)})
        conn.execute(text("SELECT tenants_needing_dispatch(interval '0', interval '1 minute')")).all()
        assert conn.execute(text("SELECT current_setting('app.tenant_id')")).scalar() == str(other_tenant.id)


def test_events_left_behind_by_a_crash_are_dispatched_by_the_sweep(
    worker: RedisBroker,
    receiver: Receiver,
    owner: GraphQLClient,
    tenant: Any,
    runtime: Runtime,
    dispatch_requests: list[uuid.UUID],
) -> None:
    create_webhook(owner, receiver.url, ["customer.created"])
    create_customer(owner, "Survivor Ltd")  # the after-commit request is "lost" (only recorded)
    _age_events(runtime, tenant.id)
    assert tenant.id in sweep_outbox(runtime.engine)
    wait_for(lambda: receiver.count() == 1)
    pending = in_tenant(
        runtime, tenant.id, lambda s: s.scalars(select(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None))).all()
    )
    assert pending == []


def test_a_delivery_whose_job_was_lost_is_sent_again_a_minute_after_it_was_due(
    worker: RedisBroker,
    receiver: Receiver,
    owner: GraphQLClient,
    tenant: Any,
    other_tenant: Any,
    runtime: Runtime,
    dispatch_requests: list[uuid.UUID],
) -> None:
    create_webhook(owner, receiver.url, ["customer.created"])
    create_customer(owner, "Stuck Ltd")
    in_tenant(runtime, tenant.id, lambda s: dispatch_pending(s, tenant.id, runtime.plugins))  # no job enqueued
    assert tenant.id not in tenants_needing_dispatch(runtime.engine)
    in_tenant(  # due 30 s ago: its job may still be on its way
        runtime,
        tenant.id,
        lambda s: s.execute(text("UPDATE webhook_deliveries SET next_attempt_at = now() - interval '30 seconds'")),
    )
    assert tenant.id not in tenants_needing_dispatch(runtime.engine)
    in_tenant(  # overdue by more than a minute: its job was lost
        runtime,
        tenant.id,
        lambda s: s.execute(text("UPDATE webhook_deliveries SET next_attempt_at = now() - interval '61 seconds'")),
    )
    listed = sweep_outbox(runtime.engine)
    assert tenant.id in listed and other_tenant.id not in listed
    wait_for(lambda: receiver.count() == 1)
    row = wait_for(
        lambda: in_tenant(
            runtime,
            tenant.id,
            lambda s: s.scalars(select(WebhookDelivery).where(WebhookDelivery.status == "succeeded")).first(),
        )
    )
    assert row.attempts == 1


def test_the_scheduler_runs_the_sweep_once_per_interval(
    worker: RedisBroker,
    receiver: Receiver,
    owner: GraphQLClient,
    tenant: Any,
    runtime: Runtime,
    dispatch_requests: list[uuid.UUID],
) -> None:
    from saas.jobs.scheduler import Scheduler

    create_webhook(owner, receiver.url, ["customer.created"])
    create_customer(owner, "Scheduled Ltd")  # the after-commit request is "lost" (only recorded)
    _age_events(runtime, tenant.id)
    first, second = (Scheduler(runtime.engine, worker, []) for _ in range(2))
    worker.client.hdel(first.due_key, "maintenance:saas.outbox_sweep")
    first.tick()
    wait_for(lambda: receiver.count() == 1)
    create_customer(owner, "Later Ltd")
    _age_events(runtime, tenant.id)
    second.tick()  # within the interval: the sweep waits
    pending = in_tenant(
        runtime, tenant.id, lambda s: s.scalars(select(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None))).all()
    )
    assert len(pending) == 1
