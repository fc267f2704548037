"""Deliveries: signed POSTs to a real local receiver, retried with backoff, logged, sent once."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import func, select

from saas.events.dispatch import dispatch_pending
from saas.runtime import Runtime
from saas.webhooks import delivery, signing
from saas.webhooks.models import WebhookAttempt, WebhookDelivery
from tests.conftest import GraphQLClient
from tests.events.support import (
    DELETE_WEBHOOK,
    DELIVERIES,
    SECRET,
    Receiver,
    create_customer,
    create_webhook,
    in_tenant,
    wait_for,
)


def _deliveries(runtime: Runtime, tenant_id: uuid.UUID) -> list[WebhookDelivery]:
    return in_tenant(
        runtime, tenant_id, lambda s: list(s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.created_at)))
    )


def _settled(runtime: Runtime, tenant_id: uuid.UUID, count: int = 1) -> list[WebhookDelivery]:
    def check() -> list[WebhookDelivery] | None:
        rows = _deliveries(runtime, tenant_id)
        return rows if len(rows) == count and all(r.status != "pending" for r in rows) else None

    return wait_for(check)


def test_a_receiver_failing_twice_gets_the_event_with_one_success_logged(
    worker: RedisBroker, receiver: Receiver, owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    receiver.statuses = [500, 503]
    webhook_id = create_webhook(owner, receiver.url, ["customer.created"])
    customer_id = create_customer(owner, "Hooked Ltd")

    [row] = _settled(runtime, tenant.id)
    assert (row.status, row.attempts, row.last_status_code, row.last_error) == ("succeeded", 3, 200, None)
    assert row.delivered_at is not None
    page = owner.data(DELIVERIES, {"webhookId": webhook_id})["webhookDeliveries"]
    [edge] = page["edges"]
    node = edge["node"]
    assert (node["status"], node["eventType"], node["attemptCount"]) == ("SUCCEEDED", "customer.created", 3)
    assert [(a["attempt"], a["statusCode"]) for a in node["attempts"]] == [(1, 500), (2, 503), (3, 200)]
    assert [a["error"] for a in node["attempts"]] == ["HTTP 500", "HTTP 503", None]
    assert node["payload"]["customer"]["id"] == customer_id

    assert receiver.count() == 3
    for request in receiver.received:
        assert signing.verify_signature(SECRET, request.body, request.headers["x-saas-signature"])
        assert request.headers["x-saas-signature"].startswith("sha256=")
        assert request.headers["x-saas-event"] == "customer.created"
        assert request.headers["x-saas-delivery"] == str(row.id)
        body = orjson.loads(request.body)
        assert body["sentAt"] == int(request.headers["x-saas-timestamp"])
    body = orjson.loads(receiver.received[-1].body)
    assert body["id"] == str(row.id)
    assert body["event"]["type"] == "customer.created"
    assert body["event"]["data"]["customer"]["name"] == "Hooked Ltd"
    assert body["event"]["data"]["customer"]["id"] == customer_id  # the global id, as the API gives it
    assert body["event"]["data"]["customer"]["lifecycleStage"] == "LEAD"
    assert not signing.verify_signature("another-secret-value", receiver.received[-1].body,
                                        receiver.received[-1].headers["x-saas-signature"])  # fmt: skip


def test_a_succeeded_delivery_is_never_posted_again(
    worker: RedisBroker, receiver: Receiver, owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    create_webhook(owner, receiver.url, ["customer.*"])
    create_customer(owner, "Once Inc")
    [row] = _settled(runtime, tenant.id)
    delivery.enqueue_delivery(
        runtime.webhook_sender, tenant.id, row.id
    )  # a duplicate message, as after a lost acknowledgement
    delivery.attempt_delivery(runtime.webhook_sender, runtime.engine, tenant.id, row.id)
    worker.join("default", timeout=10_000)
    assert receiver.count() == 1
    attempts = in_tenant(runtime, tenant.id, lambda s: s.scalar(select(func.count()).select_from(WebhookAttempt)))
    assert attempts == 1


def test_retries_run_out_and_the_delivery_fails(
    worker: RedisBroker,
    receiver: Receiver,
    owner: GraphQLClient,
    tenant: Any,
    runtime: Runtime,
    delivery_policy: Callable[[delivery.DeliveryPolicy], None],
) -> None:
    delivery_policy(delivery.DeliveryPolicy(2.0, max_retries=2, min_backoff_ms=20, max_backoff_ms=50))
    receiver.statuses = [500] * 10
    create_webhook(owner, receiver.url, ["customer.created"])
    create_customer(owner, "Down Corp")
    [row] = _settled(runtime, tenant.id)
    assert (row.status, row.attempts, row.last_status_code, row.last_error) == ("failed", 3, 500, "HTTP 500")
    assert receiver.count() == 3


def test_an_unreachable_receiver_is_logged_as_an_error(
    worker: RedisBroker,
    owner: GraphQLClient,
    tenant: Any,
    runtime: Runtime,
    monkeypatch: Any,
    delivery_policy: Callable[[delivery.DeliveryPolicy], None],
) -> None:
    monkeypatch.setattr(runtime.settings, "webhook_allow_private_networks", True)
    delivery_policy(delivery.DeliveryPolicy(1.0, max_retries=1, min_backoff_ms=20, max_backoff_ms=50))
    create_webhook(owner, "http://127.0.0.1:9/nothing-listens-here", ["customer.created"])
    create_customer(owner, "Nowhere Ltd")
    [row] = _settled(runtime, tenant.id)
    assert row.status == "failed" and row.last_status_code is None
    assert row.last_error == "connection refused"  # a class of failure, not the socket's text


def test_only_subscribed_events_are_delivered(
    worker: RedisBroker, receiver: Receiver, owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    create_webhook(owner, receiver.url, ["contact.*"])
    customer_id = create_customer(owner, "Filter AG")
    owner.data(
        'mutation($c: ID!) { createContact(input: {customerId: $c, name: "Flo"}) { contact { id } } }',
        {"c": customer_id},
    )
    [row] = _settled(runtime, tenant.id)
    assert row.event_type == "contact.created"
    assert [orjson.loads(r.body)["event"]["type"] for r in receiver.received] == ["contact.created"]


def test_a_deleted_webhook_gets_nothing_more(
    worker: RedisBroker, receiver: Receiver, owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    webhook_id = create_webhook(owner, receiver.url, ["customer.created"])
    owner.data(DELETE_WEBHOOK, {"input": {"id": webhook_id}})
    create_customer(owner, "Too Late plc")
    worker.join("default", timeout=10_000)
    assert _deliveries(runtime, tenant.id) == []
    assert receiver.count() == 0


def test_a_pending_delivery_of_a_deleted_webhook_is_given_up(
    receiver: Receiver, owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    from saas.events.dispatch import dispatch_pending

    webhook_id = create_webhook(owner, receiver.url, ["customer.created"])
    create_customer(owner, "Orphan SA")  # no worker: the event waits in the outbox
    in_tenant(runtime, tenant.id, lambda s: dispatch_pending(s, tenant.id, runtime.plugins))
    owner.data(DELETE_WEBHOOK, {"input": {"id": webhook_id}})
    [row] = _deliveries(runtime, tenant.id)
    delivery.attempt_delivery(runtime.webhook_sender, runtime.engine, tenant.id, row.id)
    [row] = _deliveries(runtime, tenant.id)
    assert (row.status, row.last_error, row.attempts) == ("failed", "webhook deleted", 0)
    assert receiver.count() == 0


def test_another_tenants_deliveries_are_invisible_and_untouchable(
    worker: RedisBroker,
    receiver: Receiver,
    owner: GraphQLClient,
    other_owner: GraphQLClient,
    tenant: Any,
    other_tenant: Any,
    runtime: Runtime,
) -> None:
    receiver.statuses = [500] * 3
    create_webhook(owner, receiver.url, ["customer.created"])
    create_customer(owner, "Private GmbH")
    [row] = _settled(runtime, tenant.id)
    assert other_owner.data(DELIVERIES)["webhookDeliveries"]["edges"] == []
    assert _deliveries(runtime, other_tenant.id) == []
    before = receiver.count()
    # A job message naming the other tenant with this tenant's delivery: RLS hides it, nothing is sent.
    delivery.attempt_delivery(runtime.webhook_sender, runtime.engine, other_tenant.id, row.id)
    delivery.enqueue_delivery(runtime.webhook_sender, other_tenant.id, row.id)
    worker.join("default", timeout=10_000)
    assert receiver.count() == before
    [after] = _deliveries(runtime, tenant.id)
    assert after.attempts == row.attempts


def test_deliveries_page_newest_first(receiver: Receiver, owner: GraphQLClient, tenant: Any, runtime: Runtime) -> None:
    from saas.events.dispatch import dispatch_pending

    create_webhook(owner, receiver.url, ["customer.created"])
    for index in range(5):
        create_customer(owner, f"Paged {index}")
    in_tenant(runtime, tenant.id, lambda s: dispatch_pending(s, tenant.id, runtime.plugins))
    seen: list[str] = []
    after = None
    while True:
        page = owner.data(DELIVERIES, {"first": 2, "after": after})["webhookDeliveries"]
        seen.extend(e["node"]["payload"]["customer"]["name"] for e in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [f"Paged {i}" for i in reversed(range(5))]
    assert owner.error_codes(DELIVERIES, {"first": 101}) == ["BAD_USER_INPUT"]


def test_a_failed_attempt_is_due_again_within_its_longest_backoff(
    receiver: Receiver, owner: GraphQLClient, tenant: Any, runtime: Runtime, dispatch_requests: list[uuid.UUID]
) -> None:
    receiver.statuses = [500]
    create_webhook(owner, receiver.url, ["customer.created"])
    create_customer(owner, "Due Again Ltd")
    dispatched = in_tenant(runtime, tenant.id, lambda s: dispatch_pending(s, tenant.id, runtime.plugins))
    [delivery_id] = dispatched.deliveries

    with pytest.raises(delivery.DeliveryFailed):
        delivery.attempt_delivery(runtime.webhook_sender, runtime.engine, tenant.id, delivery_id)

    [row] = _deliveries(runtime, tenant.id)
    assert row.status == "pending"
    assert row.next_attempt_at - row.updated_at == runtime.webhook_sender.policy.longest_backoff(1)
    [attempt] = in_tenant(runtime, tenant.id, lambda s: s.scalars(select(WebhookAttempt)).all())
    assert (attempt.attempt, attempt.status_code, attempt.error) == (1, 500, "HTTP 500")
    assert attempt.duration_ms is not None


def test_event_ids_are_uuids_that_reveal_nothing_about_other_tenants(
    receiver: Receiver,
    owner: GraphQLClient,
    other_owner: GraphQLClient,
    tenant: Any,
    runtime: Runtime,
    dispatch_requests: list[uuid.UUID],
) -> None:
    from saas.events.dispatch import dispatch_pending

    create_webhook(owner, receiver.url, ["customer.created"])
    create_customer(owner, "First Ltd")
    create_customer(other_owner, "Someone Else's Ltd")  # another tenant's event in between
    create_customer(owner, "Second Ltd")
    in_tenant(runtime, tenant.id, lambda s: dispatch_pending(s, tenant.id, runtime.plugins))
    for row in _deliveries(runtime, tenant.id):
        delivery.attempt_delivery(runtime.webhook_sender, runtime.engine, tenant.id, row.id)
    bodies = [orjson.loads(r.body) for r in receiver.received]
    event_ids = [body["event"]["id"] for body in bodies]
    assert len(event_ids) == 2 and all(str(uuid.UUID(event_id)) == event_id for event_id in event_ids)
    edges = owner.data(DELIVERIES, {"first": 1})["webhookDeliveries"]["edges"]
    assert edges[0]["node"]["eventId"] in event_ids
    # Nothing a tenant sees carries a number from a sequence shared with other tenants.
    cursor = orjson.loads(base64.b64decode(edges[0]["cursor"]))
    assert not any(isinstance(value, int) for value in cursor), cursor
    for request in receiver.received:
        assert all(not value.isdigit() for key, value in request.headers.items() if key.startswith("x-saas-")
                   and key != "x-saas-timestamp")  # fmt: skip
