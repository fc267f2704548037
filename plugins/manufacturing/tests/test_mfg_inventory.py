"""Warehouses, the stock ledger, levels, thresholds and low-stock alerts, and inventoryChanged."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest
from mfg_helpers import (
    CREATE_WAREHOUSE,
    INVENTORY_CHANGED,
    LEVEL,
    LEVELS,
    MOVE,
    MOVEMENTS,
    ORDERS,
    THRESHOLD,
    add_member,
    count_rows,
    create_product,
    default_warehouse,
    enable,
    level,
    move,
    ok,
    refused,
)
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from saas.plugin_api import to_global_id as global_id
from saas.plugin_api.testing import collect_events


def _move_input(product: str, warehouse: str, kind: str, quantity: int) -> dict[str, Any]:
    return {"input": {"productId": product, "warehouseId": warehouse, "kind": kind, "quantity": quantity}}


def test_ledger_math(mfg: Any) -> None:
    product, warehouse = create_product(mfg), default_warehouse(mfg)
    first = move(mfg, product, warehouse, "RECEIPT", 10, reference="DN-1")
    assert first["movement"] | {"id": None, "actor": None} == {
        "id": None, "kind": "RECEIPT", "quantity": 10, "onHandAfter": 10, "reservedAfter": 0, "reference": "DN-1",
        "actor": None,
    }  # fmt: skip
    assert first["stockLevel"]["onHand"] == 10 and first["stockLevel"]["available"] == 10
    move(mfg, product, warehouse, "ISSUE", 3)
    move(mfg, product, warehouse, "ADJUSTMENT", -2)
    last = move(mfg, product, warehouse, "ADJUSTMENT", 5)
    assert last["stockLevel"] | {"productId": None, "warehouseId": None} == {
        "productId": None, "warehouseId": None, "onHand": 10, "reserved": 0, "available": 10, "lowStockThreshold": None,
    }  # fmt: skip
    ledger = mfg.data(MOVEMENTS, {"filter": {"productId": product}})["stockMovements"]
    assert [(n["node"]["kind"], n["node"]["quantity"], n["node"]["onHandAfter"]) for n in ledger["edges"]] == [
        ("ADJUSTMENT", 5, 10), ("ADJUSTMENT", -2, 5), ("ISSUE", 3, 7), ("RECEIPT", 10, 10),
    ]  # fmt: skip
    assert level(mfg, product) == {
        **last["stockLevel"],
        "product": level(mfg, product)["product"],
        "warehouse": {"code": "MAIN"},
    }


def test_issue_beyond_available_is_refused_and_writes_nothing(mfg: Any, tenant: Any) -> None:
    product, warehouse = create_product(mfg), default_warehouse(mfg)
    move(mfg, product, warehouse, "RECEIPT", 4)
    before = count_rows(tenant, "mfg_stock_movements")
    assert refused(mfg, MOVE, _move_input(product, warehouse, "ISSUE", 5), "recordStockMovement") == [
        (["input", "quantity"], "INSUFFICIENT_STOCK")
    ]
    assert refused(mfg, MOVE, _move_input(product, warehouse, "ADJUSTMENT", -5), "recordStockMovement") == [
        (["input", "quantity"], "INSUFFICIENT_STOCK")
    ]
    other = create_product(mfg)  # never received: no level yet
    assert refused(mfg, MOVE, _move_input(other, warehouse, "ISSUE", 1), "recordStockMovement") == [
        (["input", "quantity"], "INSUFFICIENT_STOCK")
    ]
    assert count_rows(tenant, "mfg_stock_movements") == before
    assert level(mfg, product)["onHand"] == 4


def test_bad_movements_are_user_errors(mfg: Any) -> None:
    product, warehouse = create_product(mfg), default_warehouse(mfg)
    cases = [
        (_move_input(product, warehouse, "RECEIPT", 0), ["input", "quantity"], "INVALID"),
        (_move_input(product, warehouse, "RECEIPT", -3), ["input", "quantity"], "INVALID"),
        (_move_input(product, warehouse, "ADJUSTMENT", 0), ["input", "quantity"], "INVALID"),
        (_move_input(global_id("Product", "00000000-0000-0000-0000-000000000001"), warehouse, "RECEIPT", 1),
         ["input", "productId"], "NOT_FOUND"),
        (_move_input(product, "bm9wZQ==", "RECEIPT", 1), ["input", "warehouseId"], "NOT_FOUND"),
    ]  # fmt: skip
    for variables, field, code in cases:
        assert refused(mfg, MOVE, variables, "recordStockMovement") == [(field, code)], variables


MAX_INT = 2**31 - 1  # GraphQL's Int


def test_stock_never_grows_past_what_int_can_show(mfg: Any, tenant: Any) -> None:
    """Three receipts of 1,000,000,000 broke stockLevels, stockMovements and orders (data: null)."""
    product, warehouse = create_product(mfg), default_warehouse(mfg)
    move(mfg, product, warehouse, "RECEIPT", 1_000_000_000)
    move(mfg, product, warehouse, "ADJUSTMENT", 1_000_000_000)
    before = count_rows(tenant, "mfg_stock_movements")
    for kind in ("RECEIPT", "ADJUSTMENT"):
        variables = _move_input(product, warehouse, kind, 1_000_000_000)
        assert refused(mfg, MOVE, variables, "recordStockMovement") == [(["input", "quantity"], "STOCK_LIMIT_EXCEEDED")]
    assert count_rows(tenant, "mfg_stock_movements") == before
    assert move(mfg, product, warehouse, "RECEIPT", MAX_INT - 2_000_000_000)["stockLevel"]["onHand"] == MAX_INT
    assert refused(mfg, MOVE, _move_input(product, warehouse, "RECEIPT", 1), "recordStockMovement") == [
        (["input", "quantity"], "STOCK_LIMIT_EXCEEDED")
    ]
    # Every list still answers.
    assert level(mfg, product)["available"] == MAX_INT
    assert mfg.data(MOVEMENTS, {"filter": {"productId": product}})["stockMovements"]["totalCount"] == 3
    assert mfg.data(ORDERS)["orders"]["totalCount"] == 0


def test_the_database_refuses_stock_that_int_cannot_show(mfg: Any, tenant: Any) -> None:
    product, warehouse = create_product(mfg), default_warehouse(mfg)
    move(mfg, product, warehouse, "RECEIPT", 1)
    with pytest.raises(IntegrityError, match="on_hand_representable"), tenant.session() as session:
        session.execute(text("UPDATE mfg_stock_levels SET on_hand = :big"), {"big": MAX_INT + 1})
    assert level(mfg, product)["onHand"] == 1


def test_only_inventory_writers_record(mfg: Any, tenant: Any) -> None:
    product, warehouse = create_product(mfg), default_warehouse(mfg)
    for role in ("sales", "viewer"):
        member = add_member(mfg, tenant, role)
        assert member.error_codes(MOVE, _move_input(product, warehouse, "RECEIPT", 1)) == ["FORBIDDEN"]
        assert member.data(LEVELS)["stockLevels"]["totalCount"] == 0  # reading is allowed
    manager = add_member(mfg, tenant, "manager")
    assert move(manager, product, warehouse, "RECEIPT", 2)["stockLevel"]["onHand"] == 2


def test_warehouses(mfg: Any) -> None:
    main = default_warehouse(mfg)
    second = ok(mfg, CREATE_WAREHOUSE, {"input": {"code": "north-1", "name": "North"}}, "createWarehouse")
    assert second["warehouse"]["isDefault"] is False
    assert refused(mfg, CREATE_WAREHOUSE, {"input": {"code": "north-1", "name": "Again"}}, "createWarehouse") == [
        (["input", "code"], "TAKEN")
    ]
    assert refused(mfg, CREATE_WAREHOUSE, {"input": {"code": "bad code", "name": "X"}}, "createWarehouse") == [
        (["input", "code"], "INVALID")
    ]
    product = create_product(mfg)
    move(mfg, product, main, "RECEIPT", 5)
    move(mfg, product, second["warehouse"]["id"], "RECEIPT", 2)
    levels = mfg.data(LEVELS, {"filter": {"productIds": [product]}})["stockLevels"]
    assert sorted(e["node"]["onHand"] for e in levels["edges"]) == [2, 5]
    assert level(mfg, product, main)["onHand"] == 5


def test_levels_page_in_constant_statements(mfg: Any) -> None:
    warehouse = default_warehouse(mfg)
    products = [create_product(mfg) for _ in range(5)]
    for product in products:
        move(mfg, product, warehouse, "RECEIPT", 1)
    first = mfg.data(LEVELS, {"first": 2})["stockLevels"]
    small = mfg.last_statements
    rest = mfg.data(LEVELS, {"first": 10, "after": first["pageInfo"]["endCursor"]})["stockLevels"]
    assert first["totalCount"] == 5 and len(first["edges"]) == 2 and len(rest["edges"]) == 3
    mfg.data(LEVELS, {"first": 5})
    assert mfg.last_statements == small  # product and warehouse come through loaders


def test_low_stock_notifies_and_emits_an_event_once(owner: Any, tenant: Any) -> None:
    mfg = enable(owner, {"lowStockThreshold": 5})
    product, warehouse = create_product(mfg, "LOW-1"), default_warehouse(mfg)
    move(mfg, product, warehouse, "RECEIPT", 6)
    move(mfg, product, warehouse, "ISSUE", 1)  # 5 left: not below 5
    assert _alerts(tenant) == (0, 0)
    move(mfg, product, warehouse, "ISSUE", 2)  # 3 left: crosses below
    assert _alerts(tenant) == (1, 1)
    move(mfg, product, warehouse, "ISSUE", 1)  # still below: no second alert
    assert _alerts(tenant) == (1, 1)
    below = mfg.data(LEVELS, {"filter": {"belowThreshold": True}})["stockLevels"]
    assert [e["node"]["productId"] for e in below["edges"]] == [product]
    with tenant.session() as session:
        event = session.execute(text("SELECT payload FROM outbox_events WHERE type = 'mfg.stock.low'")).scalar_one()
        title = session.execute(text("SELECT title FROM notifications WHERE kind = 'mfg.stock.low'")).scalar_one()
    assert event["stockLevel"]["productId"] == product and event["stockLevel"]["warehouseId"] == warehouse
    assert event["stockLevel"]["available"] == 3 and event["threshold"] == 5
    assert title == "Low stock: LOW-1 at MAIN"


def test_the_low_stock_notification_carries_the_apis_shapes(owner: Any, tenant: Any) -> None:
    """`notifications { data }` is the API too: global ids and camelCase, the event's stock level."""
    mfg = enable(owner, {"lowStockThreshold": 5})
    product, warehouse = create_product(mfg, "NOTE-1"), default_warehouse(mfg)
    move(mfg, product, warehouse, "RECEIPT", 6)
    move(mfg, product, warehouse, "ISSUE", 3)
    edges = mfg.data("{ notifications { edges { node { kind data } } } }")["notifications"]["edges"]
    [data] = [e["node"]["data"] for e in edges if e["node"]["kind"] == "mfg.stock.low"]
    shown = level(mfg, product)
    stock_level = {key: shown[key] for key in LEVEL.split()}
    assert stock_level["productId"] == product and stock_level["warehouseId"] == warehouse
    assert data == {"stockLevel": stock_level, "threshold": 5, "sku": "NOTE-1", "warehouseCode": "MAIN"}
    with tenant.session() as session:
        event = session.execute(text("SELECT payload FROM outbox_events WHERE type = 'mfg.stock.low'")).scalar_one()
    assert event == {"stockLevel": stock_level, "threshold": 5}


