"""Shipments: dispatch issues the reserved stock, status events stream live, carriers plug in."""

from __future__ import annotations

from typing import Any

import pytest
from mfg_helpers import (
    CANCEL,
    CREATE_SHIPMENT,
    DISPATCH,
    MOVEMENTS,
    SHIPMENT_QUERY,
    SHIPMENT_STATUS,
    SHIPMENT_UPDATED,
    add_member,
    create_contact,
    create_customer,
    level,
    move,
    ok,
    place,
    portal_client,
    refused,
)
from saas_manufacturing import carriers

from saas.plugin_api.testing import collect_events


def _order(mfg: Any, stocked: dict[str, Any], quantity: int = 4, customer: str | None = None) -> dict[str, Any]:
    return place(mfg, [(stocked["product"], quantity)], customer or create_customer(mfg))["order"]


def _ship(client: Any, order: dict[str, Any], **extra: Any) -> dict[str, Any]:
    payload = ok(client, CREATE_SHIPMENT, {"input": {"orderId": order["id"], **extra}}, "createShipment")
    return payload["shipment"]


def test_dispatch_issues_the_reserved_stock(mfg: Any, stocked: dict[str, Any]) -> None:
    product = stocked["product"]
    order = _order(mfg, stocked)
    shipment = _ship(mfg, order, trackingNumber="TRK-1")
    assert (shipment["status"], shipment["carrier"], shipment["trackingNumber"]) == ("PENDING", "manual", "TRK-1")
    assert (level(mfg, product)["onHand"], level(mfg, product)["reserved"]) == (10, 4)
    dispatched = ok(mfg, DISPATCH, {"input": {"id": shipment["id"], "location": "Dock 3"}}, "dispatchShipment")[
        "shipment"
    ]
    assert dispatched["status"] == "DISPATCHED" and dispatched["dispatchedAt"]
    stock = level(mfg, product)
    assert (stock["onHand"], stock["reserved"], stock["available"]) == (6, 0, 6)
    ledger = mfg.data(MOVEMENTS, {"filter": {"orderId": order["id"]}})["stockMovements"]["edges"]
    assert [(e["node"]["kind"], e["node"]["quantity"]) for e in ledger] == [
        ("ISSUE", 4),
        ("RELEASE", 4),
        ("RESERVATION", 4),
    ]
    assert ledger[0]["node"]["shipmentId"] == shipment["id"]
    order_now = mfg.data("query($id: ID!) { order(id: $id) { status } }", {"id": order["id"]})["order"]
    assert order_now["status"] == "SHIPPED"
    assert refused(mfg, CANCEL, {"input": {"id": order["id"]}}, "cancelOrder") == [
        (["input", "id"], "ORDER_NOT_CANCELLABLE")
    ]
    delivered = ok(
        mfg, SHIPMENT_STATUS, {"input": {"id": shipment["id"], "status": "DELIVERED"}}, "updateShipmentStatus"
    )
    assert delivered["shipment"]["deliveredAt"]
    assert [e["status"] for e in delivered["shipment"]["events"]] == ["PENDING", "DISPATCHED", "DELIVERED"]


def test_shipment_rules(mfg: Any, stocked: dict[str, Any]) -> None:
    order = _order(mfg, stocked)
    assert refused(
        mfg, CREATE_SHIPMENT, {"input": {"orderId": order["id"], "carrier": "pigeon"}}, "createShipment"
    ) == [(["input", "carrier"], "UNKNOWN_CARRIER")]
    shipment = _ship(mfg, order, dispatch=True)
    assert shipment["status"] == "DISPATCHED"
    assert refused(mfg, CREATE_SHIPMENT, {"input": {"orderId": order["id"]}}, "createShipment") == [
        (["input", "orderId"], "ORDER_NOT_SHIPPABLE")
    ]
    assert refused(
        mfg, SHIPMENT_STATUS, {"input": {"id": shipment["id"], "status": "PENDING"}}, "updateShipmentStatus"
    ) == [(["input", "status"], "INVALID_STATUS_TRANSITION")]
    # dispatchShipment's input has no status: a second dispatch names the shipment it was given.
    assert refused(mfg, DISPATCH, {"input": {"id": shipment["id"]}}, "dispatchShipment") == [
        (["input", "id"], "INVALID_STATUS_TRANSITION")
    ]
    cancelled_order = _order(mfg, stocked, 1)
    ok(mfg, CANCEL, {"input": {"id": cancelled_order["id"]}}, "cancelOrder")
    assert refused(mfg, CREATE_SHIPMENT, {"input": {"orderId": cancelled_order["id"]}}, "createShipment") == [
        (["input", "orderId"], "ORDER_NOT_SHIPPABLE")
    ]


