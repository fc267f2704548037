"""Orders: atomic reservations (never oversold), cancellation, portal access, visibility, isolation."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from mfg_helpers import (
    CANCEL,
    MOVE,
    ORDER_QUERY,
    ORDERS,
    PLACE,
    PORTAL_ACCESS,
    REVOKE_PORTAL,
    add_member,
    count_rows,
    create_contact,
    create_customer,
    create_product,
    default_warehouse,
    level,
    move,
    ok,
    order_input,
    place,
    portal_client,
    refused,
    run_concurrently,
)

from saas.plugin_api import decode_id


def test_placing_an_order_reserves_its_stock(mfg: Any, stocked: dict[str, Any]) -> None:
    product = stocked["product"]
    second = create_product(mfg, price="2.50")
    move(mfg, second, stocked["warehouse"], "RECEIPT", 5)
    customer = create_customer(mfg)
    payload = place(mfg, [(product, 2), (second, 4), (product, 1)], customer, note="asap")
    assert payload["userErrors"] == []
    order = payload["order"]
    assert (order["status"], order["total"], order["currency"], order["customerId"]) == (
        "PLACED",
        "40.00",
        "EUR",
        customer,
    )
    assert order["placedThroughPortal"] is False
    assert [(line["productId"], line["quantity"], line["lineTotal"]) for line in order["lines"]] == [
        (product, 3, "30.00"), (second, 4, "10.00"),
    ]  # fmt: skip
    assert (level(mfg, product)["onHand"], level(mfg, product)["reserved"], level(mfg, product)["available"]) == (
        10,
        3,
        7,
    )
    assert level(mfg, second)["available"] == 1


def test_one_short_line_rolls_the_whole_order_back(mfg: Any, stocked: dict[str, Any], tenant: Any) -> None:
    product = stocked["product"]
    short = create_product(mfg)
    move(mfg, short, stocked["warehouse"], "RECEIPT", 1)
    customer = create_customer(mfg)
    payload = place(mfg, [(product, 4), (short, 2)], customer)
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["input", "lines", "1", "quantity"], "INSUFFICIENT_STOCK")
    ]
    assert payload["order"] is None
    assert level(mfg, product)["reserved"] == 0 and level(mfg, short)["reserved"] == 0
    assert count_rows(tenant, "mfg_orders") == 0
    assert count_rows(tenant, "mfg_stock_movements", "kind = 'reservation'") == 0


def test_bad_orders_are_user_errors(mfg: Any, stocked: dict[str, Any]) -> None:
    product, customer = stocked["product"], create_customer(mfg)
    inactive = create_product(mfg)
    mfg.data(
        "mutation($id: ID!) { updateProduct(input: {id: $id, version: 1, active: false}) { product { id } } }",
        {"id": inactive},
    )
    usd = create_product(mfg, currency="USD")
    cases = [
        (order_input([], customer), ["input", "lines"], "REQUIRED"),
        (order_input([(product, 0)], customer), ["input", "lines", "0", "quantity"], "INVALID"),
        (order_input([(product, 1)]), ["input", "customerId"], "REQUIRED"),
        (
            order_input([(product, 1), (inactive, 1)], customer),
            ["input", "lines", "1", "productId"],
            "PRODUCT_INACTIVE",
        ),
        (order_input([(product, 1), (usd, 1)], customer), ["input", "lines"], "CURRENCY_MISMATCH"),
        (order_input([(product, 1)], customer, warehouseId="bm9wZQ=="), ["input", "warehouseId"], "NOT_FOUND"),
        (order_input([("bm9wZQ==", 1)], customer), ["input", "lines", "0", "productId"], "NOT_FOUND"),
    ]
    for variables, field, code in cases:
        assert refused(mfg, PLACE, {"input": variables}, "placeOrder") == [(field, code)], variables
    assert level(mfg, product)["reserved"] == 0


def test_cancel_releases_the_reservation(mfg: Any, stocked: dict[str, Any]) -> None:
    product = stocked["product"]
    order = place(mfg, [(product, 6)], create_customer(mfg))["order"]
    assert level(mfg, product)["available"] == 4
    cancelled = ok(mfg, CANCEL, {"input": {"id": order["id"], "version": order["version"]}}, "cancelOrder")["order"]
    assert cancelled["status"] == "CANCELLED"
    assert (level(mfg, product)["reserved"], level(mfg, product)["available"]) == (0, 10)
    assert refused(mfg, CANCEL, {"input": {"id": order["id"]}}, "cancelOrder") == [
        (["input", "id"], "ORDER_NOT_CANCELLABLE")
    ]
    assert mfg.error_codes(CANCEL, {"input": {"id": order["id"], "version": 1}}) == ["CONFLICT"]


def test_fifty_concurrent_orders_for_the_last_ten_units(mfg: Any, stocked: dict[str, Any]) -> None:
    product, warehouse = stocked["product"], stocked["warehouse"]
    customer = create_customer(mfg)
    results = run_concurrently(mfg, PLACE, [{"input": order_input([(product, 1)], customer)} for _ in range(50)])
    assert all("errors" not in r for r in results), [r for r in results if "errors" in r][:1]
    payloads = [r["data"]["placeOrder"] for r in results]
    successes = [p for p in payloads if p["order"] is not None]
    failures = [p for p in payloads if p["order"] is None]
    assert len(successes) == 10
    assert {e["code"] for p in failures for e in p["userErrors"]} == {"INSUFFICIENT_STOCK"}
    stock = level(mfg, product, warehouse)
    assert (stock["onHand"], stock["reserved"], stock["available"]) == (10, 10, 0)
    assert mfg.data(ORDERS)["orders"]["totalCount"] == 10


def test_concurrent_multi_line_orders_never_deadlock_or_oversell(mfg: Any) -> None:
    warehouse = default_warehouse(mfg)
    first, second = create_product(mfg), create_product(mfg)
    move(mfg, first, warehouse, "RECEIPT", 15)
    move(mfg, second, warehouse, "RECEIPT", 15)
    customer = create_customer(mfg)
    variables = [
        {"input": order_input([(first, 1), (second, 1)] if i % 2 else [(second, 1), (first, 1)], customer)}
        for i in range(30)
    ]
    results = run_concurrently(mfg, PLACE, variables)
    assert all("errors" not in r for r in results), [r for r in results if "errors" in r][:1]
    successes = sum(1 for r in results if r["data"]["placeOrder"]["order"])
    assert successes == 15
    assert level(mfg, first)["reserved"] == 15 and level(mfg, second)["reserved"] == 15


def test_portal_access_is_limited_to_the_contacts_customer(mfg: Any, stocked: dict[str, Any]) -> None:
    product = stocked["product"]
    mine, other = create_customer(mfg, "Mine"), create_customer(mfg, "Other")
    portal, access = portal_client(mfg, create_contact(mfg, mine))
    assert access["customer"]["id"] == mine and access["revokedAt"] is None
    placed = place(portal, [(product, 2)])
    assert placed["userErrors"] == [] and placed["order"]["customerId"] == mine
    assert placed["order"]["placedThroughPortal"] is True
    theirs = place(mfg, [(product, 1)], other)["order"]
    # Another customer's order does not exist for the portal.
    assert portal.error_codes(ORDER_QUERY, {"id": theirs["id"]}) == ["NOT_FOUND"]
    assert portal.error_codes(CANCEL, {"input": {"id": theirs["id"]}}) == ["NOT_FOUND"]
    listed = portal.data(ORDERS)["orders"]
    assert [e["node"]["id"] for e in listed["edges"]] == [placed["order"]["id"]]
    assert refused(portal, PLACE, {"input": order_input([(product, 1)], other)}, "placeOrder") == [
        (["input", "customerId"], "NOT_FOUND")
    ]
    # Staff operations stay closed; the core's customer data too.
    assert portal.error_codes(
        MOVE, {"input": {"productId": product, "warehouseId": stocked["warehouse"], "kind": "RECEIPT", "quantity": 1}}
    ) == ["FORBIDDEN"]
    assert portal.error_codes("{ customers { totalCount } }") == ["FORBIDDEN"]
    assert portal.error_codes(PORTAL_ACCESS, {"input": {"contactId": create_contact(mfg, other)}}) == ["FORBIDDEN"]
    # The portal cancels its own order; the reservation goes back.
    assert ok(portal, CANCEL, {"input": {"id": placed["order"]["id"]}}, "cancelOrder")["order"]["status"] == "CANCELLED"
    assert level(mfg, product)["reserved"] == 1


# What a portal token reaches: the plugin's fields and the core's (the catalog, `me`).
PORTAL_READS = [ORDERS, "{ products { totalCount } }", "{ me { permissions } }"]


def _refused_everywhere(portal: Any, product: str) -> None:
    for query in PORTAL_READS:
        assert portal.error_codes(query) == ["UNAUTHENTICATED"], query
    assert portal.error_codes(PLACE, {"input": order_input([(product, 1)])}) == ["UNAUTHENTICATED"]


def test_revoked_portal_access_stops_the_token_everywhere(
    mfg: Any, other_mfg: Any, stocked: dict[str, Any], tenant: Any
) -> None:
    portal, access = portal_client(mfg, create_contact(mfg, create_customer(mfg)))
    other_portal, _ = portal_client(other_mfg, create_contact(other_mfg, create_customer(other_mfg)))
    for query in PORTAL_READS:
        assert "errors" not in portal.execute(query), query
    ok(mfg, REVOKE_PORTAL, {"input": {"id": access["id"]}}, "revokePortalAccess")
    _refused_everywhere(portal, stocked["product"])
    assert count_rows(tenant, "mfg_orders") == 0
    # Another tenant's portal token is not touched by it.
    assert other_portal.data(ORDERS)["orders"]["totalCount"] == 0


@pytest.mark.parametrize("deleted", ["contact", "customer"])
def test_deleting_the_contact_or_customer_ends_the_portal_token(
    mfg: Any, stocked: dict[str, Any], tenant: Any, deleted: str
) -> None:
    """At once: the core's credential check refuses a token whose contact or customer is gone."""
    product = stocked["product"]
    customer = create_customer(mfg)
    contact = create_contact(mfg, customer)
    portal, _ = portal_client(mfg, contact)
    assert place(portal, [(product, 1)])["userErrors"] == []
    if deleted == "contact":
        mfg.data("mutation($id: ID!) { deleteContact(input: {id: $id}) { contact { id } } }", {"id": contact})
    else:
        mfg.data("mutation($id: ID!) { deleteCustomer(input: {id: $id}) { customer { id } } }", {"id": customer})
    _refused_everywhere(portal, product)
    assert level(mfg, product)["reserved"] == 1  # no stock was reserved for the deleted customer


