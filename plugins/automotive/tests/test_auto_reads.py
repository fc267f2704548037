"""Reads: every list compiles into one statement whose count does not grow with the page size;
a selection that cannot compile goes through loaders, one statement per level."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from auto_helpers import CALL_OFF_STATUS, FREIGHT, SERVICE, TRACK, customer, ok, place_order, register

VEHICLES = """query($first: Int) { vehicles(first: $first) { totalCount edges { cursor node {
  id vin mileage customer { id name } serviceRecords { kind mileage } reminders { kind } } } pageInfo { hasNextPage endCursor } } }"""
VEHICLES_WITH_CUSTOMER_FIELDS = (
    "query($first: Int) { vehicles(first: $first) { edges { node { id customer { id lifecycleStage } } } } }"
)
CALL_OFFS = "query($first: Int) { callOffs(first: $first) { totalCount edges { node { id status supplier { code } lines { quantity part { partNumber supplier { code } } } } } } }"
FREIGHT_LIST = "query($first: Int) { freightShipments(first: $first) { totalCount edges { node { id delayMinutes cost legs { origin } events { status } } } } }"
CUSTOMERS_WITH_VEHICLES = (
    "query($first: Int) { customers(first: $first) { edges { node { id vehicles { vin serviceRecords { kind } } } } } }"
)


def _statements(client: Any, query: str, first: int) -> int:
    client.data(query, {"first": first})
    return int(client.last_statements)


def test_lists_take_the_same_statements_for_any_page_size(auto: Any, supply: dict[str, Any]) -> None:
    for index in range(6):
        vehicle = register(auto, customer(auto, f"Owner {index}"), mileage=1000)
        data = {"vehicleId": vehicle["id"], "performedOn": "2026-01-02", "mileage": 1000, "kind": "oil"}
        ok(auto, SERVICE, {"input": data}, "recordService")
        order = place_order(auto, supply)
        ok(
            auto,
            CALL_OFF_STATUS,
            {"input": {"id": order["callOffs"][0]["id"], "status": "SENT"}},
            "updateCallOffStatus",
        )
        planned = datetime(2030, 1, 1, tzinfo=UTC)
        shipment = ok(
            auto,
            FREIGHT,
            {
                "input": {
                    "carrier": "C",
                    "trackingNumber": f"T{index}",
                    "legs": [{"origin": "A", "destination": "B"}],
                    "plannedDepartureAt": (planned - timedelta(days=1)).isoformat(),
                    "plannedArrivalAt": planned.isoformat(),
                }
            },
            "createFreightShipment",
        )["shipment"]
        event = {"shipmentId": shipment["id"], "at": planned.isoformat(), "location": "A", "status": "IN_TRANSIT"}
        ok(auto, TRACK, {"input": event}, "addTrackingEvent")
    for query in (VEHICLES, CALL_OFFS, FREIGHT_LIST):
        small = _statements(auto, query, 2)
        assert small == _statements(auto, query, 12), query
        assert small <= 2, (query, small)  # the compiled statement (and the credential's check)
    for query in (VEHICLES_WITH_CUSTOMER_FIELDS, CUSTOMERS_WITH_VEHICLES):
        assert _statements(auto, query, 2) == _statements(auto, query, 12), query
    page = auto.data(VEHICLES, {"first": 4})["vehicles"]
    rest = auto.data(
        "query($after: String) { vehicles(first: 10, after: $after) { edges { node { id } } } }",
        {"after": page["pageInfo"]["endCursor"]},
    )["vehicles"]["edges"]
    assert page["totalCount"] == 6 and len(rest) == 2
    assert page["edges"][0]["node"]["serviceRecords"] == [{"kind": "oil", "mileage": 1000}]