def test_cancelling_an_order_cancels_its_pending_shipment(mfg: Any, stocked: dict[str, Any]) -> None:
    order = _order(mfg, stocked)
    shipment = _ship(mfg, order)
    ok(mfg, CANCEL, {"input": {"id": order["id"]}}, "cancelOrder")
    assert mfg.data(SHIPMENT_QUERY, {"id": shipment["id"]})["shipment"]["status"] == "CANCELLED"
    assert level(mfg, stocked["product"])["reserved"] == 0


def test_only_shipping_roles_ship(mfg: Any, stocked: dict[str, Any], tenant: Any) -> None:
    order = _order(mfg, stocked)
    assert add_member(mfg, tenant, "sales").error_codes(CREATE_SHIPMENT, {"input": {"orderId": order["id"]}}) == [
        "FORBIDDEN"
    ]
    assert _ship(add_member(mfg, tenant, "service"), order)["status"] == "PENDING"


def test_shipment_updated_streams_to_the_tenant_and_the_customers_portal_only(
    mfg: Any, other_mfg: Any, stocked: dict[str, Any]
) -> None:
    customer = create_customer(mfg)
    portal, _ = portal_client(mfg, create_contact(mfg, customer))
    other_portal, _ = portal_client(mfg, create_contact(mfg, create_customer(mfg, "Someone else")))
    order = _order(mfg, stocked, 2, customer)

    def act() -> None:
        shipment = _ship(mfg, order, trackingNumber="TRK-9")
        ok(mfg, DISPATCH, {"input": {"id": shipment["id"]}}, "dispatchShipment")
        ok(
            mfg,
            SHIPMENT_STATUS,
            {"input": {"id": shipment["id"], "status": "IN_TRANSIT", "description": "Hub"}},
            "updateShipmentStatus",
        )

    staff = [p["data"]["shipmentUpdated"] for p in collect_events(mfg, SHIPMENT_UPDATED, None, "mfg.shipments", act)]
    assert [(u["status"], u["trackingNumber"]) for u in staff] == [
        ("PENDING", "TRK-9"), ("DISPATCHED", "TRK-9"), ("IN_TRANSIT", "TRK-9"),
    ]  # fmt: skip
    assert staff[-1]["description"] == "Hub" and staff[0]["orderId"] == order["id"]
    order_two = _order(mfg, stocked, 1, customer)
    heard = collect_events(portal, SHIPMENT_UPDATED, None, "mfg.shipments", lambda: _ship(mfg, order_two))
    assert [p["data"]["shipmentUpdated"]["status"] for p in heard] == ["PENDING"]
    order_three = _order(mfg, stocked, 1, customer)
    assert collect_events(other_portal, SHIPMENT_UPDATED, None, "mfg.shipments", lambda: _ship(mfg, order_three)) == []
    order_four = _order(mfg, stocked, 1, customer)
    assert collect_events(other_mfg, SHIPMENT_UPDATED, None, "mfg.shipments", lambda: _ship(mfg, order_four)) == []


def test_another_tenant_cannot_see_or_ship_orders(mfg: Any, other_mfg: Any, stocked: dict[str, Any]) -> None:
    order = _order(mfg, stocked)
    shipment = _ship(mfg, order)
    assert other_mfg.error_codes(SHIPMENT_QUERY, {"id": shipment["id"]}) == ["NOT_FOUND"]
    assert other_mfg.data("{ shipments { totalCount } }")["shipments"]["totalCount"] == 0
    assert other_mfg.error_codes(DISPATCH, {"input": {"id": shipment["id"]}}) == ["NOT_FOUND"]
    assert refused(other_mfg, CREATE_SHIPMENT, {"input": {"orderId": order["id"]}}, "createShipment") == [
        (["input", "orderId"], "NOT_FOUND")
    ]


class FakeCarrier:
    code = "fake"
    name = "Fake Express"

    def book(self, request: carriers.ShipmentRequest) -> carriers.Booking:
        if request.warehouse_code == "REFUSED":
            raise carriers.CarrierError("no pickup at this address")
        return carriers.Booking(f"FX{request.shipment_id.hex[:10]}", f"https://fake.example/{request.shipment_id}")