def test_portal_tokens_issued_before_the_move_are_refused(mfg: Any, stocked: dict[str, Any], saas_runtime: Any) -> None:
    """A token of the plugin's own former portal (scope key `mfg_portal_access`) no longer works anywhere."""
    from types import SimpleNamespace

    from saas.plugin_api import issue_scoped_token

    customer = create_customer(mfg)
    contact = create_contact(mfg, customer)
    _, access = portal_client(mfg, contact)
    staff = saas_runtime.authenticate(f"Bearer {mfg.token}")
    context = SimpleNamespace(runtime=saas_runtime, require_principal=lambda: staff)
    scope = {"customer_id": decode_id(customer, "Customer").hex, "contact_id": decode_id(contact, "Contact").hex}
    scope = {key: str(uuid.UUID(value)) for key, value in scope.items()}
    legacy = issue_scoped_token(
        context,  # type: ignore[arg-type]
        subject=f"mfg-portal:{scope['contact_id']}",
        permissions=frozenset({"mfg:portal", "products:read"}),
        scope={**scope, "mfg_portal_access": str(decode_id(access["id"], "PortalAccess"))},
        plugin="manufacturing",
    )
    _refused_everywhere(mfg.as_token(legacy), stocked["product"])


def test_sales_reps_see_orders_of_the_customers_they_see(mfg: Any, stocked: dict[str, Any], tenant: Any) -> None:
    product = stocked["product"]
    rep, other_rep = add_member(mfg, tenant, "sales"), add_member(mfg, tenant, "sales")
    own = create_customer(rep, "Rep's")
    foreign = create_customer(other_rep, "Other rep's")
    mine = place(rep, [(product, 1)], own)["order"]
    theirs = place(other_rep, [(product, 1)], foreign)["order"]
    assert [e["node"]["id"] for e in rep.data(ORDERS)["orders"]["edges"]] == [mine["id"]]
    assert rep.error_codes(ORDER_QUERY, {"id": theirs["id"]}) == ["NOT_FOUND"]
    assert refused(rep, PLACE, {"input": order_input([(product, 1)], foreign)}, "placeOrder") == [
        (["input", "customerId"], "NOT_FOUND")
    ]
    assert mfg.data(ORDERS)["orders"]["totalCount"] == 2
    viewer = add_member(mfg, tenant, "viewer")
    assert viewer.error_codes(PLACE, {"input": order_input([(product, 1)], own)}) == ["FORBIDDEN"]


