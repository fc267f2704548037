"""JIT call-offs: orders explode per supplier with their due times, transitions, the supplier key,
sending through the channel hook, the confirmation window, supplier performance, isolation."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from auto_helpers import (
    CALL_OFF_STATUS,
    CALL_OFFS,
    ORDER,
    PART,
    SUPPLIER,
    SUPPLIER_KEY,
    build_slot,
    count_rows,
    customer,
    ok,
    place_order,
    run_job,
    seed_supply,
    user_error,
)
from saas_automotive import channels, jobs


def _iso(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_an_order_makes_one_call_off_per_supplier_due_before_the_slot(auto: Any, supply: dict[str, Any]) -> None:
    slot = build_slot()
    parts = [
        {"partId": supply["seat"]["id"], "quantity": 2},
        {"partId": supply["glass"]["id"], "quantity": 1},
        {"partId": supply["seat"]["id"], "quantity": 2},
    ]
    data = {"customerId": supply["customer"], "model": "XC60", "buildSlotAt": slot.isoformat(), "parts": parts}
    order = ok(auto, ORDER, {"input": data}, "createVehicleOrder")["order"]
    by_code = {c["supplier"]["code"]: c for c in order["callOffs"]}
    assert set(by_code) == {"ACME", "BOLT"}
    assert _iso(by_code["ACME"]["dueAt"]) == slot - timedelta(minutes=120) - timedelta(hours=4)
    assert _iso(by_code["BOLT"]["dueAt"]) == slot - timedelta(minutes=60) - timedelta(hours=8)
    assert by_code["ACME"]["lines"] == [{"quantity": 4, "part": {"partNumber": "SEAT-1"}}]
    assert {c["status"] for c in order["callOffs"]} == {"CREATED"}


def test_bad_input_of_the_supply_mutations(auto: Any, other_auto: Any, tenant: Any, supply: dict[str, Any]) -> None:
    for data, code in (
        ({"code": "", "name": "X", "jitWindowMinutes": 1}, "REQUIRED"),
        ({"code": "ACME", "name": "Again", "jitWindowMinutes": 1}, "TAKEN"),
        ({"code": "NEW", "name": "X", "jitWindowMinutes": -1}, "OUT_OF_RANGE"),
        ({"code": "NEW", "name": "n" * 201, "jitWindowMinutes": 1}, "TOO_LONG"),
        ({"code": "NEW", "name": "X", "jitWindowMinutes": 1, "endpointUrl": "ftp://x"}, "INVALID"),
        ({"code": "NEW", "name": "X", "jitWindowMinutes": 1, "channel": "pigeon"}, "UNKNOWN_CHANNEL"),
    ):
        assert user_error(auto, SUPPLIER, {"input": data}, "createSupplier")["code"] == code, data
    other_supplier = seed_supply(other_auto)["acme"]["id"]
    for data, code in (
        ({"supplierId": supply["acme"]["id"], "partNumber": "SEAT-1", "name": "S", "leadTimeHours": 1}, "TAKEN"),
        ({"supplierId": other_supplier, "partNumber": "P-9", "name": "S", "leadTimeHours": 1}, "NOT_FOUND"),
        ({"supplierId": supply["acme"]["id"], "partNumber": "", "name": "S", "leadTimeHours": 1}, "REQUIRED"),
        ({"supplierId": supply["acme"]["id"], "partNumber": "P-9", "name": "S", "leadTimeHours": -3}, "OUT_OF_RANGE"),
    ):
        assert user_error(auto, PART, {"input": data}, "createPart")["code"] == code, data
    base = {"customerId": supply["customer"], "model": "XC60", "buildSlotAt": build_slot().isoformat()}
    for change, code in (
        ({"parts": []}, "REQUIRED"),
        ({"parts": [{"partId": supply["seat"]["id"], "quantity": 0}]}, "OUT_OF_RANGE"),
        ({"parts": [{"partId": "bm9wZQ==", "quantity": 1}]}, "NOT_FOUND"),
        ({"parts": [{"partId": supply["seat"]["id"], "quantity": 1}], "model": ""}, "REQUIRED"),
        (
            {"parts": [{"partId": supply["seat"]["id"], "quantity": 1}], "buildSlotAt": "2020-01-01T00:00:00+00:00"},
            "OUT_OF_RANGE",
        ),
        ({"parts": [{"partId": supply["seat"]["id"], "quantity": 1}], "customerId": customer(other_auto)}, "NOT_FOUND"),
    ):
        assert user_error(auto, ORDER, {"input": {**base, **change}}, "createVehicleOrder")["code"] == code, change
    assert count_rows(tenant, "auto_vehicle_orders") == 0 and count_rows(tenant, "auto_call_offs") == 0
    for data, code in (
        ({"supplierId": other_supplier, "name": "k"}, "NOT_FOUND"),
        ({"supplierId": supply["acme"]["id"], "name": ""}, "REQUIRED"),
    ):
        assert user_error(auto, SUPPLIER_KEY, {"input": data}, "createSupplierApiKey")["code"] == code


def test_transitions(auto: Any, supply: dict[str, Any]) -> None:
    call_off = place_order(auto, supply)["callOffs"][0]

    def move(status: str) -> dict[str, Any]:
        return auto.data(CALL_OFF_STATUS, {"input": {"id": call_off["id"], "status": status}})["updateCallOffStatus"]

    assert move("DELIVERED")["userErrors"][0]["code"] == "INVALID_STATUS_TRANSITION"
    for status in ("SENT", "CONFIRMED", "SHIPPED", "DELIVERED"):
        assert move(status)["callOff"]["status"] == status
    assert move("REJECTED")["userErrors"][0]["code"] == "INVALID_STATUS_TRANSITION"
    unknown = auto.data(CALL_OFF_STATUS, {"input": {"id": "bm9wZQ==", "status": "SENT"}})["updateCallOffStatus"]
    assert unknown["userErrors"][0]["code"] == "NOT_FOUND"
    long_note = auto.data(CALL_OFF_STATUS, {"input": {"id": call_off["id"], "status": "SENT", "note": "n" * 2001}})
    assert long_note["updateCallOffStatus"]["userErrors"][0]["code"] == "TOO_LONG"


def test_concurrent_moves_take_one_transition(auto: Any, supply: dict[str, Any]) -> None:
    call_off = place_order(auto, supply)["callOffs"][0]
    ok(auto, CALL_OFF_STATUS, {"input": {"id": call_off["id"], "status": "SENT"}}, "updateCallOffStatus")
    results: list[dict[str, Any]] = []

    def move(status: str) -> None:
        results.append(
            auto.data(CALL_OFF_STATUS, {"input": {"id": call_off["id"], "status": status}})["updateCallOffStatus"]
        )

    threads = [threading.Thread(target=move, args=(s,)) for s in ("CONFIRMED", "CONFIRMED", "CONFIRMED")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(1 for r in results if not r["userErrors"]) == 1
    assert all(r["userErrors"][0]["code"] == "INVALID_STATUS_TRANSITION" for r in results if r["userErrors"])


def test_the_supplier_key_sees_and_moves_only_its_own_call_offs(auto: Any, supply: dict[str, Any], tenant: Any) -> None:
    order = place_order(auto, supply)
    mine = next(c for c in order["callOffs"] if c["supplier"]["code"] == "ACME")
    theirs = next(c for c in order["callOffs"] if c["supplier"]["code"] == "BOLT")
    key = ok(
        auto, SUPPLIER_KEY, {"input": {"supplierId": supply["acme"]["id"], "name": "Acme EDI"}}, "createSupplierApiKey"
    )["key"]
    supplier = auto.as_token(key)
    listed = supplier.data(CALL_OFFS)["callOffs"]
    assert [e["node"]["id"] for e in listed["edges"]] == [mine["id"]]
    assert supplier.data("{ suppliers { code } }") == {"suppliers": [{"code": "ACME"}]}
    assert supplier.error_codes("query($id: ID!) { node(id: $id) { id } }", {"id": theirs["id"]}) == ["NOT_FOUND"]
    assert supplier.error_codes("{ vehicles { totalCount } }") == ["FORBIDDEN"]
    assert supplier.error_codes("{ customers { totalCount } }") == ["FORBIDDEN"]

    def move(client: Any, call_off: dict[str, Any], status: str) -> dict[str, Any]:
        return client.data(CALL_OFF_STATUS, {"input": {"id": call_off["id"], "status": status}})["updateCallOffStatus"]

    assert move(supplier, mine, "CONFIRMED")["userErrors"][0]["code"] == "INVALID_STATUS_TRANSITION"  # not sent yet
    assert move(supplier, theirs, "SENT")["userErrors"][0]["code"] == "NOT_FOUND"
    ok(auto, CALL_OFF_STATUS, {"input": {"id": mine["id"], "status": "SENT"}}, "updateCallOffStatus")
    assert move(supplier, mine, "CONFIRMED")["callOff"]["status"] == "CONFIRMED"
    assert move(supplier, mine, "SHIPPED")["callOff"]["status"] == "SHIPPED"
    assert move(supplier, mine, "DELIVERED")["userErrors"][0]["code"] == "INVALID_STATUS_TRANSITION"
    assert supplier.error_codes(
        'mutation { createSupplier(input: {code: "X", name: "X", jitWindowMinutes: 1}) { userErrors { code } } }'
    ) == ["FORBIDDEN"]


def test_call_offs_are_sent_through_their_channel_and_marked_sent_once(
    auto: Any, supply: dict[str, Any], tenant: Any, saas_runtime: Any, monkeypatch: Any
) -> None:
    sent: list[Any] = []

    class Recorder:
        code = "webhook"
        name = "recorder"
        fail = True

        def send(self, ctx: Any, supplier: Any, message: Any) -> str | None:
            sent.append((supplier.code, message))
            return "HTTP 503" if self.fail else None

    recorder = Recorder()
    monkeypatch.setattr(channels, "registry", lambda: {"webhook": recorder})
    call_off = place_order(auto, supply)["callOffs"][0]
    raw = call_off["id"]
    from saas.plugin_api import decode_id

    raw_id = str(decode_id(raw, "AutoCallOff"))
    try:
        run_job(saas_runtime, tenant, jobs.send_call_off, raw_id)
    except Exception as exc:  # retried by dramatiq with backoff
        assert "HTTP 503" in str(exc)
    recorder.fail = False
    assert run_job(saas_runtime, tenant, jobs.send_call_off, raw_id) is True
    assert run_job(saas_runtime, tenant, jobs.send_call_off, raw_id) is False
    assert len(sent) == 2 and sent[-1][1].data["callOff"]["id"] == raw
    assert auto.data(CALL_OFFS, {"filter": {"status": "SENT"}})["callOffs"]["totalCount"] == 1


def test_the_built_in_channel_refuses_internal_addresses(auto: Any, tenant: Any, saas_runtime: Any) -> None:
    supplier = ok(
        auto,
        SUPPLIER,
        {"input": {"code": "LOOP", "name": "Loopback", "jitWindowMinutes": 5, "endpointUrl": "http://127.0.0.1:9/x"}},
        "createSupplier",
    )
    assert supplier["signingSecret"]
    part = ok(
        auto,
        PART,
        {"input": {"supplierId": supplier["supplier"]["id"], "partNumber": "L-1", "name": "L", "leadTimeHours": 1}},
        "createPart",
    )["part"]
    data = {
        "customerId": customer(auto),
        "model": "XC60",
        "buildSlotAt": build_slot().isoformat(),
        "parts": [{"partId": part["id"], "quantity": 1}],
    }
    call_off = ok(auto, ORDER, {"input": data}, "createVehicleOrder")["order"]["callOffs"][0]
    from saas.plugin_api import decode_id

    try:
        run_job(saas_runtime, tenant, jobs.send_call_off, str(decode_id(call_off["id"], "AutoCallOff")))
        raise AssertionError("an internal address must not be reached")
    except Exception as exc:
        assert "address not allowed" in str(exc)


def test_an_unconfirmed_call_off_is_flagged_once(
    auto: Any, supply: dict[str, Any], tenant: Any, saas_runtime: Any
) -> None:
    place_order(auto, supply)
    later = (datetime.now(UTC) + timedelta(hours=3)).isoformat()
    assert run_job(saas_runtime, tenant, jobs.check_call_off_windows, datetime.now(UTC).isoformat()) == 0
    assert run_job(saas_runtime, tenant, jobs.check_call_off_windows, later) == 2
    assert run_job(saas_runtime, tenant, jobs.check_call_off_windows, later) == 0
    assert count_rows(tenant, "outbox_events", "type = 'auto.call_off.overdue'") == 2
    assert count_rows(tenant, "notifications", "kind = 'auto.call_off.overdue'") == 2


def test_supplier_performance_in_sql(auto: Any, supply: dict[str, Any]) -> None:
    order = place_order(auto, supply)
    acme = next(c for c in order["callOffs"] if c["supplier"]["code"] == "ACME")
    bolt = next(c for c in order["callOffs"] if c["supplier"]["code"] == "BOLT")
    for status in ("SENT", "CONFIRMED", "SHIPPED", "DELIVERED"):
        ok(auto, CALL_OFF_STATUS, {"input": {"id": acme["id"], "status": status}}, "updateCallOffStatus")
    ok(auto, CALL_OFF_STATUS, {"input": {"id": bolt["id"], "status": "REJECTED"}}, "updateCallOffStatus")
    today = datetime.now(UTC).date()
    query = "query($f: Date!, $t: Date!) { supplierPerformance(from: $f, to: $t) { supplier { id } callOffs onTimeRate meanLeadTimeHours rejected } }"
    found = auto.data(query, {"f": today.isoformat(), "t": (today + timedelta(days=10)).isoformat()})[
        "supplierPerformance"
    ]
    by_id = {row["supplier"]["id"]: row for row in found}
    assert by_id[supply["acme"]["id"]]["callOffs"] == 1 and by_id[supply["acme"]["id"]]["onTimeRate"] == "1.0000"
    assert by_id[supply["bolt"]["id"]]["rejected"] == 1 and by_id[supply["bolt"]["id"]]["onTimeRate"] is None
    assert auto.error_codes(query, {"f": today.isoformat(), "t": "2000-01-01"}) == ["BAD_USER_INPUT"]


def test_another_tenant_sees_no_supply(auto: Any, other_auto: Any, supply: dict[str, Any]) -> None:
    order = place_order(auto, supply)
    call_off = order["callOffs"][0]
    assert other_auto.data("{ suppliers { id } }") == {"suppliers": []}
    assert other_auto.data(CALL_OFFS)["callOffs"]["totalCount"] == 0
    for raw in (call_off["id"], order["id"], supply["acme"]["id"], supply["seat"]["id"]):
        assert other_auto.error_codes("query($id: ID!) { node(id: $id) { id } }", {"id": raw}) == ["NOT_FOUND"]
    moved = other_auto.data(CALL_OFF_STATUS, {"input": {"id": call_off["id"], "status": "SENT"}})["updateCallOffStatus"]
    assert moved["userErrors"][0]["code"] == "NOT_FOUND"
    data = {"supplierId": supply["acme"]["id"], "partNumber": "Z", "name": "Z", "leadTimeHours": 1}
    assert user_error(other_auto, PART, {"input": data}, "createPart")["code"] == "NOT_FOUND"
    today = datetime.now(UTC).date().isoformat()
    assert other_auto.data("query($d: Date!) { supplierPerformance(from: $d, to: $d) { callOffs } }", {"d": today}) == {
        "supplierPerformance": []
    }


PERFORMANCE = """query($f: Date!, $t: Date!) { supplierPerformance(from: $f, to: $t) {
  supplier { id code name } callOffs onTimeRate meanLeadTimeHours rejected } }"""


def test_supplier_performance_is_one_statement_for_any_number_of_suppliers(
    auto: Any, other_auto: Any, supply: dict[str, Any]
) -> None:
    order = place_order(auto, supply)
    acme = next(c for c in order["callOffs"] if c["supplier"]["code"] == "ACME")
    for status in ("SENT", "CONFIRMED", "SHIPPED", "DELIVERED"):
        ok(auto, CALL_OFF_STATUS, {"input": {"id": acme["id"], "status": status}}, "updateCallOffStatus")
    today = datetime.now(UTC).date()
    period = {"f": today.isoformat(), "t": (today + timedelta(days=10)).isoformat()}
    two = auto.data(PERFORMANCE, period)["supplierPerformance"]
    assert auto.last_statements == 1
    for code in ("CAST", "DRUM", "EDGE"):
        ok(auto, SUPPLIER, {"input": {"code": code, "name": code.title(), "jitWindowMinutes": 30}}, "createSupplier")
    five = auto.data(PERFORMANCE, period)["supplierPerformance"]
    assert auto.last_statements == 1
    # By supplier code, each supplier with the service's figures (suppliers without call-offs too).
    assert [row["supplier"]["code"] for row in five] == ["ACME", "BOLT", "CAST", "DRUM", "EDGE"]
    assert five[:2] == two
    assert five[0] | {"meanLeadTimeHours": None} == {
        "supplier": {"id": supply["acme"]["id"], "code": "ACME", "name": "Acme Seats"},
        "callOffs": 1, "onTimeRate": "1.0000", "meanLeadTimeHours": None, "rejected": 0,
    }  # fmt: skip
    assert five[0]["meanLeadTimeHours"] is not None
    assert five[2] == {
        "supplier": five[2]["supplier"], "callOffs": 0, "onTimeRate": None, "meanLeadTimeHours": None, "rejected": 0,
    }  # fmt: skip
    before = {"f": "2000-01-01", "t": "2000-01-31"}
    assert [row["callOffs"] for row in auto.data(PERFORMANCE, before)["supplierPerformance"]] == [0] * 5
    assert auto.error_codes(PERFORMANCE, {"f": period["t"], "t": period["f"]}) == ["BAD_USER_INPUT"]
    # Another tenant: its own suppliers only (none), whatever the period.
    assert other_auto.data(PERFORMANCE, period) == {"supplierPerformance": []}
    assert other_auto.last_statements == 1
