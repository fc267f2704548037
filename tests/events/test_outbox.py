"""The outbox: events written in the transaction of the change, announced only after commit."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import func, select, text

from saas.audit.log import change_record
from saas.auth.principal import Principal
from saas.customers import service
from saas.customers.models import Customer
from saas.events.models import OutboxEvent
from saas.events.outbox import caused_by_automation, emit_event
from saas.runtime import Runtime
from saas.schema.relay import decode_id
from saas.tenancy.session import make_session, tenant_session
from saas.webhooks.models import WebhookDelivery
from tests.conftest import GraphQLClient
from tests.events.support import Receiver, create_customer, create_webhook, in_tenant, wait_for


def _principal(runtime: Runtime, client: GraphQLClient) -> Principal:
    principal = asyncio.run(asyncio.to_thread(runtime.authenticate, f"Bearer {client.token}"))
    assert principal is not None
    return principal


def _events(runtime: Runtime, tenant_id: uuid.UUID) -> list[OutboxEvent]:
    return in_tenant(runtime, tenant_id, lambda s: list(s.scalars(select(OutboxEvent).order_by(OutboxEvent.seq))))


def test_the_event_is_written_in_the_transaction_of_the_change(
    owner: GraphQLClient, tenant: Any, runtime: Runtime, dispatch_requests: list[uuid.UUID]
) -> None:
    customer_id = decode_id(create_customer(owner, "Same Tx Ltd"), "Customer")
    [event] = _events(runtime, tenant.id)
    assert event.type == "customer.created" and event.dispatched_at is None
    assert decode_id(event.payload["customer"]["id"], "Customer") == customer_id
    assert event.payload["customer"]["name"] == "Same Tx Ltd"
    # One transaction wrote both rows: PostgreSQL stamped them with the same transaction id.
    xmins = in_tenant(
        runtime,
        tenant.id,
        lambda s: s.execute(
            text(
                "SELECT (SELECT xmin::text FROM customers WHERE id = :c), "
                "(SELECT xmin::text FROM outbox_events WHERE id = :e)"
            ),
            {"c": customer_id, "e": event.id},
        ).one(),
    )
    assert xmins[0] == xmins[1]
    assert dispatch_requests == [tenant.id]  # asked once, after the commit


def test_a_rolled_back_change_leaves_no_event_and_asks_for_nothing(
    owner: GraphQLClient, tenant: Any, runtime: Runtime, dispatch_requests: list[uuid.UUID]
) -> None:
    principal = _principal(runtime, owner)
    with pytest.raises(RuntimeError, match="changed my mind"):
        with tenant_session(runtime.engine, tenant.id) as session:
            service.create_customer(session, principal, {"name": "Ghost GmbH"})
            session.flush()
            assert session.scalar(select(func.count()).select_from(OutboxEvent)) == 1  # there, until…
            raise RuntimeError("changed my mind")
    assert _events(runtime, tenant.id) == []
    assert in_tenant(runtime, tenant.id, lambda s: s.scalars(select(Customer)).all()) == []
    assert dispatch_requests == []


def test_a_transaction_rolled_back_after_emitting_sends_nothing(
    worker: RedisBroker, receiver: Receiver, owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    create_webhook(owner, receiver.url, ["customer.created"])
    principal = _principal(runtime, owner)
    with pytest.raises(RuntimeError):
        with tenant_session(runtime.engine, tenant.id) as session:
            service.create_customer(session, principal, {"name": "Rolled Back Ltd"})
            raise RuntimeError("roll back")
    create_customer(owner, "Committed Ltd")  # a committed change after it, as a marker

    def delivered() -> list[WebhookDelivery] | None:
        rows = in_tenant(runtime, tenant.id, lambda s: list(s.scalars(select(WebhookDelivery))))
        return rows if rows and all(r.status == "succeeded" for r in rows) else None

    [row] = wait_for(delivered)
    worker.join("default", timeout=10_000)
    assert row.payload["customer"]["name"] == "Committed Ltd"
    assert receiver.count() == 1
    assert b"Rolled Back" not in receiver.received[0].body
    assert [e.type for e in _events(runtime, tenant.id)] == ["webhook.created", "customer.created"]


def test_several_events_in_one_transaction_ask_for_dispatch_once(
    owner: GraphQLClient, tenant: Any, runtime: Runtime, dispatch_requests: list[uuid.UUID]
) -> None:
    principal = _principal(runtime, owner)
    with tenant_session(runtime.engine, tenant.id) as session:
        customer = service.create_customer(session, principal, {"name": "Busy Co"})
        service.create_contact(session, principal, customer.id, {"name": "Bea"})
    assert [e.type for e in _events(runtime, tenant.id)] == ["customer.created", "contact.created"]
    assert dispatch_requests == [tenant.id]


def test_a_rollback_does_not_stop_the_next_transaction_from_asking(
    owner: GraphQLClient, tenant: Any, runtime: Runtime, dispatch_requests: list[uuid.UUID]
) -> None:
    principal = _principal(runtime, owner)
    session = make_session(runtime.engine, tenant.id)  # one session, two transactions
    try:
        service.create_customer(session, principal, {"name": "First Try"})
        session.rollback()
        service.create_customer(session, principal, {"name": "Second Try"})
        session.commit()
    finally:
        session.close()
    assert [e.payload["customer"]["name"] for e in _events(runtime, tenant.id)] == ["Second Try"]
    assert dispatch_requests == [tenant.id]


def test_every_customer_and_contact_change_is_an_event(
    owner: GraphQLClient, tenant: Any, runtime: Runtime, dispatch_requests: list[uuid.UUID]
) -> None:
    customer = create_customer(owner, "Life Cycle AG")
    owner.data(
        'mutation($id: ID!) { updateCustomer(input: {id: $id, version: 1, tier: "gold"}) { customer { id } } }',
        {"id": customer},
    )
    contact = owner.data(
        'mutation($c: ID!) { createContact(input: {customerId: $c, name: "Cy"}) { contact { id version } } }',
        {"c": customer},
    )["createContact"]["contact"]
    owner.data(
        'mutation($id: ID!, $v: Int!) { updateContact(input: {id: $id, version: $v, title: "CTO"}) { contact { id } } }',
        {"id": contact["id"], "v": contact["version"]},
    )
    owner.data("mutation($id: ID!) { deleteContact(input: {id: $id}) { contact { id } } }", {"id": contact["id"]})
    owner.data("mutation($id: ID!) { deleteCustomer(input: {id: $id}) { customer { id } } }", {"id": customer})
    owner.data("mutation($id: ID!) { restoreCustomer(input: {id: $id}) { customer { id } } }", {"id": customer})
    events = _events(runtime, tenant.id)
    assert [e.type for e in events] == [
        "customer.created",
        "customer.updated",
        "contact.created",
        "contact.updated",
        "contact.deleted",
        "customer.deleted",
        "customer.restored",
    ]
    customers = [e.payload["customer"]["id"] for e in events if e.type.startswith("customer.")]
    contacts = [e.payload["contact"] for e in events if e.type.startswith("contact.")]
    assert set(customers) == {customer}
    assert {c["id"] for c in contacts} == {contact["id"]} and {c["customer"]["id"] for c in contacts} == {customer}
    assert events[1].payload["customer"]["tier"] == "gold"  # the state after the change
    assert events[3].payload["contact"]["title"] == "CTO"
    assert events[5].payload["customer"]["deletedAt"] is not None


def test_another_tenant_sees_none_of_the_events(
    owner: GraphQLClient, tenant: Any, other_tenant: Any, runtime: Runtime, dispatch_requests: list[uuid.UUID]
) -> None:
    create_customer(owner, "Mine Ltd")
    assert len(_events(runtime, tenant.id)) == 1
    assert _events(runtime, other_tenant.id) == []
    raw = in_tenant(runtime, other_tenant.id, lambda s: s.execute(text("SELECT count(*) FROM outbox_events")).scalar())
    assert raw == 0  # row-level security, below the ORM filter


class _Actor:
    user_id = None
    label = "test"


def test_an_event_written_with_its_records_has_the_columns_of_one_written_alone(
    owner: GraphQLClient, tenant: Any, other_tenant: Any, runtime: Runtime, dispatch_requests: list[uuid.UUID]
) -> None:
    """`emit_event` with records writes the event's columns from its values (no ORM object): the
    same type, payload, causation depth, live webhooks and tenant as the event written alone
    (an ORM object flushed by the session), its own id; another tenant sees neither."""
    webhook_id = decode_id(create_webhook(owner, "https://example.com/hook", ["customer.*"]), "Webhook")
    dispatch_requests.clear()  # the webhook's own event's
    entity_id = uuid.uuid4()
    payload = {
        "customer": {"id": str(entity_id), "at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)},
        "n": Decimal("1.50"),
    }
    with tenant_session(runtime.engine, tenant.id) as session, caused_by_automation(session, 2):
        emit_event(session, "customer.updated", payload)
        entry = change_record(_Actor(), "customer.updated", "Customer", entity_id, None, {"name": "x"})
        emit_event(session, "customer.updated", payload, with_rows=[entry])
    alone, together = [event for event in _events(runtime, tenant.id) if event.type == "customer.updated"]
    columns = ("tenant_id", "type", "payload", "webhook_ids", "causation_depth", "created_at", "dispatched_at")
    assert [getattr(together, key) for key in columns] == [getattr(alone, key) for key in columns]
    assert (together.causation_depth, together.webhook_ids, together.tenant_id) == (2, [webhook_id], tenant.id)
    assert together.payload == {"customer": {"id": str(entity_id), "at": "2026-01-02T03:04:05+00:00"}, "n": "1.50"}
    assert isinstance(together.id, uuid.UUID) and together.id != alone.id
    assert dispatch_requests == [tenant.id]  # asked once, after the commit
    assert [event.type for event in _events(runtime, other_tenant.id)] == []
    seen = in_tenant(
        runtime, other_tenant.id,
        lambda s: s.execute(text("SELECT count(*) FROM audit_log WHERE entity_id = :id"), {"id": str(entity_id)}).scalar(),
    )  # fmt: skip
    assert seen == 0