def test_another_tenant_sees_no_orders_and_cannot_touch_them(mfg: Any, other_mfg: Any, stocked: dict[str, Any]) -> None:
    product = stocked["product"]
    order = place(mfg, [(product, 1)], create_customer(mfg))["order"]
    assert other_mfg.data(ORDERS)["orders"]["totalCount"] == 0
    assert other_mfg.error_codes(ORDER_QUERY, {"id": order["id"]}) == ["NOT_FOUND"]
    assert other_mfg.error_codes(CANCEL, {"input": {"id": order["id"]}}) == ["NOT_FOUND"]
    their_customer = create_customer(other_mfg)
    assert refused(other_mfg, PLACE, {"input": order_input([(product, 1)], their_customer)}, "placeOrder") == [
        (["input", "lines", "0", "productId"], "NOT_FOUND")
    ]
    assert refused(
        other_mfg, PLACE, {"input": order_input([(create_product(other_mfg), 1)], order["customerId"])}, "placeOrder"
    ) == [(["input", "customerId"], "NOT_FOUND")]
    assert level(mfg, product)["reserved"] == 1


def test_order_pages_load_nested_lists_in_constant_statements(mfg: Any, stocked: dict[str, Any]) -> None:
    customer = create_customer(mfg)
    for quantity in (1, 2, 3):
        place(mfg, [(stocked["product"], quantity)], customer)
    query = """query($first: Int) { orders(first: $first) { edges { node {
      id lines { quantity product { sku } } warehouse { code } } } } }"""
    one = mfg.data(query, {"first": 1})["orders"]["edges"]
    small = mfg.last_statements
    three = mfg.data(query, {"first": 3})["orders"]["edges"]
    assert len(one) == 1 and len(three) == 3 and mfg.last_statements == small
    assert [e["node"]["lines"][0]["quantity"] for e in three] == [3, 2, 1]  # newest first
    assert three[0]["node"]["lines"][0]["product"]["sku"] == "STOCKED-1"


