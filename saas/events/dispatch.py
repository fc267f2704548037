"""Dispatching a tenant's committed events: to the core's handlers, the enabled plugins' and webhooks.

`dispatch_events` takes the tenant's oldest pending outbox rows (`FOR UPDATE SKIP LOCKED`,
so concurrent dispatchers never take the same event) and, in one transaction:
- runs the core's handlers (`CORE_EVENT_HANDLERS`: the tenant's automation rules, which log
  each run and contain their own failures, see `saas.automation.engine`);
- calls `saas_handle_event` of every plugin the tenant enabled (only those), with the
  plugin's tenant settings and the job's session, in event order;
- creates a pending `webhook_deliveries` row for each webhook that was live when the event was
  recorded (`OutboxEvent.webhook_ids`, see `emit_event`), is still live, and is subscribed to
  the type — a webhook created after the event never receives it, however late this runs;
- marks the events dispatched.
After commit it enqueues one `webhooks.deliver` job per delivery.

Each enabled plugin's handler is reached through a pluggy caller of its own
(`PluginHost.hook_for([name])`), in the host's order: pluggy hands all implementations of one
call the same arguments, and the context carries one plugin's settings.

Failure policy: if a plugin handler raises, the whole batch rolls back (no event marked, no
delivery created, the handlers' own writes undone) and the job is retried by dramatiq with
backoff; once retries are exhausted the periodic sweep starts it again later. So handlers
see every event at least once, in order, and must be idempotent (their database writes in
the given session happen exactly once). A handler that always fails holds up its tenant's
events until it is fixed or the tenant disables the plugin — events are delayed, never lost.
Other tenants' events are not held up: each tenant's outbox is dispatched by jobs of its own.
(pluggy's calling convention fits this policy: a raising implementation ends the call and its
exception propagates, so the batch rolls back.)
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saas.events.catalog import subscribed
from saas.events.models import OutboxEvent
from saas.events.outbox import emit_event
from saas.jobs.registry import JobContext, tenant_job
from saas.plugin_host.contributions import DomainEvent, PluginContext
from saas.plugin_host.enabled import enabled_plugins
from saas.plugin_host.host import PluginHost
from saas.tenancy.session import on_commit
from saas.webhooks import delivery
from saas.webhooks.models import Webhook, WebhookDelivery

BATCH_SIZE = 100
# The core's own handlers of committed events, as "module:factory". `factory(session, tenant_id,
# plugins, enabled_plugins)` is made once per batch; its `handle(event, emit)` is called for each
# event before the plugins' handlers and returns the webhook deliveries it made (enqueued after
# commit). Named, not imported, as the core's job modules are (`saas.jobs.broker`): every domain
# emits events, and a domain that handles them (automation acts through customers, leads, …)
# sits above those domains.
CORE_EVENT_HANDLERS: tuple[str, ...] = ("saas.automation.engine:RuleRunner",)


def _core_handler(path: str) -> Callable[..., Any]:
    module, _, name = path.partition(":")
    factory: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return factory


@dataclass(frozen=True)
class Dispatched:
    events: int
    deliveries: list[uuid.UUID]
    more: bool


def _to_domain_event(event: OutboxEvent) -> DomainEvent:
    return DomainEvent(
        id=event.id,
        tenant_id=event.tenant_id,
        type=event.type,
        payload=event.payload,
        occurred_at=event.created_at,
        causation_depth=event.causation_depth,
    )


def dispatch_pending(
    session: Session, tenant_id: uuid.UUID, plugins: PluginHost, limit: int = BATCH_SIZE
) -> Dispatched:
    """Dispatch up to `limit` pending events in the session's transaction (see the module docstring)."""
    events = session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.dispatched_at.is_(None))
        .order_by(OutboxEvent.seq)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not events:
        return Dispatched(0, [], False)
    enabled = enabled_plugins(session, plugins)
    core = [_core_handler(path)(session, tenant_id, plugins, enabled) for path in CORE_EVENT_HANDLERS]
    handlers = [(plugins.hook_for([name]).saas_handle_event, settings) for name, settings in enabled.items()]
    webhooks = {w.id: w for w in session.scalars(select(Webhook).where(Webhook.deleted_at.is_(None)))}

    def emit(event_type: str, payload: dict[str, Any]) -> None:
        emit_event(session, event_type, payload)

    created: list[uuid.UUID] = []
    now = datetime.now(UTC)
    for event in events:
        domain_event = _to_domain_event(event)
        for handler in core:
            created.extend(handler.handle(domain_event, emit))
        for handle_event, settings in handlers:
            context = PluginContext(tenant_id=tenant_id, session=session, settings=settings, emit=emit)
            handle_event(context=context, event=domain_event)
        for webhook_id in event.webhook_ids:
            webhook = webhooks.get(webhook_id)
            if webhook is not None and subscribed(webhook.events, event.type):
                row = WebhookDelivery(
                    id=uuid.uuid4(),
                    webhook_id=webhook.id,
                    event_id=event.id,
                    event_type=event.type,
                    payload=event.payload,
                    occurred_at=event.created_at,
                )
                session.add(row)
                created.append(row.id)
        event.dispatched_at = now
    session.flush()
    return Dispatched(len(events), created, len(events) == limit)


