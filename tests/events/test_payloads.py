"""Event payloads carry entities as the GraphQL API returns them: global ids, camelCase, enum names."""

from __future__ import annotations

import re
import uuid
from typing import Any

import orjson
from sqlalchemy import select

from saas.events.models import OutboxEvent
from saas.events.payloads import api_object, node_ref
from saas.products.graphql.types import Product
from saas.runtime import Runtime
from saas.schema.relay import to_global_id
from tests.conftest import GraphQLClient, add_member
from tests.events.support import in_tenant
from tests.schema.helpers import define_custom_fields

RAW_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CUSTOMER_FIELDS = """id name kind industry tier lifecycleStage source tags customFields notes lastContactedAt
  nextFollowUpAt version createdAt updatedAt deletedAt owner { id }"""
CONTACT_FIELDS = "id name title email phone isPrimary customFields version createdAt updatedAt customer { id }"
PRODUCT_FIELDS = "id sku name description unitPrice currency active version createdAt updatedAt"


def _events(runtime: Runtime, tenant_id: uuid.UUID) -> list[OutboxEvent]:
    return in_tenant(runtime, tenant_id, lambda s: list(s.scalars(select(OutboxEvent).order_by(OutboxEvent.seq))))


def test_customer_and_contact_events_carry_what_the_api_returns(
    owner: GraphQLClient, tenant: Any, runtime: Runtime, dispatch_requests: list[uuid.UUID]
) -> None:
    sales = add_member(owner, tenant, "sales")
    define_custom_fields(owner, size="NUMBER")
    created = sales.data(
        """mutation { createCustomer(input: {name: "Shape AG", kind: PERSON, lifecycleStage: PROSPECT,
             tags: ["a"], customFields: {size: 3}, nextFollowUpAt: "2026-12-01T10:00:00Z"}) { customer { id } } }"""
    )["createCustomer"]["customer"]
    contact = owner.data(
        'mutation($c: ID!) { createContact(input: {customerId: $c, name: "Cy", email: "cy@example.com"}) '
        "{ contact { id } } }",
        {"c": created["id"]},
    )["createContact"]["contact"]
    events = {e.type: e.payload for e in _events(runtime, tenant.id)}
    api_customer = owner.data(f"query($id: ID!) {{ customer(id: $id) {{ {CUSTOMER_FIELDS} }} }}", {"id": created["id"]})
    assert events["customer.created"] == {"customer": api_customer["customer"]}
    assert events["customer.created"]["customer"]["owner"] is not None  # the sales rep owns it
    api_contact = owner.data(f"query($id: ID!) {{ contact(id: $id) {{ {CONTACT_FIELDS} }} }}", {"id": contact["id"]})
    assert events["contact.created"] == {"contact": api_contact["contact"]}


def test_a_contact_that_stops_being_primary_is_an_update_too(
    owner: GraphQLClient, tenant: Any, runtime: Runtime, dispatch_requests: list[uuid.UUID]
) -> None:
    customer = owner.data('mutation { createCustomer(input: {name: "Two Heads"}) { customer { id } } }')
    customer_id = customer["createCustomer"]["customer"]["id"]
    create = 'mutation($c: ID!, $p: Boolean) { createContact(input: {customerId: $c, name: "N", isPrimary: $p}) { contact { id } } }'
    first = owner.data(create, {"c": customer_id})["createContact"]["contact"]["id"]
    owner.data(create, {"c": customer_id, "p": True})
    updates = [e.payload["contact"] for e in _events(runtime, tenant.id) if e.type == "contact.updated"]
    assert [(u["id"], u["isPrimary"]) for u in updates] == [(first, False)]


def test_product_events_carry_what_the_api_returns(
    owner: GraphQLClient, tenant: Any, runtime: Runtime, dispatch_requests: list[uuid.UUID]
) -> None:
    product = owner.data(
        """mutation { createProduct(input: {sku: "EV-9", name: "Widget", unitPrice: "19.90", currency: "EUR"})
             { product { id } } }"""
    )["createProduct"]["product"]
    owner.data(
        "mutation($id: ID!) { updateProduct(input: {id: $id, version: 1, active: false}) { product { id } } }",
        {"id": product["id"]},
    )
    events = [(e.type, e.payload) for e in _events(runtime, tenant.id)]
    assert [t for t, _ in events] == ["product.created", "product.updated"]
    api = owner.data(f"query($id: ID!) {{ product(id: $id) {{ {PRODUCT_FIELDS} }} }}", {"id": product["id"]})
    assert events[1][1] == {"product": api["product"]}
    assert events[0][1]["product"]["active"] is True and events[0][1]["product"]["unitPrice"] == "19.90"


def test_no_payload_carries_a_raw_uuid(
    owner: GraphQLClient, tenant: Any, runtime: Runtime, dispatch_requests: list[uuid.UUID]
) -> None:
    customer = owner.data('mutation { createCustomer(input: {name: "Opaque"}) { customer { id version } } }')
    customer_id = customer["createCustomer"]["customer"]["id"]
    owner.data('mutation($c: ID!) { createContact(input: {customerId: $c, name: "O"}) { contact { id } } }',
               {"c": customer_id})  # fmt: skip
    owner.data("mutation($id: ID!) { deleteCustomer(input: {id: $id}) { customer { id } } }", {"id": customer_id})
    for event in _events(runtime, tenant.id):
        assert not RAW_UUID.search(orjson.dumps(event.payload).decode()), event.payload


def test_api_object_writes_plain_fields_and_references() -> None:
    from datetime import UTC, datetime
    from decimal import Decimal

    from saas.products.models import Product as ProductRow

    raw = uuid.uuid4()
    moment = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    row = ProductRow(id=raw, sku="S", name="N", description=None, unit_price=Decimal("1.50"), currency="EUR",
                     active=True, version=2, created_at=moment, updated_at=moment)  # fmt: skip
    shaped = api_object(Product.from_model(row), maker=node_ref("Member", raw), nothing=node_ref("Member", None))
    assert shaped["unitPrice"] == "1.50" and shaped["createdAt"] == "2026-11-25T09:30:00.000000+00:00"
    assert shaped["maker"] == {"id": to_global_id("Member", raw)}
    assert shaped["id"] == to_global_id("Product", raw)
    assert shaped["nothing"] is None
    assert str(raw) not in orjson.dumps(shaped).decode()