PORTAL_PAGE = """query($first: Int, $after: String) {
  orders(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id status total customerId placedThroughPortal warehouse { code } lines { quantity unitPrice } } } }
  shipments(first: $first) { totalCount edges { node { id } } } }"""
# With each line's product, which the compiled read does not map: the resolvers answer the same rows.
PORTAL_RESOLVED = PORTAL_PAGE.replace("lines { quantity unitPrice }", "lines { quantity unitPrice product { sku } }")


def test_a_portal_tokens_orders_are_one_statement_at_any_page_size(
    mfg: Any, other_mfg: Any, stocked: dict[str, Any]
) -> None:
    mine, other = create_customer(mfg, "Mine"), create_customer(mfg, "Other")
    portal, _ = portal_client(mfg, create_contact(mfg, mine))
    placed = [place(portal, [(stocked["product"], quantity)])["order"]["id"] for quantity in (1, 2, 3)]
    place(mfg, [(stocked["product"], 1)], other)
    one = portal.data(PORTAL_PAGE, {"first": 1})
    assert portal.last_statements == 2  # one for the orders, one for the shipments
    three = portal.data(PORTAL_PAGE, {"first": 3})
    assert portal.last_statements == 2
    assert [e["node"]["id"] for e in three["orders"]["edges"]] == placed[::-1]  # its customer's only, newest first
    assert one["orders"]["edges"] == three["orders"]["edges"][:1] and three["orders"]["totalCount"] == 3
    assert three["shipments"] == {"totalCount": 0, "edges": []}
    staff = mfg.data(
        PORTAL_PAGE.replace(
            "orders(first: $first, after: $after)",
            f'orders(first: $first, after: $after, filter: {{customerId: "{mine}"}})',
        ),
        {"first": 3},
    )
    assert staff["orders"] == three["orders"]
    after = None
    for _ in range(3):
        compiled = portal.data(PORTAL_PAGE, {"first": 2, "after": after})["orders"]
        resolved = portal.data(PORTAL_RESOLVED, {"first": 2, "after": after})["orders"]
        for edge in resolved["edges"]:
            assert [line.pop("product")["sku"] for line in edge["node"]["lines"]] == ["STOCKED-1"]
        assert resolved == compiled
        if not compiled["pageInfo"]["hasNextPage"]:
            break
        after = compiled["pageInfo"]["endCursor"]
    # Another tenant's portal token sees none of them, and nothing after their cursors.
    theirs, _ = portal_client(other_mfg, create_contact(other_mfg, create_customer(other_mfg)))
    cursor = three["orders"]["edges"][0]["cursor"]
    assert theirs.data(PORTAL_PAGE, {"first": 3, "after": cursor})["orders"]["edges"] == []
    assert theirs.data(PORTAL_PAGE, {"first": 3})["orders"]["totalCount"] == 0


