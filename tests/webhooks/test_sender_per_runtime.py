"""Two runtimes in one process deliver webhooks each with its own keys and retry policy.

What a runtime delivers with is its `webhook_sender` (secret box, settings, policy): its job
runner hands it to the delivery job (`JobContext.webhook_sender`), and an enqueued delivery
carries its policy as the message's retry options. Nothing of it is process-wide, so a second
runtime (another `SECRET_KEY`, another policy) changes nothing for the first.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from saas.config import Settings
from saas.events.dispatch import dispatch_events, dispatch_pending
from saas.events.pipeline import install
from saas.jobs.broker import setup
from saas.jobs.runner import JobRunner
from saas.plugin_api.testing import GraphQLClient
from saas.runtime import Runtime, create_runtime
from saas.schema.engine import GraphQLEngine
from saas.webhooks import delivery, signing
from saas.webhooks.models import Webhook, WebhookDelivery
from tests.events.support import SECRET, Receiver, create_customer, create_webhook, in_tenant

POLICY_A = delivery.DeliveryPolicy(timeout_seconds=3.0, max_retries=4, min_backoff_ms=1_000, max_backoff_ms=60_000)
POLICY_B = delivery.DeliveryPolicy(timeout_seconds=7.0, max_retries=2, min_backoff_ms=5_000, max_backoff_ms=90_000)
SECRET_B = "b-secret-b-secret-b"


@pytest.fixture
def second_runtime(settings: Settings, migrated: str, runtime: Runtime) -> Iterator[Runtime]:
    """Another runtime on the same database and Redis, with a secret key of its own."""
    assert settings.redis_url
    other_settings = settings.model_copy(
        update={"secret_key": "another-secret-" + secrets.token_hex(24), "webhook_allow_private_networks": True}
    )
    other = create_runtime(other_settings, migrated, settings.redis_url, plugins=runtime.plugins)
    try:
        yield other
    finally:
        other.close()
        install(runtime)  # `create_runtime` points live notifications at itself: back to the suite's


def _delivery_of(runtime: Runtime, tenant_id: uuid.UUID, url: str) -> WebhookDelivery:
    """The one delivery to the webhook at `url`."""
    query = select(WebhookDelivery).join(Webhook, Webhook.id == WebhookDelivery.webhook_id).where(Webhook.url == url)
    return in_tenant(runtime, tenant_id, lambda s: s.scalars(query).one())


def _run(runner: JobRunner, tenant_id: uuid.UUID, row: WebhookDelivery) -> Exception | None:
    """Run one delivery job message through `runner`, as its worker would; the error it raised."""
    try:
        runner.run(delivery.deliver_webhook, tenant_id, (str(row.id),), {})
    except delivery.DeliveryFailed as failed:
        return failed
    return None


def test_two_runtimes_deliver_with_their_own_keys_and_policies(
    runtime: Runtime,
    second_runtime: Runtime,
    receiver: Receiver,
    tenant: Any,
    owner: GraphQLClient,
    dispatch_requests: list[uuid.UUID],
    delivery_policy: Callable[[delivery.DeliveryPolicy], None],
) -> None:
    delivery_policy(POLICY_A)
    second_runtime.webhook_sender.policy = POLICY_B
    owner_b = GraphQLClient(GraphQLEngine(second_runtime)).login(tenant.owner_email, tenant.password, tenant.slug)
    url_a, url_b = f"{receiver.url}/a", f"{receiver.url}/b"
    create_webhook(owner, url_a, ["customer.created"])  # its secret encrypted with the first runtime's key
    create_webhook(owner_b, url_b, ["customer.created"], secret=SECRET_B)  # …with the second's

    namespaces = [f"saas-test-{secrets.token_hex(4)}" for _ in range(2)]
    broker_a = setup(runtime, namespace=namespaces[0])
    broker_b = setup(second_runtime, namespace=namespaces[1])
    try:
        assert runtime.jobs is not None and second_runtime.jobs is not None
        runner_a, runner_b = runtime.jobs.runner, second_runtime.jobs.runner
        assert runner_a.webhook_sender is runtime.webhook_sender
        assert runner_b.webhook_sender is second_runtime.webhook_sender

        # A runtime cannot decrypt the secret of a webhook stored by the other: the delivery
        # fails for good rather than being sent unsigned or signed with the wrong secret.
        create_customer(owner, "Crossed Keys Ltd")
        in_tenant(runtime, tenant.id, lambda s: dispatch_pending(s, tenant.id, runtime.plugins))
        assert _run(runner_a, tenant.id, _delivery_of(runtime, tenant.id, url_b)) is None
        assert _run(runner_b, tenant.id, _delivery_of(runtime, tenant.id, url_a)) is None
        for url in (url_a, url_b):
            row = _delivery_of(runtime, tenant.id, url)
            assert (row.status, row.attempts) == ("failed", 0)
            assert row.last_error == "webhook secret cannot be decrypted with the configured keys"
        assert receiver.count() == 0
        in_tenant(runtime, tenant.id, lambda s: [s.delete(r) for r in s.scalars(select(WebhookDelivery))])

        # Each runtime delivers its own webhook's event, signed with the right secret, and
        # retries by its own policy (the first answer is a 500).
        receiver.statuses = [500, 500]
        create_customer(owner, "Own Keys Ltd")
        in_tenant(runtime, tenant.id, lambda s: dispatch_pending(s, tenant.id, runtime.plugins))
        row_a, row_b = _delivery_of(runtime, tenant.id, url_a), _delivery_of(runtime, tenant.id, url_b)
        assert isinstance(_run(runner_a, tenant.id, row_a), delivery.DeliveryFailed)
        assert isinstance(_run(runner_b, tenant.id, row_b), delivery.DeliveryFailed)
        row_a, row_b = _delivery_of(runtime, tenant.id, url_a), _delivery_of(runtime, tenant.id, url_b)
        assert (row_a.status, row_a.attempts, row_b.status, row_b.attempts) == ("pending", 1, "pending", 1)
        assert row_a.next_attempt_at - row_a.updated_at == POLICY_A.longest_backoff(1)
        assert row_b.next_attempt_at - row_b.updated_at == POLICY_B.longest_backoff(1)
        assert _run(runner_a, tenant.id, row_a) is None and _run(runner_b, tenant.id, row_b) is None
        by_path = {request.path: request for request in receiver.received[2:]}
        assert signing.verify_signature(
            SECRET, by_path["/hooks/a"].body, by_path["/hooks/a"].headers["x-saas-signature"]
        )
        assert signing.verify_signature(
            SECRET_B, by_path["/hooks/b"].body, by_path["/hooks/b"].headers["x-saas-signature"]
        )
        for url in (url_a, url_b):
            assert _delivery_of(runtime, tenant.id, url).status == "succeeded"

        # An enqueued delivery carries its runtime's policy as the message's retry options.
        for sender, policy in ((runtime.webhook_sender, POLICY_A), (second_runtime.webhook_sender, POLICY_B)):
            message = delivery.enqueue_delivery(sender, tenant.id, row_a.id)
            options = {key: message.options[key] for key in ("max_retries", "min_backoff", "max_backoff")}
            assert options == {
                "max_retries": policy.max_retries,
                "min_backoff": policy.min_backoff_ms,
                "max_backoff": policy.max_backoff_ms,
            }
    finally:
        for broker, namespace in ((broker_a, namespaces[0]), (broker_b, namespaces[1])):
            broker.close()
            keys = list(runtime.redis.scan_iter(match=f"{namespace}:*", count=1000))
            if keys:
                runtime.redis.delete(*keys)


def test_webhook_jobs_without_a_sender_are_refused(
    runtime: Runtime, receiver: Receiver, tenant: Any, owner: GraphQLClient, dispatch_requests: list[uuid.UUID]
) -> None:
    """A runner set up without a runtime (a Redis URL alone) has no sender: the jobs refuse to run,
    and nothing is dispatched, claimed or sent."""
    create_webhook(owner, receiver.url, ["customer.created"])
    create_customer(owner, "No Sender Ltd")
    bare = JobRunner(runtime.engine, runtime.plugins, {})
    with pytest.raises(RuntimeError, match="webhook sender"):
        bare.run(dispatch_events, tenant.id, (), {})
    assert in_tenant(runtime, tenant.id, lambda s: s.scalars(select(WebhookDelivery)).all()) == []
    in_tenant(runtime, tenant.id, lambda s: dispatch_pending(s, tenant.id, runtime.plugins))
    row = _delivery_of(runtime, tenant.id, receiver.url)
    with pytest.raises(RuntimeError, match="webhook sender"):
        bare.run(delivery.deliver_webhook, tenant.id, (str(row.id),), {})
    after = _delivery_of(runtime, tenant.id, receiver.url)
    assert (after.status, after.attempts) == ("pending", 0)
    assert receiver.count() == 0