def test_a_level_threshold_overrides_the_setting(mfg: Any, tenant: Any) -> None:
    product, warehouse = create_product(mfg), default_warehouse(mfg)
    payload = ok(
        mfg,
        THRESHOLD,
        {"input": {"productId": product, "warehouseId": warehouse, "threshold": 10}},
        "setLowStockThreshold",
    )
    assert payload["stockLevel"]["lowStockThreshold"] == 10 and payload["stockLevel"]["onHand"] == 0
    move(mfg, product, warehouse, "RECEIPT", 12)
    move(mfg, product, warehouse, "ISSUE", 3)
    assert _alerts(tenant) == (1, 1)
    assert refused(
        mfg,
        THRESHOLD,
        {"input": {"productId": product, "warehouseId": warehouse, "threshold": -1}},
        "setLowStockThreshold",
    ) == [(["input", "threshold"], "INVALID")]


def _alerts(tenant: Any) -> tuple[int, int]:
    return (
        count_rows(tenant, "notifications", "kind = 'mfg.stock.low'"),
        count_rows(tenant, "outbox_events", "type = 'mfg.stock.low'"),
    )


def test_inventory_changed_streams_changes_of_the_chosen_products_to_the_tenant_only(mfg: Any, other_mfg: Any) -> None:
    watched, ignored, warehouse = create_product(mfg), create_product(mfg), default_warehouse(mfg)

    def act() -> None:
        move(mfg, watched, warehouse, "RECEIPT", 4)
        move(mfg, ignored, warehouse, "RECEIPT", 9)
        move(mfg, watched, warehouse, "ISSUE", 1)

    mine = collect_events(mfg, INVENTORY_CHANGED, {"p": [watched]}, "mfg.inventory", act)
    changes = [p["data"]["inventoryChanged"] for p in mine]
    assert [(c["kind"], c["quantity"], c["onHand"], c["available"]) for c in changes] == [
        ("RECEIPT", 4, 4, 4), ("ISSUE", 1, 3, 3),
    ]  # fmt: skip
    everything = collect_events(mfg, INVENTORY_CHANGED, None, "mfg.inventory", act)
    assert len(everything) == 3
    theirs = collect_events(other_mfg, INVENTORY_CHANGED, None, "mfg.inventory", act)
    assert theirs == []


