"""Vehicles: VIN rules (form, check digit under strictVin, unique per tenant), mileage never going down,
service history, `Customer.vehicles`, and every mutation's bad input."""

from __future__ import annotations

from typing import Any

import pytest
from auto_helpers import (
    MILEAGE,
    REGISTER,
    SERVICE,
    VEHICLE,
    add_member,
    count_rows,
    customer,
    enable,
    ok,
    register,
    user_error,
    vin,
)
from saas_automotive.rules import vin_check_digit, vin_form_problem


def test_the_check_digit_of_a_known_vin() -> None:
    assert vin_check_digit("1M8GDM9AXKP042788") == "X"
    assert vin_check_digit("11111111111111111") == "1"
    assert vin_form_problem("1M8GDM9AXKP04278") is not None
    assert vin_form_problem("1M8GDM9AXKP04278O") is not None


def test_register_and_read_a_vehicle(auto: Any) -> None:
    owner = customer(auto)
    vehicle = register(auto, owner, mileage=1200, purchasedOn="2024-05-01", warrantyEndsOn="2027-05-01")
    assert vehicle["mileage"] == 1200 and vehicle["customer"]["id"] == owner
    read = auto.data(
        f"query($id: ID!) {{ vehicle(id: $id) {{ {VEHICLE} serviceRecords {{ kind }} reminders {{ kind }} }} }}",
        {"id": vehicle["id"]},
    )
    assert read["vehicle"]["vin"] == vehicle["vin"] and read["vehicle"]["serviceRecords"] == []
    listed = auto.data("{ vehicles(first: 5) { totalCount edges { node { id vin customer { id name } } } } }")
    assert listed["vehicles"]["totalCount"] == 1
    assert listed["vehicles"]["edges"][0]["node"]["customer"] == {"id": owner, "name": "Fleet Co"}
    on_customer = auto.data("query($id: ID!) { customer(id: $id) { vehicles { id } } }", {"id": owner})
    assert on_customer["customer"]["vehicles"] == [{"id": vehicle["id"]}]
    node = auto.data("query($id: ID!) { node(id: $id) { ... on AutoVehicle { vin } } }", {"id": vehicle["id"]})
    assert node["node"]["vin"] == vehicle["vin"]


@pytest.mark.parametrize(
    ("vin_value", "code"),
    [
        ("", "REQUIRED"),
        ("SHORT", "INVALID_VIN"),
        ("1M8GDM9AXKP04278O", "INVALID_VIN"),
        ("1M8GDM9AXKP0427888", "INVALID_VIN"),
    ],
)
def test_a_malformed_vin_is_refused(auto: Any, tenant: Any, vin_value: str, code: str) -> None:
    data = {"customerId": customer(auto), "vin": vin_value, "make": "Volvo", "model": "XC60", "year": 2022}
    assert user_error(auto, REGISTER, {"input": data}, "registerVehicle")["code"] == code
    assert count_rows(tenant, "auto_vehicles") == 0


def test_strict_vin_checks_the_check_digit(tenant: Any) -> None:
    client = enable(tenant.client, {"strictVin": True})
    owner = customer(client)
    wrong = "1M8GDM9A1KP042788"  # the check digit is X
    data = {"customerId": owner, "vin": wrong, "make": "Volvo", "model": "XC60", "year": 2022}
    assert user_error(client, REGISTER, {"input": data}, "registerVehicle")["code"] == "VIN_CHECK_DIGIT"
    data["vin"] = "1m8gdm9axkp042788"
    assert ok(client, REGISTER, {"input": data}, "registerVehicle")["vehicle"]["vin"] == "1M8GDM9AXKP042788"


def test_a_vin_is_unique_per_tenant_only(auto: Any, other_auto: Any) -> None:
    number = vin()
    register(auto, customer(auto), vin=number)
    data = {"customerId": customer(auto), "vin": number, "make": "Volvo", "model": "XC60", "year": 2022}
    assert user_error(auto, REGISTER, {"input": data}, "registerVehicle")["code"] == "TAKEN"
    register(other_auto, customer(other_auto), vin=number)


def test_bad_input_of_register_vehicle(auto: Any, other_auto: Any, tenant: Any) -> None:
    owner = customer(auto)
    base = {"customerId": owner, "vin": vin(), "make": "Volvo", "model": "XC60", "year": 2022}
    cases = [
        ({"make": ""}, "REQUIRED"),
        ({"model": "x" * 101}, "TOO_LONG"),
        ({"year": 1700}, "OUT_OF_RANGE"),
        ({"mileage": -1}, "OUT_OF_RANGE"),
        ({"customerId": customer(other_auto)}, "NOT_FOUND"),
        ({"customerId": "bm9wZQ=="}, "NOT_FOUND"),
    ]
    for change, code in cases:
        assert user_error(auto, REGISTER, {"input": {**base, **change}}, "registerVehicle")["code"] == code, change
    assert auto.error_codes(REGISTER, {"input": {**base, "year": "x"}})
    assert count_rows(tenant, "auto_vehicles") == 0


