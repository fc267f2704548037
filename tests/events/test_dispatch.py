"""Dispatch: plugin handlers of the tenants that enabled them, webhook deliveries, failures retried."""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import select, text

from saas.crypto import secret_box
from saas.customers import service as customers
from saas.events.dispatch import dispatch_events, dispatch_pending
from saas.events.models import OutboxEvent
from saas.jobs.registry import JobContext
from saas.jobs.runner import JobRunner
from saas.plugin_api import PLUGIN_API_VERSION, DomainEvent, PluginContext, PluginMeta, hookimpl
from saas.plugin_host.host import PluginHost
from saas.runtime import Runtime
from saas.schema.relay import decode_id
from saas.tenancy.session import tenant_session
from saas.webhooks import service as webhooks
from saas.webhooks.models import WebhookDelivery
from tests.conftest import GraphQLClient
from tests.events.support import create_customer, create_webhook, in_tenant, wait_for

ENABLE = """mutation($name: String!) {
  enablePlugin(input: {name: $name}) { plugin { enabled } userErrors { code message } }
}"""
DISABLE = """mutation($name: String!) {
  disablePlugin(input: {name: $name}) { plugin { enabled } userErrors { code message } }
}"""


@dataclass(eq=False)  # hashable by identity, as pluggy needs
class RecordingPlugin:
    """A plugin that records the events it is handed; it can be told to fail a number of times."""

    name: str
    seen: list[tuple[uuid.UUID, str, int]] = field(default_factory=list)
    failures_left: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @hookimpl
    def saas_plugin_meta(self) -> PluginMeta:
        return PluginMeta(name=self.name, version="1.0.0", title="Recorder", api_version=PLUGIN_API_VERSION)

    @hookimpl
    def saas_handle_event(self, context: PluginContext, event: DomainEvent) -> None:
        with self.lock:
            self.seen.append((context.tenant_id, event.type, event.id))
            if self.failures_left:
                self.failures_left -= 1
                raise RuntimeError("handler failed")
        assert event.tenant_id == context.tenant_id
        if event.type == "customer.created":  # a handler may write, and emit follow-up events
            context.emit("customer.updated", {"customer": event.payload["customer"], "by": self.name})

    def tenants(self) -> set[uuid.UUID]:
        with self.lock:
            return {tenant for tenant, _, _ in self.seen}


@pytest.fixture
def plugin(runtime: Runtime) -> Iterator[RecordingPlugin]:
    recorder = RecordingPlugin(f"rec{secrets.token_hex(3)}")
    loaded = runtime.plugins.add(recorder, recorder.name)
    assert not loaded.broken, loaded.problems
    try:
        yield recorder
    finally:
        runtime.plugins.remove(recorder.name)


def _pending(runtime: Runtime, tenant_id: uuid.UUID) -> list[str]:
    return in_tenant(
        runtime,
        tenant_id,
        lambda s: list(
            s.scalars(select(OutboxEvent.type).where(OutboxEvent.dispatched_at.is_(None)).order_by(OutboxEvent.seq))
        ),
    )


def _dispatch(runtime: Runtime, tenant_id: uuid.UUID) -> Any:
    return in_tenant(runtime, tenant_id, lambda s: dispatch_pending(s, tenant_id, runtime.plugins))


def test_handlers_run_only_for_tenants_that_enabled_the_plugin(
    worker: RedisBroker,
    plugin: RecordingPlugin,
    owner: GraphQLClient,
    other_owner: GraphQLClient,
    tenant: Any,
    other_tenant: Any,
    runtime: Runtime,
) -> None:
    assert owner.data(ENABLE, {"name": plugin.name})["enablePlugin"]["userErrors"] == []
    create_customer(other_owner, "Not Enabled Ltd")
    create_customer(owner, "Enabled Ltd")
    # The handler's follow-up event is dispatched too, by the next run.
    wait_for(lambda: [t for _, t, _ in plugin.seen] == ["plugin.enabled", "customer.created", "customer.updated"])
    wait_for(lambda: _pending(runtime, tenant.id) == [] and _pending(runtime, other_tenant.id) == [])
    worker.join("default", timeout=10_000)
    assert plugin.tenants() == {tenant.id}


def test_a_disabled_plugin_handles_nothing(
    plugin: RecordingPlugin, owner: GraphQLClient, tenant: Any, runtime: Runtime, dispatch_requests: list[uuid.UUID]
) -> None:
    owner.data(ENABLE, {"name": plugin.name})
    assert owner.data(DISABLE, {"name": plugin.name})["disablePlugin"]["plugin"]["enabled"] is False
    create_customer(owner, "Switched Off plc")
    assert _pending(runtime, tenant.id) == ["plugin.enabled", "plugin.disabled", "customer.created"]
    assert _dispatch(runtime, tenant.id).events == 3
    assert plugin.seen == []
    assert _pending(runtime, tenant.id) == []


