"""A received return (the core's `return.received`) puts the goods back in stock through the ledger,
once per event however often the at-least-once dispatcher delivers it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from mfg_helpers import create_customer, create_product, default_warehouse, enable, level, ok
from saas_manufacturing import hooks
from sqlalchemy import text

from saas.plugin_api import DomainEvent, PluginContext
from saas.plugin_api.testing import GraphQLClient, PluginTestTenant

ERRORS = "userErrors { field code message }"
CREATE_ORDER = f"""mutation($input: CreateOrderInput!) {{
  createOrder(input: $input) {{ order {{ id lines {{ id quantity }} }} {ERRORS} }}
}}"""
CREATE_RETURN = f"""mutation($input: CreateReturnRequestInput!) {{
  createReturnRequest(input: $input) {{ returnRequest {{ id }} {ERRORS} }}
}}"""
APPROVE = f"mutation($id: ID!) {{ approveReturn(input: {{id: $id}}) {{ returnRequest {{ id }} {ERRORS} }} }}"
RECEIVE = f"mutation($id: ID!) {{ receiveReturn(input: {{id: $id}}) {{ returnRequest {{ id }} {ERRORS} }} }}"


def _received_return(mfg: GraphQLClient, product: str, ordered: int, returned: int) -> str:
    customer = create_customer(mfg, "Returns Ltd")
    order = ok(
        mfg, CREATE_ORDER, {"input": {"customerId": customer, "lines": [{"productId": product, "quantity": ordered}]}},
        "createOrder",
    )["order"]  # fmt: skip
    line = order["lines"][0]["id"]
    variables = {
        "input": {
            "orderId": order["id"],
            "reason": "Wrong size",
            "lines": [{"orderLineId": line, "quantity": returned}],
        }
    }
    return_id = ok(mfg, CREATE_RETURN, variables, "createReturnRequest")["returnRequest"]["id"]
    ok(mfg, APPROVE, {"id": return_id}, "approveReturn")
    ok(mfg, RECEIVE, {"id": return_id}, "receiveReturn")
    return str(return_id)


def _event(tenant: PluginTestTenant, event_type: str) -> DomainEvent:
    with tenant.session() as session:
        row = session.execute(
            text("SELECT id, type, payload, created_at FROM outbox_events WHERE type = :t ORDER BY seq DESC LIMIT 1"),
            {"t": event_type},
        ).one()
    return DomainEvent(row.id, tenant.id, row.type, row.payload, row.created_at)


def _deliver(tenant: PluginTestTenant, event: DomainEvent, settings: dict[str, Any] | None = None) -> None:
    with tenant.session() as session:
        context = PluginContext(tenant.id, session, settings or {}, emit=lambda t, p: None)
        hooks.saas_handle_event(context=context, event=event)


def test_a_received_return_is_a_receipt_once_per_event(owner: GraphQLClient, tenant: PluginTestTenant) -> None:
    mfg = enable(owner)
    product = create_product(mfg, "RETURNED-1")
    warehouse = default_warehouse(mfg)
    return_id = _received_return(mfg, product, ordered=5, returned=2)
    event = _event(tenant, "return.received")
    assert event.payload["returnRequest"]["lines"][0]["product"] == {"id": product}

    _deliver(tenant, event)
    _deliver(tenant, event)  # redelivered: the dispatcher is at least once
    assert level(mfg, product, warehouse)["onHand"] == 2
    with tenant.session() as session:
        movements = session.execute(
            text("SELECT kind, quantity, reference, note FROM mfg_stock_movements ORDER BY seq")
        ).all()
    assert [tuple(m) for m in movements] == [("receipt", 2, f"return {return_id}", "Returned goods")]

    # Another event (another return) is a receipt of its own.
    _received_return(mfg, product, ordered=1, returned=1)
    _deliver(tenant, _event(tenant, "return.received"))
    assert level(mfg, product, warehouse)["onHand"] == 3


def test_other_events_and_unknown_ids_change_no_stock(owner: GraphQLClient, tenant: PluginTestTenant) -> None:
    mfg = enable(owner)
    product = create_product(mfg)
    _received_return(mfg, product, ordered=4, returned=4)
    requested = _event(tenant, "return.requested")
    _deliver(tenant, requested)
    received = _event(tenant, "return.received")
    fresh = DomainEvent(uuid.uuid4(), tenant.id, received.type, received.payload, datetime.now(UTC))
    _deliver(tenant, fresh)
    assert level(mfg, product)["onHand"] == 4
    with tenant.session() as session:
        handled = session.execute(text("SELECT event_type FROM mfg_handled_events")).scalars().all()
    assert handled == ["return.received"]