def test_mileage_never_goes_down(auto: Any) -> None:
    vehicle = register(auto, customer(auto), mileage=5000)
    assert (
        ok(auto, MILEAGE, {"input": {"vehicleId": vehicle["id"], "mileage": 6000}}, "recordMileage")["vehicle"][
            "mileage"
        ]
        == 6000
    )
    error = user_error(auto, MILEAGE, {"input": {"vehicleId": vehicle["id"], "mileage": 5999}}, "recordMileage")
    assert error == {"field": ["input", "mileage"], "code": "MILEAGE_DECREASE", "message": error["message"]}
    # A past service at a lower reading is history, not the odometer going back.
    past = {"vehicleId": vehicle["id"], "performedOn": "2025-01-01", "mileage": 100, "kind": "oil"}
    assert ok(auto, SERVICE, {"input": past}, "recordService")["vehicle"]["mileage"] == 6000
    assert (
        user_error(auto, MILEAGE, {"input": {"vehicleId": vehicle["id"], "mileage": -5}}, "recordMileage")["code"]
        == "OUT_OF_RANGE"
    )


def test_service_history(auto: Any, tenant: Any) -> None:
    vehicle = register(auto, customer(auto), mileage=5000)
    done = ok(
        auto,
        SERVICE,
        {"input": {"vehicleId": vehicle["id"], "performedOn": "2025-06-01", "mileage": 7000, "kind": "inspection"}},
        "recordService",
    )
    assert done["serviceRecord"] == {"performedOn": "2025-06-01", "mileage": 7000, "kind": "inspection"}
    assert done["vehicle"]["mileage"] == 7000
    for bad, code in (
        ({"kind": ""}, "REQUIRED"),
        ({"performedOn": "2999-01-01"}, "OUT_OF_RANGE"),
        ({"kind": "k" * 101}, "TOO_LONG"),
    ):
        data = {"vehicleId": vehicle["id"], "performedOn": "2025-06-02", "mileage": 7000, "kind": "oil", **bad}
        assert user_error(auto, SERVICE, {"input": data}, "recordService")["code"] == code
    assert count_rows(tenant, "auto_service_records") == 1


def test_another_tenant_sees_no_vehicle(auto: Any, other_auto: Any) -> None:
    vehicle = register(auto, customer(auto))
    data = {"vehicleId": vehicle["id"], "performedOn": "2025-01-01", "mileage": 0, "kind": "oil"}
    ok(auto, SERVICE, {"input": data}, "recordService")
    record = auto.data("query($id: ID!) { vehicle(id: $id) { serviceRecords { id } } }", {"id": vehicle["id"]})
    record_id = record["vehicle"]["serviceRecords"][0]["id"]
    assert auto.data("query($id: ID!) { node(id: $id) { ... on AutoServiceRecord { kind } } }", {"id": record_id}) == {
        "node": {"kind": "oil"}
    }
    assert other_auto.error_codes("query($id: ID!) { node(id: $id) { id } }", {"id": record_id}) == ["NOT_FOUND"]
    assert other_auto.data("{ vehicles { totalCount } }")["vehicles"]["totalCount"] == 0
    assert other_auto.error_codes("query($id: ID!) { vehicle(id: $id) { id } }", {"id": vehicle["id"]}) == ["NOT_FOUND"]
    assert other_auto.error_codes("query($id: ID!) { node(id: $id) { id } }", {"id": vehicle["id"]}) == ["NOT_FOUND"]
    error = user_error(other_auto, MILEAGE, {"input": {"vehicleId": vehicle["id"], "mileage": 9}}, "recordMileage")
    assert error["code"] == "NOT_FOUND"
    data = {"vehicleId": vehicle["id"], "performedOn": "2025-01-01", "mileage": 9, "kind": "x"}
    assert user_error(other_auto, SERVICE, {"input": data}, "recordService")["code"] == "NOT_FOUND"


def test_operations_need_the_plugin(tenant: Any) -> None:
    assert tenant.client.error_codes("{ vehicles { totalCount } }") == ["PLUGIN_NOT_ENABLED"]
    data = {"customerId": "x", "vin": "x", "make": "x", "model": "x", "year": 2020}
    assert tenant.client.error_codes(REGISTER, {"input": data}) == ["PLUGIN_NOT_ENABLED"]
    assert tenant.client.error_codes("subscription { freightUpdated { id } }") == ["PLUGIN_NOT_ENABLED"]


def test_a_sales_rep_sees_the_vehicles_of_the_customers_they_see(auto: Any, tenant: Any) -> None:
    rep = add_member(auto, tenant, "sales")
    theirs = register(rep, customer(rep, "Rep's customer"))
    me = auto.data("{ me { member { id } } }")["me"]["member"]["id"]
    created = auto.data(
        'mutation($o: ID!) { createCustomer(input: {name: "Owner\'s customer", ownerId: $o}) { customer { id } } }',
        {"o": me},
    )
    owners = register(auto, created["createCustomer"]["customer"]["id"])
    assert [e["node"]["id"] for e in rep.data("{ vehicles { edges { node { id } } } }")["vehicles"]["edges"]] == [
        theirs["id"]
    ]
    assert rep.error_codes("query($id: ID!) { vehicle(id: $id) { id } }", {"id": owners["id"]}) == ["NOT_FOUND"]
    error = user_error(rep, MILEAGE, {"input": {"vehicleId": owners["id"], "mileage": 10**6}}, "recordMileage")
    assert error["code"] == "NOT_FOUND"
    assert auto.data("{ vehicles { totalCount } }")["vehicles"]["totalCount"] == 2