def test_a_failing_handler_rolls_the_batch_back(
    plugin: RecordingPlugin, owner: GraphQLClient, tenant: Any, runtime: Runtime, dispatch_requests: list[uuid.UUID]
) -> None:
    owner.data(ENABLE, {"name": plugin.name})
    create_webhook(owner, "https://example.com/hook", ["customer.*"])
    _dispatch(runtime, tenant.id)  # the setup's own events (plugin.enabled, webhook.created)
    create_customer(owner, "Flaky Ltd")
    plugin.failures_left = 1
    with pytest.raises(RuntimeError, match="handler failed"):
        _dispatch(runtime, tenant.id)
    assert _pending(runtime, tenant.id) == ["customer.created"]
    assert in_tenant(runtime, tenant.id, lambda s: s.scalars(select(WebhookDelivery)).all()) == []
    result = _dispatch(runtime, tenant.id)
    assert (result.events, len(result.deliveries)) == (1, 1)
    assert _pending(runtime, tenant.id) == ["customer.updated"]  # the handler's follow-up, for the next run


def test_the_dispatch_job_retries_a_failed_handler(
    worker: RedisBroker, plugin: RecordingPlugin, owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    owner.data(ENABLE, {"name": plugin.name})
    wait_for(lambda: _pending(runtime, tenant.id) == [] and len(plugin.seen) == 1)  # plugin.enabled
    plugin.failures_left = 1
    create_customer(owner, "Second Chance Ltd")
    wait_for(lambda: _pending(runtime, tenant.id) == [] and len(plugin.seen) == 4, timeout=20)
    created = [event_id for _, kind, event_id in plugin.seen if kind == "customer.created"]
    assert len(created) == 2 and len(set(created)) == 1  # the same event again, after the rollback


def test_a_dispatch_for_one_tenant_leaves_the_others_alone(
    owner: GraphQLClient, tenant: Any, other_tenant: Any, runtime: Runtime, dispatch_requests: list[uuid.UUID]
) -> None:
    create_webhook(owner, "https://example.com/hook", ["*"])
    create_customer(owner, "Waiting Ltd")
    assert _dispatch(runtime, other_tenant.id).events == 0
    assert _pending(runtime, tenant.id) == ["webhook.created", "customer.created"]
    assert in_tenant(runtime, other_tenant.id, lambda s: s.scalars(select(WebhookDelivery)).all()) == []


def test_events_are_dispatched_in_order_and_in_batches(
    owner: GraphQLClient, tenant: Any, runtime: Runtime, dispatch_requests: list[uuid.UUID]
) -> None:
    create_webhook(owner, "https://example.com/hook", ["customer.created"])
    _dispatch(runtime, tenant.id)  # the setup's own event (webhook.created)
    for index in range(5):
        create_customer(owner, f"Batch {index}")
    first = in_tenant(runtime, tenant.id, lambda s: dispatch_pending(s, tenant.id, runtime.plugins, limit=3))
    assert (first.events, first.more) == (3, True)
    second = in_tenant(runtime, tenant.id, lambda s: dispatch_pending(s, tenant.id, runtime.plugins, limit=3))
    assert (second.events, second.more) == (2, False)
    rows = in_tenant(runtime, tenant.id, lambda s: list(s.scalars(select(WebhookDelivery))))
    names = [r.payload["customer"]["name"] for r in sorted(rows, key=lambda r: (r.occurred_at, r.created_at))]
    assert names == [f"Batch {i}" for i in range(5)]


# -- which webhooks an event goes to: those that existed when it was recorded -------------------


def _delivered_to(runtime: Runtime, tenant_id: uuid.UUID, event_type: str = "customer.created") -> list[uuid.UUID]:
    """The webhooks that got a delivery of `event_type` (a `*` webhook also gets its own `webhook.created`)."""
    query = select(WebhookDelivery.webhook_id).where(WebhookDelivery.event_type == event_type)
    return in_tenant(runtime, tenant_id, lambda s: sorted(s.scalars(query)))


def _owner_principal(runtime: Runtime, client: GraphQLClient) -> Any:
    principal = runtime.authenticate(f"Bearer {client.token}")
    assert principal is not None
    return principal


def test_a_webhook_created_after_the_event_does_not_receive_it(
    owner: GraphQLClient, tenant: Any, runtime: Runtime, dispatch_requests: list[uuid.UUID]
) -> None:
    early = create_webhook(owner, "https://example.com/early", ["customer.*"])
    create_customer(owner, "Before The Hook Ltd")
    create_webhook(owner, "https://example.com/late", ["*"])  # the dispatcher runs late: after this
    assert _pending(runtime, tenant.id) == ["webhook.created", "customer.created", "webhook.created"]
    assert _dispatch(runtime, tenant.id).events == 3
    assert _delivered_to(runtime, tenant.id) == [decode_id(early, "Webhook")]


def test_a_webhook_committed_after_the_event_was_recorded_does_not_receive_it(
    owner: GraphQLClient, tenant: Any, runtime: Runtime, dispatch_requests: list[uuid.UUID]
) -> None:
    """The webhook's transaction starts first (its `created_at` is the earlier) but commits last."""
    principal = _owner_principal(runtime, owner)
    box = secret_box(runtime.settings)
    with tenant_session(runtime.engine, tenant.id) as session:
        webhooks.create_webhook(session, principal, box, {"url": "https://example.com/racing", "events": ["*"],
                                                          "secret": "a-long-enough-secret"})  # fmt: skip
        session.flush()
        create_customer(owner, "Raced Ltd")  # recorded and committed while the webhook is not
    assert _pending(runtime, tenant.id) == ["webhook.created", "customer.created"]  # in the order written
    assert _dispatch(runtime, tenant.id).events == 2
    assert _delivered_to(runtime, tenant.id) == []


def test_a_webhook_committed_before_the_event_was_recorded_receives_it(
    owner: GraphQLClient, tenant: Any, runtime: Runtime, dispatch_requests: list[uuid.UUID]
) -> None:
    """The event's transaction starts first (its `created_at` is the earlier) and records the event last."""
    principal = _owner_principal(runtime, owner)
    with tenant_session(runtime.engine, tenant.id) as session:
        session.execute(text("SELECT 1"))  # the transaction has begun: now() is fixed from here
        webhook = create_webhook(owner, "https://example.com/in-time", ["customer.created"])
        customers.create_customer(session, principal, {"name": "Slow Writer Ltd"})
    assert _pending(runtime, tenant.id) == ["webhook.created", "customer.created"]
    assert _dispatch(runtime, tenant.id).events == 2
    assert _delivered_to(runtime, tenant.id) == [decode_id(webhook, "Webhook")]


def test_an_event_records_only_its_own_tenants_webhooks(
    owner: GraphQLClient,
    other_owner: GraphQLClient,
    tenant: Any,
    other_tenant: Any,
    runtime: Runtime,
    dispatch_requests: list[uuid.UUID],
) -> None:
    mine = create_webhook(owner, "https://example.com/mine", ["*"])
    create_webhook(other_owner, "https://example.com/theirs", ["*"])
    create_customer(owner, "Mine Only Ltd")
    query = select(OutboxEvent).where(OutboxEvent.type == "customer.created")
    [event] = in_tenant(runtime, tenant.id, lambda s: list(s.scalars(query)))
    assert event.webhook_ids == [decode_id(mine, "Webhook")]
    # Below the ORM: the application role's raw read in the other tenant sees only its own events.
    raw = in_tenant(
        runtime, other_tenant.id, lambda s: s.scalars(text("SELECT DISTINCT tenant_id FROM outbox_events")).all()
    )
    assert raw == [other_tenant.id]


def test_a_webhook_deleted_before_dispatch_receives_nothing(
    owner: GraphQLClient, tenant: Any, runtime: Runtime, dispatch_requests: list[uuid.UUID]
) -> None:
    webhook = create_webhook(owner, "https://example.com/gone", ["*"])
    create_customer(owner, "Left Behind Ltd")
    owner.data("mutation($id: ID!) { deleteWebhook(input: {id: $id}) { webhook { id } } }", {"id": webhook})
    assert _pending(runtime, tenant.id) == ["webhook.created", "customer.created", "webhook.deleted"]
    assert _dispatch(runtime, tenant.id).events == 3
    assert in_tenant(runtime, tenant.id, lambda s: s.scalars(select(WebhookDelivery)).all()) == []


def test_the_dispatch_job_reaches_the_plugins_of_the_runner_that_runs_it(
    plugin: RecordingPlugin, owner: GraphQLClient, tenant: Any, runtime: Runtime, dispatch_requests: list[uuid.UUID]
) -> None:
    """No process-wide plugin list: the job's context carries its runner's host."""
    owner.data(ENABLE, {"name": plugin.name})
    JobRunner(runtime.engine, PluginHost(), {}, runtime.webhook_sender).run(
        dispatch_events, tenant.id, (), {}
    )  # a host without it
    assert plugin.seen == [] and _pending(runtime, tenant.id) == []
    create_customer(owner, "Runner Ltd")
    JobRunner(runtime.engine, runtime.plugins, {}, runtime.webhook_sender).run(dispatch_events, tenant.id, (), {})
    assert [kind for _, kind, _ in plugin.seen] == ["customer.created"]


def test_a_dispatch_job_without_a_plugin_host_is_refused(tenant: Any, runtime: Runtime) -> None:
    def run(session: Any) -> None:
        dispatch_events.function(JobContext(tenant.id, session, "hand-made"))

    with pytest.raises(RuntimeError, match="plugin host"):
        in_tenant(runtime, tenant.id, run)
