"""customerEvents hears every change the customers service makes, whoever calls it: plain code, `saas demo`.

Each change publishes its live message after commit from the service (`saas/customers/service.py`),
so these tests change customers without GraphQL and listen over graphql-transport-ws. A test that
expects nothing makes a change the subscriber must hear afterwards (the sentinel): Redis keeps the
order of one client's messages, so whatever leaked would arrive first.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from saas.cli import main
from saas.customers import service
from saas.customers.models import Contact, Customer
from saas.demo import seed_demo, step_customer_ids
from saas.schema.relay import decode_id
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient, add_member
from tests.customers.live import event, operator, subscriber


def _create(runtime: Any, tenant_id: Any, name: str, **data: Any) -> Any:
    with tenant_session(runtime.engine, tenant_id) as session:
        return service.create_customer(session, operator(tenant_id), {"name": name, **data}).id


def test_changes_made_by_plain_code_reach_the_subscriber_as_graphql_changes_do(
    runtime: Any, graphql_engine: Any, tenant: Any, owner: GraphQLClient
) -> None:
    actor = operator(tenant.id)
    with subscriber(runtime, graphql_engine, tenant.id, str(owner.token)) as listener:
        customer_id = _create(runtime, tenant.id, "Plain Code Ltd")
        with tenant_session(runtime.engine, tenant.id) as session:
            first = service.create_contact(session, actor, customer_id, {"name": "Ann"})
            # Made primary, the second demotes the first: that is audited, but only the change
            # asked for is announced (as over GraphQL).
            second = service.create_contact(session, actor, customer_id, {"name": "Bo", "is_primary": True})
        with tenant_session(runtime.engine, tenant.id) as session:
            customer = service.update_customer(session, actor, customer_id, 1, {"tier": "gold"})
            service.update_contact(session, actor, second.id, second.version, {"title": "CTO"})
            service.delete_contact(session, actor, first.id, None)
        with tenant_session(runtime.engine, tenant.id) as session:
            service.delete_customer(session, actor, customer_id, customer.version)
        with tenant_session(runtime.engine, tenant.id) as session:
            service.restore_customer(session, actor, customer_id)

        received = [listener.next_event() for _ in range(8)]

    assert received == [
        event("customer.created", customer_id),
        event("contact.created", customer_id, first.id),
        event("contact.created", customer_id, second.id),
        event("customer.updated", customer_id),
        event("contact.updated", customer_id, second.id),
        event("contact.deleted", customer_id, first.id),
        event("customer.deleted", customer_id),
        event("customer.restored", customer_id),
    ]


def test_each_event_carries_the_moment_its_change_was_committed(
    runtime: Any, graphql_engine: Any, tenant: Any, owner: GraphQLClient
) -> None:
    """`committedAt`: after the change began, before it returned; a batch of changes committed
    together (an import's chunk, `record_created_many`) shares one moment."""
    query = "subscription Events { customerEvents { kind customerId committedAt } }"
    with subscriber(runtime, graphql_engine, tenant.id, str(owner.token), query) as listener:
        began = datetime.now(UTC)
        first = _create(runtime, tenant.id, "Committed Ltd")
        returned = datetime.now(UTC)
        with tenant_session(runtime.engine, tenant.id) as session:
            rows = service.insert_created(
                session,
                tenant.id,
                Customer,
                [{"id": uuid.uuid4(), "name": name} for name in ("Batch One Ltd", "Batch Two Ltd")],
            )
            service.record_created_many(session, operator(tenant.id), rows)
        received = [listener.next_event() for _ in range(3)]

    assert [(e["kind"], e["customerId"]) for e in received] == [
        ("customer.created", event("customer.created", first)["customerId"]),
        *[("customer.created", event("customer.created", row.id)["customerId"]) for row in rows],
    ]
    stamps = [datetime.fromisoformat(e["committedAt"]) for e in received]
    assert began <= stamps[0] <= returned
    assert stamps[1] == stamps[2] >= returned


def test_a_subscriber_of_another_tenant_hears_nothing(
    runtime: Any, graphql_engine: Any, tenant: Any, other_tenant: Any, other_owner: GraphQLClient
) -> None:
    with subscriber(runtime, graphql_engine, other_tenant.id, str(other_owner.token)) as listener:
        _create(runtime, tenant.id, "Not Yours Ltd")
        sentinel = _create(runtime, other_tenant.id, "Yours Ltd")
        assert listener.next_event() == event("customer.created", sentinel)


def test_a_rolled_back_change_publishes_nothing(
    runtime: Any, graphql_engine: Any, tenant: Any, owner: GraphQLClient
) -> None:
    with subscriber(runtime, graphql_engine, tenant.id, str(owner.token)) as listener:
        with pytest.raises(RuntimeError), tenant_session(runtime.engine, tenant.id) as session:
            service.create_customer(session, operator(tenant.id), {"name": "Never Ltd"})
            raise RuntimeError("the rest of the work failed")
        sentinel = _create(runtime, tenant.id, "Stored Ltd")
        assert listener.next_event() == event("customer.created", sentinel)
    with tenant_session(runtime.engine, tenant.id) as session:
        assert session.scalars(select(Customer.id).where(Customer.name == "Never Ltd")).all() == []


def test_a_sales_rep_hears_nothing_of_a_customer_they_cannot_see(
    runtime: Any, graphql_engine: Any, tenant: Any, owner: GraphQLClient
) -> None:
    rep = add_member(owner, tenant, "sales")
    other_rep = add_member(owner, tenant, "sales")
    rep_id = decode_id(rep.data("{ me { member { id } } }")["me"]["member"]["id"], "Member")
    other_rep_id = decode_id(other_rep.data("{ me { member { id } } }")["me"]["member"]["id"], "Member")
    actor = operator(tenant.id)
    with subscriber(runtime, graphql_engine, tenant.id, str(rep.token)) as listener:
        hidden = _create(runtime, tenant.id, "Theirs Ltd", owner_id=other_rep_id)
        with tenant_session(runtime.engine, tenant.id) as session:
            service.create_contact(session, actor, hidden, {"name": "Hidden Contact"})
        sentinel = _create(runtime, tenant.id, "Mine Ltd", owner_id=rep_id)
        assert listener.next_event() == event("customer.created", sentinel)


def _demo_events(runtime: Any, tenant_id: Any) -> list[dict[str, Any]]:
    """What the demo's generated customers and contacts announce, in the order the demo made them
    (first: the later steps' customers, conversions, imported rows and changes come after them)."""
    with tenant_session(runtime.engine, tenant_id) as session:
        expected = []
        generated = select(Customer).where(Customer.id.not_in(step_customer_ids()))
        for customer in session.scalars(generated.order_by(Customer.created_at, Customer.id)):
            expected.append(event("customer.created", customer.id))
            contacts = session.scalars(
                select(Contact).where(Contact.customer_id == customer.id).order_by(Contact.created_at, Contact.id)
            )
            expected.extend(event("contact.created", customer.id, contact.id) for contact in contacts)
    return expected


def test_customers_made_by_the_demo_reach_the_subscriber(
    runtime: Any, graphql_engine: Any, make_tenant: Any, anonymous: GraphQLClient
) -> None:
    # The demo fills in a tenant without customers; its owner subscribes first.
    tenant = make_tenant(f"demo-{secrets.token_hex(4)}")
    owner = anonymous.login(tenant.owner_email, tenant.password, tenant.slug)
    with subscriber(runtime, graphql_engine, tenant.id, str(owner.token)) as listener:
        info = seed_demo(runtime.engine, 3, slug=tenant.slug)
        received = [listener.next_event() for _ in range(info.customers + info.contacts)]
    assert info.created and info.customers == 3
    assert sorted(received, key=str) == sorted(_demo_events(runtime, tenant.id), key=str)
    assert [e["kind"] for e in received].count("customer.created") == 3


def test_customers_made_by_the_demo_command_reach_the_subscriber(
    runtime: Any,
    graphql_engine: Any,
    make_tenant: Any,
    anonymous: GraphQLClient,
    settings: Any,
    migrated: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAAS_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", migrated)
    monkeypatch.setenv("REDIS_URL", str(settings.redis_url))
    tenant = make_tenant(f"demo-{secrets.token_hex(4)}")
    owner = anonymous.login(tenant.owner_email, tenant.password, tenant.slug)
    with subscriber(runtime, graphql_engine, tenant.id, str(owner.token)) as listener:
        result = CliRunner().invoke(main, ["demo", "--customers", "2", "--slug", tenant.slug], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        expected = _demo_events(runtime, tenant.id)
        received = [listener.next_event() for _ in range(len(expected))]
    assert sorted(received, key=str) == sorted(expected, key=str)
    assert [e["kind"] for e in received].count("customer.created") == 2


def test_the_demo_command_without_redis_still_stores_the_customers(
    runtime: Any, make_tenant: Any, migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAAS_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", migrated)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens on port 1
    tenant = make_tenant(f"demo-{secrets.token_hex(4)}")
    result = CliRunner().invoke(main, ["demo", "--customers", "2", "--slug", tenant.slug], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "changes are not announced to live subscribers" in result.output
    assert len(_demo_events(runtime, tenant.id)) >= 4  # two customers, each with a contact or more