class FakeCarrierPackage:
    @carriers.carrier_hookimpl
    def mfg_carriers(self) -> list[carriers.Carrier]:
        return [FakeCarrier()]


@pytest.fixture
def fake_carrier(monkeypatch: pytest.MonkeyPatch) -> None:
    manager = carriers.carrier_manager(load_entry_points=False)
    manager.register(FakeCarrierPackage(), name="fake")
    installed = carriers.collect(manager)
    monkeypatch.setattr(carriers, "registry", lambda: installed)


def test_carriers_plug_in_through_the_hook(mfg: Any, stocked: dict[str, Any], fake_carrier: None) -> None:
    assert mfg.data("{ carriers { code name } }")["carriers"] == [
        {"code": "fake", "name": "Fake Express"},
        {"code": "manual", "name": "Manual (tracking number entered by hand)"},
    ]
    shipment = _ship(mfg, _order(mfg, stocked), carrier="fake")
    assert shipment["carrier"] == "fake" and shipment["trackingNumber"].startswith("FX")
    far = mfg.data('mutation { createWarehouse(input: {code: "REFUSED", name: "Far away"}) { warehouse { id } } }')
    warehouse = far["createWarehouse"]["warehouse"]["id"]
    move(mfg, stocked["product"], warehouse, "RECEIPT", 1)
    order = place(mfg, [(stocked["product"], 1)], create_customer(mfg), warehouseId=warehouse)["order"]
    errors = refused(mfg, CREATE_SHIPMENT, {"input": {"orderId": order["id"], "carrier": "fake"}}, "createShipment")
    assert errors == [(["input", "carrier"], "CARRIER_FAILED")]
    assert mfg.data("query($o: ID!) { shipments(filter: {orderId: $o}) { totalCount } }", {"o": order["id"]}) == {
        "shipments": {"totalCount": 0}
    }


def test_a_carrier_code_used_twice_is_refused_at_load() -> None:
    manager = carriers.carrier_manager(load_entry_points=False)
    manager.register(FakeCarrierPackage(), name="one")

    class Again:
        @carriers.carrier_hookimpl
        def mfg_carriers(self) -> list[carriers.Carrier]:
            return [FakeCarrier()]

    manager.register(Again(), name="two")
    with pytest.raises(ValueError, match="fake"):
        carriers.collect(manager)


ORDER_FIELDS = """id customerId warehouseId status currency total note placedBy placedThroughPortal version createdAt
  updatedAt cancelledAt lines { productId quantity unitPrice lineTotal } warehouse { id code name isDefault }"""
SHIPMENT_FIELDS = """id orderId warehouseId customerId carrier trackingNumber trackingUrl status version createdAt
  updatedAt dispatchedAt deliveredAt events { status description location actor occurredAt }"""


def test_the_staffs_order_and_shipment_lists_are_one_statement_with_the_resolvers_answer(
    mfg: Any, stocked: dict[str, Any]
) -> None:
    first = _order(mfg, stocked, quantity=1)
    _ship(mfg, first, trackingNumber="TRK-9", dispatch=True)
    second = _order(mfg, stocked, quantity=2)
    _ship(mfg, second)
    ok(mfg, CANCEL, {"input": {"id": _order(mfg, stocked, quantity=1)["id"]}}, "cancelOrder")
    for root, fields, single in (("orders", ORDER_FIELDS, "order"), ("shipments", SHIPMENT_FIELDS, "shipment")):
        query = "query($f: Int) { ROOT(first: $f) { totalCount edges { cursor node { FIELDS } } pageInfo { hasNextPage endCursor } } }"
        page = mfg.data(query.replace("ROOT", root).replace("FIELDS", fields), {"f": 2})[root]
        assert mfg.last_statements == 1, root
        assert page["pageInfo"]["hasNextPage"] == (page["totalCount"] > 2)
        rest_query = "query($a: String) { ROOT(first: 50, after: $a) { edges { node { id } } } }".replace("ROOT", root)
        rest = mfg.data(rest_query, {"a": page["pageInfo"]["endCursor"]})[root]
        assert len(rest["edges"]) == page["totalCount"] - 2
        one_query = "query($id: ID!) { ONE(id: $id) { FIELDS } }".replace("ONE", single).replace("FIELDS", fields)
        for edge in page["edges"]:  # `order(id)` and `shipment(id)` are read by the services
            assert mfg.data(one_query, {"id": edge["node"]["id"]})[single] == edge["node"]
