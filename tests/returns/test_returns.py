"""Returns: quantities within what was ordered and not yet requested (also under real concurrent
transactions), the lifecycle and INVALID_TRANSITION, refunds within the lines' value, events in the
API's shape, the list in one statement, bad input, permissions and other tenants."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from saas.returns import service
from saas.runtime import Runtime
from saas.schema.relay import decode_id
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient, TenantHandle, add_member
from tests.knowledge.support import events_of, principal_of, race
from tests.returns.support import (
    APPROVE,
    CREATE_RETURN,
    RECEIVE,
    REFUND,
    REJECT,
    codes,
    create_order,
    request_return,
)

RETURNS = """query($first: Int, $after: String, $filter: ReturnFilterInput) {
  returnRequests(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id status value currency order { id } customer { id name } lines { quantity product { sku } } } }
  }
}"""
NODE = "query($id: ID!) { node(id: $id) { __typename id ... on ReturnRequest { status value } } }"


def _move(client: GraphQLClient, query: str, field: str, return_id: str, **extra: Any) -> dict[str, Any]:
    return dict(client.data(query, {"input": {"id": return_id, **extra}})[field])


def test_a_return_goes_from_requested_to_refunded(owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle) -> None:
    order = create_order(owner)
    first, second = order["lines"]
    created = request_return(owner, order["id"], [(first["id"], 4), (second["id"], 1)])
    assert created["userErrors"] == []
    request = created["returnRequest"]
    assert request["status"] == "REQUESTED" and request["currency"] == "EUR"
    assert request["value"] == "62.50"  # (4 + 1) x 12.50
    assert request["order"] == {"id": order["id"]} and request["customer"] == {"id": order["customer"]}
    assert [(line["quantity"], line["amount"], line["orderLine"]["id"]) for line in request["lines"]] == [
        (4, "50.00", first["id"]),
        (1, "12.50", second["id"]),
    ]
    rid = request["id"]
    # Not yet received: no refund, no receipt before approval.
    assert codes(_move(owner, RECEIVE, "receiveReturn", rid)) == ["INVALID_TRANSITION"]
    assert codes(_move(owner, REFUND, "refundReturn", rid, amount="10.00")) == ["INVALID_TRANSITION"]
    assert _move(owner, APPROVE, "approveReturn", rid)["returnRequest"]["status"] == "APPROVED"
    assert codes(_move(owner, APPROVE, "approveReturn", rid)) == ["INVALID_TRANSITION"]
    assert _move(owner, RECEIVE, "receiveReturn", rid)["returnRequest"]["status"] == "RECEIVED"
    assert codes(_move(owner, REJECT, "rejectReturn", rid, reason="Too late")) == ["INVALID_TRANSITION"]
    assert codes(_move(owner, REFUND, "refundReturn", rid, amount="62.51")) == ["REFUND_EXCEEDED"]
    refunded = _move(owner, REFUND, "refundReturn", rid, amount="62.50")["returnRequest"]
    assert refunded == {"id": rid, "status": "REFUNDED", "refundedAmount": "62.50", "currency": "EUR"}
    assert codes(_move(owner, REFUND, "refundReturn", rid, amount="1.00")) == ["INVALID_TRANSITION"]

    assert [
        len(events_of(runtime, tenant.id, f"return.{kind}"))
        for kind in ("requested", "approved", "received", "refunded")
    ] == [1, 1, 1, 1]
    received = events_of(runtime, tenant.id, "return.received")[0]["returnRequest"]
    assert received["id"] == rid and received["status"] == "RECEIVED" and received["order"] == {"id": order["id"]}
    assert [(line["product"]["id"], line["quantity"]) for line in received["lines"]] == [
        (first["product"]["id"], 4),
        (second["product"]["id"], 1),
    ]
    assert received["lines"][0]["orderLine"] == {"id": first["id"]} and received["value"] == "62.50"


def test_never_more_than_ordered_minus_requested_and_rejection_frees_it(owner: GraphQLClient) -> None:
    order = create_order(owner, (5,))
    line = order["lines"][0]["id"]
    first = request_return(owner, order["id"], [(line, 3)])
    assert first["userErrors"] == []
    too_many = request_return(owner, order["id"], [(line, 3)])
    assert codes(too_many) == ["QUANTITY_EXCEEDED"]
    assert too_many["userErrors"][0]["field"] == ["input", "lines", "0", "quantity"]
    assert "At most 2" in too_many["userErrors"][0]["message"]
    assert request_return(owner, order["id"], [(line, 2)])["userErrors"] == []
    assert codes(request_return(owner, order["id"], [(line, 1)])) == ["QUANTITY_EXCEEDED"]
    rejected = _move(owner, REJECT, "rejectReturn", first["returnRequest"]["id"], reason="Not ours")
    assert (
        rejected["returnRequest"]["status"] == "REJECTED" and rejected["returnRequest"]["rejectionReason"] == "Not ours"
    )
    assert request_return(owner, order["id"], [(line, 3)])["userErrors"] == []


def test_concurrent_returns_never_exceed_the_ordered_quantity(
    owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle
) -> None:
    order = create_order(owner, (10,))
    order_id, line = decode_id(order["id"], "Order"), decode_id(order["lines"][0]["id"], "OrderLine")
    principal = principal_of(runtime, owner)

    def work(session: Any, n: int) -> None:
        service.create_return_request(
            session,
            principal,
            {"order_id": order_id, "reason": f"Return {n}", "lines": [{"order_line_id": line, "quantity": 3}]},
        )

    assert race(runtime, tenant, 8, work) == ["QUANTITY_EXCEEDED"] * 5 + ["ok"] * 3
    with tenant_session(runtime.engine, tenant.id) as session:
        requested = session.execute(
            text("SELECT sum(quantity) FROM return_lines WHERE order_line_id = :id"), {"id": line}
        ).scalar_one()
    assert requested == 9


def test_bad_input_is_a_user_error_and_writes_nothing(
    owner: GraphQLClient, other_owner: GraphQLClient, counts: Callable[[], dict[str, int]]
) -> None:
    order = create_order(owner, (2, 1))
    other_order = create_order(other_owner, (2,))
    line, second = order["lines"][0]["id"], order["lines"][1]["id"]
    created = request_return(owner, order["id"], [(line, 1)])["returnRequest"]["id"]
    before = counts()
    cases: list[tuple[str, list[tuple[str, int]], str, str]] = [
        (order["id"], [], "Broken", "REQUIRED"),
        (order["id"], [(line, 1)], "", "REQUIRED"),
        (order["id"], [(line, 1)], "x" * 2001, "TOO_LONG"),
        (order["id"], [(line, 0)], "Broken", "INVALID"),
        (order["id"], [(line, -1)], "Broken", "INVALID"),
        (order["id"], [(line, 1), (line, 1)], "Broken", "INVALID"),
        (order["id"], [(other_order["lines"][0]["id"], 1)], "Broken", "NOT_FOUND"),
        (other_order["id"], [(line, 1)], "Broken", "NOT_FOUND"),
        (order["customer"], [(line, 1)], "Broken", "NOT_FOUND"),
        (order["id"], [("bm9wZQ==", 1)], "Broken", "NOT_FOUND"),
        (order["id"], [(second, 2)], "Broken", "QUANTITY_EXCEEDED"),
    ]
    for order_id, lines, reason, code in cases:
        assert codes(request_return(owner, order_id, lines, reason)) == [code], (order_id, lines, reason)
    assert codes(_move(owner, REJECT, "rejectReturn", created, reason="")) == ["REQUIRED"]
    for amount in ("0", "-1", "1.001"):
        assert codes(_move(owner, REFUND, "refundReturn", created, amount=amount)) == ["INVALID"], amount
    wrong_type = owner.execute(
        CREATE_RETURN,
        {"input": {"orderId": order["id"], "reason": "r", "lines": [{"orderLineId": line, "quantity": "many"}]}},
    )
    assert [e["extensions"]["code"] for e in wrong_type["errors"]] == ["BAD_USER_INPUT"]
    not_a_number = owner.execute(REFUND, {"input": {"id": created, "amount": "abc"}})
    assert [e["extensions"]["code"] for e in not_a_number["errors"]] == ["BAD_USER_INPUT"]
    assert counts() == before


def test_the_list_is_one_statement_filters_and_isolates(
    owner: GraphQLClient, other_owner: GraphQLClient, tenant: TenantHandle
) -> None:
    order = create_order(owner, (20,))
    line = order["lines"][0]["id"]
    ids = [request_return(owner, order["id"], [(line, 1)])["returnRequest"]["id"] for _ in range(4)]
    _move(owner, APPROVE, "approveReturn", ids[0])
    for first in (1, 2, 4):
        page = owner.data(RETURNS, {"first": first})["returnRequests"]
        assert owner.last_statements == 1 and page["totalCount"] == 4 and len(page["edges"]) == first
    assert [edge["node"]["id"] for edge in owner.data(RETURNS, {"first": 4})["returnRequests"]["edges"]] == ids[::-1]
    approved = owner.data(RETURNS, {"filter": {"status": "APPROVED"}})["returnRequests"]["edges"]
    assert [edge["node"]["id"] for edge in approved] == [ids[0]]
    by_order = owner.data(RETURNS, {"filter": {"orderId": order["id"]}})["returnRequests"]
    assert by_order["totalCount"] == 4
    assert owner.data(NODE, {"id": ids[0]})["node"] == {
        "__typename": "ReturnRequest",
        "id": ids[0],
        "status": "APPROVED",
        "value": "12.50",
    }

    assert other_owner.data(RETURNS, {})["returnRequests"]["totalCount"] == 0
    assert other_owner.error_codes(NODE, {"id": ids[0]}) == ["NOT_FOUND"]
    line_id = owner.data("query($id: ID!) { node(id: $id) { ... on ReturnRequest { lines { id } } } }", {"id": ids[0]})[
        "node"
    ]["lines"][0]["id"]
    line_node = "query($id: ID!) { node(id: $id) { __typename ... on ReturnLine { quantity } } }"
    assert owner.data(line_node, {"id": line_id})["node"] == {"__typename": "ReturnLine", "quantity": 1}
    assert other_owner.error_codes(line_node, {"id": line_id}) == ["NOT_FOUND"]
    for query, field, extra in (
        (APPROVE, "approveReturn", {}),
        (REJECT, "rejectReturn", {"reason": "x"}),
        (RECEIVE, "receiveReturn", {}),
        (REFUND, "refundReturn", {"amount": "1.00"}),
    ):
        assert codes(_move(other_owner, query, field, ids[1], **extra)) == ["NOT_FOUND"]
    assert owner.data(NODE, {"id": ids[1]})["node"]["status"] == "REQUESTED"


def test_who_may_do_what(owner: GraphQLClient, tenant: TenantHandle, runtime: Runtime) -> None:
    order = create_order(owner, (5,))
    line = order["lines"][0]["id"]
    viewer = add_member(owner, tenant, "viewer")
    sales = add_member(owner, tenant, "sales")
    assert viewer.error_codes(
        CREATE_RETURN,
        {"input": {"orderId": order["id"], "reason": "r", "lines": [{"orderLineId": line, "quantity": 1}]}},
    ) == ["FORBIDDEN"]
    # A sales rep sees (and returns from) the orders of the customers they see: here the unowned pool's.
    made = request_return(sales, order["id"], [(line, 1)])
    assert made["userErrors"] == [], made
    assert viewer.data(RETURNS, {})["returnRequests"]["totalCount"] == 1
    with tenant_session(runtime.engine, tenant.id) as session:
        value = session.execute(text("SELECT value FROM return_requests")).scalar_one()
    assert value == Decimal("12.50")