def test_the_compiled_portal_check_stands_exactly_while_the_access_does(
    mfg: Any, tenant: Any, saas_runtime: Any
) -> None:
    """`portal_within`'s SQL (`portal_access_condition`) holds for a live access, as `actor_for`'s
    check does, and no longer once it is revoked or has expired; staff have no access to check."""
    from sqlalchemy import text

    from saas.plugin_api import portal_access_condition

    portal, access = portal_client(mfg, create_contact(mfg, create_customer(mfg)))
    principal = saas_runtime.authenticate(f"Bearer {portal.token}")
    condition = portal_access_condition(principal, "w")
    assert condition is not None
    assert portal_access_condition(saas_runtime.authenticate(f"Bearer {mfg.token}"), "w") is None

    def stands() -> bool:
        with tenant.session() as session:
            sql = f"SELECT EXISTS (SELECT 1 FROM portal_accesses w WHERE {condition.sql})"
            return bool(session.execute(text(sql), condition.params).scalar_one())

    raw_id = decode_id(access["id"], "PortalAccess")
    assert stands()
    with tenant.session() as session:
        session.execute(
            text("UPDATE portal_accesses SET expires_at = now() - interval '1 second' WHERE id = :id"), {"id": raw_id}
        )
    assert not stands()
    with tenant.session() as session:
        session.execute(
            text("UPDATE portal_accesses SET expires_at = now() + interval '1 day', revoked_at = now() WHERE id = :id"),
            {"id": raw_id},
        )
    assert not stands()
