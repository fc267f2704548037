"""Freight: tracking events move status and ETA, the delay threshold notifies once, the live stream
stays in the tenant. Reminders: created with their follow-up task exactly once per vehicle, rule and
due date, however often and however concurrently the job runs (a controllable clock: `today`)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

from auto_helpers import FREIGHT, RULE, TRACK, count_rows, customer, ok, register, run_job, user_error
from saas_automotive import jobs

from saas.plugin_api.testing import collect_events

PLANNED = datetime(2030, 1, 10, 12, 0, tzinfo=UTC)


def _shipment(client: Any, **extra: Any) -> dict[str, Any]:
    data = {
        "carrier": "DHL Freight",
        "trackingNumber": "TRK-1",
        "legs": [{"origin": "Gothenburg", "destination": "Ghent"}, {"origin": "Ghent", "destination": "Lyon"}],
        "plannedDepartureAt": (PLANNED - timedelta(days=2)).isoformat(),
        "plannedArrivalAt": PLANNED.isoformat(),
        "cost": "1250.50",
        "currency": "EUR",
        **extra,
    }
    return ok(client, FREIGHT, {"input": data}, "createFreightShipment")["shipment"]


def test_tracking_moves_status_and_eta_and_notifies_a_delay_once(auto: Any, tenant: Any) -> None:
    shipment = _shipment(auto)
    assert shipment["cost"] == "1250.50" and shipment["delayMinutes"] == 0
    assert shipment["legs"] == [
        {"origin": "Gothenburg", "destination": "Ghent"},
        {"origin": "Ghent", "destination": "Lyon"},
    ]

    def track(eta: datetime, status: str = "IN_TRANSIT") -> dict[str, Any]:
        data = {
            "shipmentId": shipment["id"],
            "at": PLANNED.isoformat(),
            "location": "Ghent",
            "status": status,
            "eta": eta.isoformat(),
        }
        return ok(auto, TRACK, {"input": data}, "addTrackingEvent")["shipment"]

    assert track(PLANNED + timedelta(minutes=30))["delayMinutes"] == 30
    late = track(PLANNED + timedelta(minutes=90), "DELAYED")
    assert late["status"] == "DELAYED" and late["delayMinutes"] == 90 and len(late["events"]) == 2
    track(PLANNED + timedelta(minutes=120))
    assert count_rows(tenant, "outbox_events", "type = 'auto.freight.delayed'") == 1
    assert count_rows(tenant, "notifications", "kind = 'auto.freight.delayed'") == 1
    track(PLANNED, "DELIVERED")
    data = {"shipmentId": shipment["id"], "at": PLANNED.isoformat(), "location": "Lyon", "status": "IN_TRANSIT"}
    assert user_error(auto, TRACK, {"input": data}, "addTrackingEvent")["code"] == "INVALID_STATUS_TRANSITION"


def test_bad_input_of_the_freight_mutations(auto: Any, other_auto: Any, tenant: Any) -> None:
    for change, code in (
        ({"carrier": ""}, "REQUIRED"),
        ({"trackingNumber": "t" * 101}, "TOO_LONG"),
        ({"legs": []}, "REQUIRED"),
        ({"legs": [{"origin": "", "destination": "B"}]}, "REQUIRED"),
        ({"cost": "-1"}, "OUT_OF_RANGE"),
        ({"currency": "euro"}, "INVALID"),
        ({"plannedArrivalAt": "2020-01-01T00:00:00+00:00"}, "OUT_OF_RANGE"),
        ({"callOffId": "bm9wZQ=="}, "NOT_FOUND"),
    ):
        data = {
            "carrier": "C",
            "trackingNumber": "T",
            "legs": [{"origin": "A", "destination": "B"}],
            "plannedDepartureAt": PLANNED.isoformat(),
            "plannedArrivalAt": PLANNED.isoformat(),
            "cost": "1.00",
            "currency": "EUR",
            **change,
        }
        assert user_error(auto, FREIGHT, {"input": data}, "createFreightShipment")["code"] == code, change
    assert count_rows(tenant, "auto_freight_shipments") == 0
    shipment = _shipment(other_auto)
    data = {"shipmentId": shipment["id"], "at": PLANNED.isoformat(), "location": "X", "status": "IN_TRANSIT"}
    assert user_error(auto, TRACK, {"input": data}, "addTrackingEvent")["code"] == "NOT_FOUND"
    mine = _shipment(auto)
    data = {"shipmentId": mine["id"], "at": PLANNED.isoformat(), "location": "", "status": "IN_TRANSIT"}
    assert user_error(auto, TRACK, {"input": data}, "addTrackingEvent")["code"] == "REQUIRED"
    assert auto.data("{ freightShipments { totalCount } }")["freightShipments"]["totalCount"] == 1
    assert other_auto.error_codes("query($id: ID!) { node(id: $id) { id } }", {"id": mine["id"]}) == ["NOT_FOUND"]


def test_freight_updated_streams_within_the_tenant_only(auto: Any, other_auto: Any) -> None:
    shipment = _shipment(auto)
    foreign = _shipment(other_auto)
    subscription = "subscription { freightUpdated { id status delayMinutes } }"

    def act() -> None:
        for client, target in ((other_auto, foreign), (auto, shipment)):
            data = {"shipmentId": target["id"], "at": PLANNED.isoformat(), "location": "Ghent", "status": "IN_TRANSIT"}
            ok(client, TRACK, {"input": data}, "addTrackingEvent")

    events = collect_events(auto, subscription, None, "auto.freight", act)
    assert [e["data"]["freightUpdated"]["id"] for e in events] == [shipment["id"]]


def test_reminders_and_tasks_exactly_once(auto: Any, tenant: Any, saas_runtime: Any) -> None:
    owner = customer(auto)
    vehicle = register(auto, owner, purchasedOn="2025-01-15", warrantyEndsOn="2030-03-01", financeEndsOn="2030-06-01")
    ok(auto, RULE, {"input": {"kind": "WARRANTY_END", "daysBefore": 30}}, "createReminderRule")
    ok(auto, RULE, {"input": {"kind": "SERVICE_TIME", "everyMonths": 12}}, "createReminderRule")
    ok(auto, RULE, {"input": {"kind": "FINANCE_END", "daysBefore": 10}}, "createReminderRule")
    today = date(2030, 2, 15).isoformat()
    assert run_job(saas_runtime, tenant, jobs.generate_reminders, today) == 1  # the warranty only
    assert run_job(saas_runtime, tenant, jobs.generate_reminders, today) == 0
    results: list[int] = []

    def run() -> None:
        results.append(run_job(saas_runtime, tenant, jobs.generate_reminders, date(2030, 5, 25).isoformat()))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 0, 1]  # the finance end, once
    assert count_rows(tenant, "auto_reminders") == 2
    assert count_rows(tenant, "tasks") == count_rows(tenant, "auto_reminders", "task_id IS NOT NULL")
    listed = auto.data(
        "query($id: ID!) { vehicle(id: $id) { reminders { kind dueOn status } } }", {"id": vehicle["id"]}
    )
    assert listed["vehicle"]["reminders"] == [
        {"kind": "WARRANTY_END", "dueOn": "2030-03-01", "status": "OPEN"},
        {"kind": "FINANCE_END", "dueOn": "2030-06-01", "status": "OPEN"},
    ]
    filtered = auto.data(
        "{ vehicleReminders(filter: {kind: FINANCE_END}) { totalCount edges { node { kind taskId } } } }"
    )
    assert filtered["vehicleReminders"]["totalCount"] == 1


def test_bad_input_of_create_reminder_rule(auto: Any, other_auto: Any, tenant: Any) -> None:
    for data, code in (
        ({"kind": "SERVICE_MILEAGE"}, "REQUIRED"),
        ({"kind": "SERVICE_TIME"}, "REQUIRED"),
        ({"kind": "SERVICE_MILEAGE", "everyKm": 0}, "OUT_OF_RANGE"),
        ({"kind": "WARRANTY_END", "everyKm": 100}, "INVALID"),
        ({"kind": "WARRANTY_END", "daysBefore": -1}, "OUT_OF_RANGE"),
    ):
        assert user_error(auto, RULE, {"input": data}, "createReminderRule")["code"] == code, data
    assert count_rows(tenant, "auto_reminder_rules") == 0
    rule = ok(auto, RULE, {"input": {"kind": "SERVICE_MILEAGE", "everyKm": 15000}}, "createReminderRule")["rule"]
    assert auto.data("{ reminderRules { id everyKm } }") == {"reminderRules": [{"id": rule["id"], "everyKm": 15000}]}
    assert other_auto.data("{ reminderRules { id } }") == {"reminderRules": []}
    assert other_auto.data("{ vehicleReminders { totalCount } }")["vehicleReminders"]["totalCount"] == 0
    assert other_auto.error_codes("query($id: ID!) { node(id: $id) { id } }", {"id": rule["id"]}) == ["NOT_FOUND"]