def test_another_tenant_sees_no_stock_and_cannot_use_its_ids(mfg: Any, other_mfg: Any) -> None:
    product, warehouse = create_product(mfg), default_warehouse(mfg)
    move(mfg, product, warehouse, "RECEIPT", 5)
    assert other_mfg.data(LEVELS)["stockLevels"]["totalCount"] == 0
    assert other_mfg.data(MOVEMENTS)["stockMovements"]["totalCount"] == 0
    assert other_mfg.error_codes("query($id: ID!) { warehouse(id: $id) { id } }", {"id": warehouse}) == ["NOT_FOUND"]
    theirs = default_warehouse(other_mfg)
    assert refused(other_mfg, MOVE, _move_input(product, theirs, "RECEIPT", 1), "recordStockMovement") == [
        (["input", "productId"], "NOT_FOUND")
    ]
    mine = create_product(other_mfg)
    assert refused(other_mfg, MOVE, _move_input(mine, warehouse, "RECEIPT", 1), "recordStockMovement") == [
        (["input", "warehouseId"], "NOT_FOUND")
    ]
    assert level(mfg, product)["onHand"] == 5


LEDGER_PAGE = """query($first: Int, $after: String, $filter: MfgStockMovementFilterInput) {
  stockMovements(first: $first, after: $after, filter: $filter) {
    edges { cursor node { id kind quantity } } pageInfo { hasNextPage endCursor }
  }
}"""