def _stale_deliveries(session: Session) -> list[uuid.UUID]:
    """Pending deliveries overdue by more than `delivery.LOST_AFTER`: their job message was lost
    (enqueue failed, retries cut short). Each is due again now, as a job is enqueued for it."""
    rows = session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at < func.now() - delivery.LOST_AFTER)
        .limit(BATCH_SIZE)
        .with_for_update(skip_locked=True)
    ).all()
    now = datetime.now(UTC)
    for row in rows:
        row.updated_at = row.next_attempt_at = now
    return [row.id for row in rows]


# A tenant's dispatch job is queued and has not started (`ask_for_dispatch`): the key, in the
# broker's namespace, and how long it is trusted without a job clearing it.
QUEUED_KEY = "{namespace}:events.dispatch:queued:{tenant_id}"
QUEUED_TTL_MS = 30_000


def _queued_key(broker: Any, tenant_id: Any) -> str:
    return QUEUED_KEY.format(namespace=broker.namespace, tenant_id=tenant_id)


def ask_for_dispatch(tenant_id: Any) -> bool:
    """After a commit with events: enqueue `dispatch_events` for the tenant, unless a job of the
    tenant is queued and has not started yet. True when a job was enqueued.

    Such a job reads the outbox after it starts, so after this commit: it dispatches this
    commit's events, and a second job would find nothing. The mark is a Redis key set (`SET NX`,
    one command, instead of the broker's enqueue script) by whoever enqueues and deleted by
    the job before it reads the outbox (`dispatch_events`); a commit that finds it set enqueues
    nothing. So under load one job serves the commits of many requests. The key expires after
    `QUEUED_TTL_MS`, in case the job never starts (its message lost): the sweep dispatches
    what such a job would have, as for a failed enqueue. A failure here (Redis down) is raised
    to `run_after_commit`, which logs and counts it: the sweep dispatches the events.

    In two steps, so that the `SET NX` can share a round trip with the commit's other Redis
    commands (`saas.events.outbox`'s dispatch request, a `RedisStep`): `queue_mark` adds it to a
    pipeline, `enqueue_if_marked` carries on with its reply."""
    client = mark_client()
    if client is None:
        actor = dispatch_events.actor
        if actor is None:
            return False
        dispatch_events.send(tenant_id)
        return True
    pipeline = client.pipeline(transaction=False)
    queue_mark(pipeline, tenant_id)
    return enqueue_if_marked(tenant_id, pipeline.execute(raise_on_error=False)[0])


def mark_client() -> Any:
    """The Redis client of the queued mark (the broker's); None when there is no mark to set (no
    broker bound in this process, or one without a Redis client)."""
    actor = dispatch_events.actor
    return getattr(actor.broker, "client", None) if actor is not None else None


def queue_mark(pipeline: Any, tenant_id: Any) -> int:
    """Add the `SET NX` of the tenant's queued mark to `pipeline` (one command)."""
    actor = dispatch_events.actor
    assert actor is not None, "a mark needs the dispatch job bound to a broker (`mark_client`)"
    # `SET key 1 NX PX ttl` as its words: what `pipeline.set(key, b"1", nx=True, px=…)` sends, without
    # its checks of every option it takes; the reply goes through the same callback (True, or None
    # when the mark was set already).
    pipeline.execute_command("SET", _queued_key(actor.broker, tenant_id), b"1", "NX", "PX", QUEUED_TTL_MS)
    return 1


def enqueue_if_marked(tenant_id: Any, reply: Any) -> bool:
    """With the `SET NX`'s reply: enqueue the job if this commit set the mark (True), nothing if
    it was set already; a failed `SET` (an exception) is raised. An enqueue that fails deletes
    the mark again (no job was queued: the next commit enqueues one) and is raised."""
    if isinstance(reply, Exception):
        raise reply
    if not reply:
        return False
    try:
        dispatch_events.send(tenant_id)
    except BaseException:
        actor = dispatch_events.actor
        if actor is not None:
            actor.broker.client.delete(_queued_key(actor.broker, tenant_id))
        raise
    return True


def _started(tenant_id: Any) -> None:
    """The job has started: commits from now on enqueue a job of their own (`ask_for_dispatch`)."""
    actor = dispatch_events.actor
    client = getattr(actor.broker, "client", None) if actor is not None else None
    if client is not None:
        client.delete(_queued_key(actor.broker, tenant_id))


@tenant_job("events.dispatch", max_retries=10, min_backoff_ms=1_000, max_backoff_ms=300_000)
def dispatch_events(ctx: JobContext) -> None:
    """Move the tenant's outbox forward; enqueue deliveries (and the next batch) after commit.

    First, before reading the outbox, it clears the tenant's queued mark (`ask_for_dispatch`):
    every commit that found the mark set is read by the statement below (READ COMMITTED: a
    snapshot per statement).

    The plugins and the webhook sender are the worker's (`ctx.plugins`, `ctx.webhook_sender`: the
    runtime's, which the broker was set up with)."""
    _started(ctx.tenant_id)
    if ctx.plugins is None:
        raise RuntimeError("events.dispatch runs through a JobRunner, which hands it the plugin host")
    sender = ctx.webhook_sender
    if sender is None:
        raise RuntimeError("events.dispatch runs through a JobRunner, which hands it the webhook sender")
    result = dispatch_pending(ctx.session, ctx.tenant_id, ctx.plugins)
    to_deliver = [*result.deliveries, *_stale_deliveries(ctx.session)]
    tenant_id = ctx.tenant_id

    def after_commit() -> None:
        for delivery_id in to_deliver:
            delivery.enqueue_delivery(sender, tenant_id, delivery_id)
        if result.more:
            dispatch_events.send(tenant_id)

    on_commit(ctx.session, after_commit)
