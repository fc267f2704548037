"""Helpers of the returns tests: an order to return from, and the return mutations."""

from __future__ import annotations

import secrets
from typing import Any

from tests.conftest import GraphQLClient
from tests.deals.support import create_customer, create_product
from tests.deals.test_after_sale import CREATE_ORDER
from tests.knowledge.support import ERRORS

RETURN_FIELDS = (
    "id status reason rejectionReason currency value refundedAmount approvedAt receivedAt refundedAt rejectedAt"
    " order { id } customer { id } lines { position quantity amount orderLine { id quantity } product { id sku } }"
)
CREATE_RETURN = f"""mutation($input: CreateReturnRequestInput!) {{
  createReturnRequest(input: $input) {{ returnRequest {{ {RETURN_FIELDS} }} {ERRORS} }}
}}"""
APPROVE = f"""mutation($input: ApproveReturnInput!) {{
  approveReturn(input: $input) {{ returnRequest {{ id status }} {ERRORS} }}
}}"""
REJECT = f"""mutation($input: RejectReturnInput!) {{
  rejectReturn(input: $input) {{ returnRequest {{ id status rejectionReason }} {ERRORS} }}
}}"""
RECEIVE = f"""mutation($input: ReceiveReturnInput!) {{
  receiveReturn(input: $input) {{ returnRequest {{ id status receivedAt }} {ERRORS} }}
}}"""
REFUND = f"""mutation($input: RefundReturnInput!) {{
  refundReturn(input: $input) {{ returnRequest {{ id status refundedAmount currency }} {ERRORS} }}
}}"""


def create_order(client: GraphQLClient, quantities: tuple[int, ...] = (10, 3), price: str = "12.50") -> dict[str, Any]:
    """An order of a new customer with one line per quantity (new products at `price` EUR)."""
    customer = create_customer(client, f"Customer {secrets.token_hex(3)}")
    products = [create_product(client, f"SKU-{secrets.token_hex(4)}", price) for _ in quantities]
    payload = client.data(
        CREATE_ORDER,
        {
            "input": {
                "customerId": customer,
                "lines": [{"productId": p, "quantity": q} for p, q in zip(products, quantities, strict=True)],
            }
        },
    )["createOrder"]
    assert payload["userErrors"] == [], payload
    order = dict(payload["order"])
    lines = client.data(
        "query($id: ID!) { node(id: $id) { ... on Order { lines { id quantity product { id } } } } }",
        {"id": order["id"]},
    )["node"]["lines"]
    return {"id": order["id"], "customer": customer, "lines": lines, "products": products}


def request_return(
    client: GraphQLClient, order_id: str, lines: list[tuple[str, int]], reason: str = "Damaged in transit"
) -> dict[str, Any]:
    variables = {
        "orderId": order_id,
        "reason": reason,
        "lines": [{"orderLineId": line, "quantity": quantity} for line, quantity in lines],
    }
    return dict(client.data(CREATE_RETURN, {"input": variables})["createReturnRequest"])


def codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["userErrors"]]