def test_ledger_cursors_page_without_revealing_a_number_shared_with_other_tenants(mfg: Any, other_mfg: Any) -> None:
    """The ledger's order is a sequence shared by every tenant; its cursors name a movement instead."""
    product, warehouse = create_product(mfg), default_warehouse(mfg)
    for quantity in (1, 2, 3, 4, 5):
        move(mfg, product, warehouse, "RECEIPT", quantity)
    seen, after, cursors = [], None, []
    while True:
        page = mfg.data(LEDGER_PAGE, {"first": 2, "after": after, "filter": {"productId": product}})["stockMovements"]
        seen += [edge["node"]["quantity"] for edge in page["edges"]]
        cursors += [edge["cursor"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [5, 4, 3, 2, 1]
    for cursor in cursors:
        values = orjson.loads(base64.b64decode(cursor))
        assert not any(isinstance(value, int) for value in values), values
    # Another tenant's cursor reads nothing of this ledger.
    other = other_mfg.data(LEDGER_PAGE, {"first": 2, "after": cursors[0]})["stockMovements"]
    assert other["edges"] == [] and other["pageInfo"]["hasNextPage"] is False


COMPILED_LEVELS = f"""query($first: Int, $after: String, $filter: MfgStockLevelFilterInput) {{
  stockLevels(first: $first, after: $after, filter: $filter) {{
    totalCount pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    edges {{ cursor node {{ {LEVEL} warehouse {{ id code }} }} }} }}
}}"""
# The same selection with the product, which the compiled read does not map: `list_levels` answers.
RESOLVED_LEVELS = COMPILED_LEVELS.replace("warehouse { id code }", "warehouse { id code } product { sku }")
COMPILED_MOVEMENTS = """query($first: Int, $after: String, $filter: MfgStockMovementFilterInput) {
  stockMovements(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id kind quantity onHandAfter reservedAfter reference note productId warehouseId
      orderId shipmentId actor createdAt } } }
}"""
RESOLVED_MOVEMENTS = COMPILED_MOVEMENTS.replace("actor createdAt", "actor createdAt product { sku }")


def _without_product(page: dict[str, Any]) -> dict[str, Any]:
    edges = [{**edge, "node": {k: v for k, v in edge["node"].items() if k != "product"}} for edge in page["edges"]]
    return {**page, "edges": edges}


def _levels(client: Any, query: str, **variables: Any) -> dict[str, Any]:
    return client.data(query, variables)["stockLevels"]  # type: ignore[no-any-return]


def test_stock_levels_are_one_statement_at_any_page_size_with_the_services_answer(mfg: Any) -> None:
    main = default_warehouse(mfg)
    north = ok(mfg, CREATE_WAREHOUSE, {"input": {"code": "north-2", "name": "North"}}, "createWarehouse")
    products = [create_product(mfg) for _ in range(4)]
    for index, product in enumerate(products):
        move(mfg, product, main, "RECEIPT", 3 + index)
        move(mfg, product, north["warehouse"]["id"], "RECEIPT", 1)
    ok(
        mfg,
        THRESHOLD,
        {"input": {"productId": products[0], "warehouseId": main, "threshold": 10}},
        "setLowStockThreshold",
    )

    two = _levels(mfg, COMPILED_LEVELS, first=2)
    assert mfg.last_statements == 1
    eight = _levels(mfg, COMPILED_LEVELS, first=8)
    assert mfg.last_statements == 1
    assert two["totalCount"] == eight["totalCount"] == 8 and len(eight["edges"]) == 8
    assert [e["node"]["productId"] for e in two["edges"]] == [e["node"]["productId"] for e in eight["edges"][:2]]
    assert len({e["node"]["warehouse"]["code"] for e in eight["edges"]}) == 2
    # The compiled page is the services' page, cursors and page info included, page after page.
    after = None
    for _ in range(4):
        compiled = _levels(mfg, COMPILED_LEVELS, first=3, after=after)
        assert mfg.last_statements == 1
        assert _without_product(_levels(mfg, RESOLVED_LEVELS, first=3, after=after)) == compiled
        if not compiled["pageInfo"]["hasNextPage"]:
            break
        after = compiled["pageInfo"]["endCursor"]
    for flt in (
        {"belowThreshold": True},
        {"belowThreshold": False},
        {"productIds": products[:2], "warehouseIds": [main]},
    ):
        compiled = _levels(mfg, COMPILED_LEVELS, first=20, filter=flt)
        assert mfg.last_statements == 1
        assert _without_product(_levels(mfg, RESOLVED_LEVELS, first=20, filter=flt)) == compiled, flt
    below = _levels(mfg, COMPILED_LEVELS, first=20, filter={"belowThreshold": True})
    assert [(e["node"]["productId"], e["node"]["warehouseId"]) for e in below["edges"]] == [(products[0], main)]


def test_the_tenant_threshold_setting_decides_compiled_low_stock(owner: Any) -> None:
    mfg = enable(owner, {"lowStockThreshold": 4})
    warehouse = default_warehouse(mfg)
    low, enough = create_product(mfg), create_product(mfg)
    move(mfg, low, warehouse, "RECEIPT", 3)
    move(mfg, enough, warehouse, "RECEIPT", 4)
    below = _levels(mfg, COMPILED_LEVELS, first=10, filter={"belowThreshold": True})
    assert mfg.last_statements == 1
    assert [e["node"]["productId"] for e in below["edges"]] == [low]
    assert _without_product(_levels(mfg, RESOLVED_LEVELS, first=10, filter={"belowThreshold": True})) == below
    above = _levels(mfg, COMPILED_LEVELS, first=10, filter={"belowThreshold": False})
    assert [e["node"]["productId"] for e in above["edges"]] == [enough]


def test_stock_movements_are_one_statement_at_any_page_size_with_the_services_answer(mfg: Any) -> None:
    product, warehouse = create_product(mfg), default_warehouse(mfg)
    for quantity in (1, 2, 3, 4, 5, 6):
        move(mfg, product, warehouse, "RECEIPT", quantity, reference=f"DN-{quantity}")
    move(mfg, product, warehouse, "ADJUSTMENT", -2, note="count")
    two = mfg.data(COMPILED_MOVEMENTS, {"first": 2})["stockMovements"]
    assert mfg.last_statements == 1
    seven = mfg.data(COMPILED_MOVEMENTS, {"first": 7})["stockMovements"]
    assert mfg.last_statements == 1
    assert [e["node"]["quantity"] for e in seven["edges"]] == [-2, 6, 5, 4, 3, 2, 1]
    assert two["edges"] == seven["edges"][:2] and two["totalCount"] == seven["totalCount"] == 7
    after = None
    for _ in range(4):
        variables = {"first": 3, "after": after, "filter": {"productId": product, "kinds": ["RECEIPT", "ADJUSTMENT"]}}
        compiled = mfg.data(COMPILED_MOVEMENTS, variables)["stockMovements"]
        assert mfg.last_statements == 1
        assert _without_product(mfg.data(RESOLVED_MOVEMENTS, variables)["stockMovements"]) == compiled
        if not compiled["pageInfo"]["hasNextPage"]:
            break
        after = compiled["pageInfo"]["endCursor"]
    receipts = mfg.data(COMPILED_MOVEMENTS, {"first": 10, "filter": {"kinds": ["ADJUSTMENT"]}})["stockMovements"]
    assert [e["node"]["note"] for e in receipts["edges"]] == ["count"]


def test_compiled_stock_lists_show_another_tenant_nothing(mfg: Any, other_mfg: Any) -> None:
    product, warehouse = create_product(mfg), default_warehouse(mfg)
    move(mfg, product, warehouse, "RECEIPT", 5)
    move(mfg, product, warehouse, "RECEIPT", 6)
    levels = _levels(mfg, COMPILED_LEVELS, first=1)
    movements = mfg.data(COMPILED_MOVEMENTS, {"first": 1})["stockMovements"]
    assert levels["totalCount"] == 1 and movements["totalCount"] == 2
    theirs = _levels(other_mfg, COMPILED_LEVELS, first=5, filter={"productIds": [product], "warehouseIds": [warehouse]})
    assert theirs["totalCount"] == 0 and theirs["edges"] == []
    after_mine = _levels(other_mfg, COMPILED_LEVELS, first=5, after=levels["pageInfo"]["endCursor"])
    assert after_mine["edges"] == []
    ledger = mfg.data(COMPILED_MOVEMENTS, {"first": 5, "filter": {"productId": product}})["stockMovements"]
    assert other_mfg.data(COMPILED_MOVEMENTS, {"first": 5, "filter": {"productId": product}})["stockMovements"] == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "hasPreviousPage": False, "startCursor": None, "endCursor": None},
        "edges": [],
    }
    cursor = ledger["edges"][0]["cursor"]
    assert other_mfg.data(COMPILED_MOVEMENTS, {"first": 5, "after": cursor})["stockMovements"]["edges"] == []
