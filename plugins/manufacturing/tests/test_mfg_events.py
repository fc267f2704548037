"""Every change of the plugin's entities is a domain event of the catalog, its data shaped like the API."""

from __future__ import annotations

import re
from typing import Any

import orjson
from mfg_helpers import (
    CANCEL,
    CREATE_SHIPMENT,
    CREATE_WAREHOUSE,
    SHIPMENT_STATUS,
    THRESHOLD,
    USER_ERRORS,
    create_customer,
    create_product,
    move,
    ok,
    place,
)
from sqlalchemy import text

from saas.plugin_api.testing import GraphQLClient, PluginTestTenant

RAW_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
UPDATE_WAREHOUSE = f"""mutation($input: MfgUpdateWarehouseInput!) {{
  updateWarehouse(input: $input) {{ warehouse {{ id version }} {USER_ERRORS} }}
}}"""
CREATE_WEBHOOK = (
    f"""mutation($input: CreateWebhookInput!) {{ createWebhook(input: $input) {{ webhook {{ id }} {USER_ERRORS} }} }}"""
)
ORDER_FIELDS = """id customerId warehouseId status currency total note placedBy placedThroughPortal version createdAt
  updatedAt cancelledAt lines { productId quantity unitPrice lineTotal }"""
SHIPMENT_FIELDS = """id orderId warehouseId customerId carrier trackingNumber trackingUrl status version createdAt
  updatedAt dispatchedAt deliveredAt"""
WAREHOUSE_FIELDS = "id code name address active isDefault version createdAt updatedAt"


def _events(tenant: PluginTestTenant) -> list[tuple[str, dict[str, Any]]]:
    with tenant.session() as session:
        rows = session.execute(text("SELECT type, payload FROM outbox_events ORDER BY seq")).all()
    return [(row.type, row.payload) for row in rows]


def _since(tenant: PluginTestTenant, count: int) -> list[tuple[str, dict[str, Any]]]:
    return _events(tenant)[count:]


def test_every_change_of_the_plugins_entities_is_an_event(mfg: GraphQLClient, tenant: PluginTestTenant) -> None:
    start = len(_events(tenant))
    warehouse = ok(mfg, CREATE_WAREHOUSE, {"input": {"code": "EAST", "name": "East"}}, "createWarehouse")["warehouse"]
    ok(mfg, UPDATE_WAREHOUSE, {"input": {"id": warehouse["id"], "version": 1, "name": "East side"}}, "updateWarehouse")
    product = create_product(mfg, "EV-1")
    move(mfg, product, warehouse["id"], "RECEIPT", 5)
    threshold = {"input": {"productId": product, "warehouseId": warehouse["id"], "threshold": 2}}
    ok(mfg, THRESHOLD, threshold, "setLowStockThreshold")
    customer = create_customer(mfg, "Eventful Ltd")
    first = place(mfg, [(product, 1)], customer, warehouseId=warehouse["id"])["order"]
    ok(mfg, CANCEL, {"input": {"id": first["id"]}}, "cancelOrder")
    second = place(mfg, [(product, 4)], customer, warehouseId=warehouse["id"])["order"]  # 1 left: below 2
    shipment = ok(
        mfg, CREATE_SHIPMENT, {"input": {"orderId": second["id"], "carrier": "manual", "dispatch": True}},
        "createShipment",
    )["shipment"]  # fmt: skip
    ok(mfg, SHIPMENT_STATUS, {"input": {"id": shipment["id"], "status": "DELIVERED"}}, "updateShipmentStatus")

    types = [t for t, _ in _since(tenant, start) if not t.startswith(("customer.", "contact."))]
    assert types == [
        "mfg.warehouse.created",
        "mfg.warehouse.updated",
        "product.created",
        "mfg.stock.changed",  # the receipt
        "mfg.stock.threshold_changed",
        "mfg.stock.changed",  # reservation of the first order
        "mfg.order.placed",
        "mfg.stock.changed",  # its release
        "mfg.order.cancelled",
        "mfg.stock.changed",  # reservation of the second order…
        "mfg.stock.low",  # …which takes available stock below the threshold
        "mfg.order.placed",
        "mfg.shipment.pending",
        "mfg.stock.changed",  # dispatch: the reservation released…
        "mfg.stock.changed",  # …and the stock issued
        "mfg.order.shipped",
        "mfg.shipment.dispatched",
        "mfg.shipment.delivered",
    ]


def test_payloads_carry_what_the_api_returns(mfg: GraphQLClient, tenant: PluginTestTenant) -> None:
    product = create_product(mfg, "SHAPE-1")
    warehouse = ok(mfg, CREATE_WAREHOUSE, {"input": {"code": "SHAPE", "name": "Shape"}}, "createWarehouse")["warehouse"]
    move(mfg, product, warehouse["id"], "RECEIPT", 3)
    start = len(_events(tenant))
    order = place(mfg, [(product, 2)], create_customer(mfg, "Shape Ltd"), warehouseId=warehouse["id"], note="Hi")
    shipment = ok(mfg, CREATE_SHIPMENT, {"input": {"orderId": order["order"]["id"], "carrier": "manual"}},
                  "createShipment")["shipment"]  # fmt: skip
    events = dict(_since(tenant, start))
    api_order = mfg.data(f"query($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}", {"id": order["order"]["id"]})
    assert events["mfg.order.placed"]["order"] == api_order["order"]
    api_shipment = mfg.data(f"query($id: ID!) {{ shipment(id: $id) {{ {SHIPMENT_FIELDS} }} }}", {"id": shipment["id"]})
    assert events["mfg.shipment.pending"]["shipment"] == api_shipment["shipment"]
    assert events["mfg.shipment.pending"]["shipmentEvent"]["status"] == "PENDING"
    api_warehouse = mfg.data(
        f"query($id: ID!) {{ warehouse(id: $id) {{ {WAREHOUSE_FIELDS} }} }}", {"id": warehouse["id"]}
    )
    created = next(p for t, p in _events(tenant) if t == "mfg.warehouse.created" and p["warehouse"]["code"] == "SHAPE")
    assert created["warehouse"] == api_warehouse["warehouse"]
    movement = events["mfg.stock.changed"]
    assert (movement["movement"]["kind"], movement["movement"]["orderId"]) == ("RESERVATION", order["order"]["id"])
    assert movement["stockLevel"] == {
        "productId": product, "warehouseId": warehouse["id"], "onHand": 3, "reserved": 2, "available": 1,
        "lowStockThreshold": None,
    }  # fmt: skip
    for _, payload in _events(tenant):
        assert not RAW_UUID.search(orjson.dumps(payload).decode()), payload


def test_a_webhook_may_subscribe_to_orders_and_products(mfg: GraphQLClient) -> None:
    data = {"url": "https://example.com/hook", "events": ["mfg.order.*", "product.*"], "secret": "s3cret-s3cret-s3"}
    assert mfg.data(CREATE_WEBHOOK, {"input": data})["createWebhook"]["userErrors"] == []
