"""Who sees what: after-sale records follow their customer, tenants see nothing of each other's,
and Customer's deal fields cost a number of statements that does not grow with the rows."""

from __future__ import annotations

from typing import Any

from tests.conftest import GraphQLClient, TenantHandle, add_member
from tests.deals.support import (
    APPROVE,
    ISSUE,
    REJECT,
    create_contract,
    create_customer,
    create_opportunity,
    create_plan,
    create_product,
    in_days,
    member_id,
    move,
    pay,
    request_invoice,
    stages,
)
from tests.deals.test_after_sale import CREATE_ORDER

NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
CUSTOMER_DEALS = """query($id: ID!) { customer(id: $id) {
  id
  opportunities { id stage { name } stageHistory { toStage { name } } }
  contracts { id number amount uninvoicedAmount }
  orders { id total lines { amount product { sku } } }
  paymentPlans { id installments { id overdue payments { amount } } }
  invoices { id status amount }
} }"""
CUSTOMER_COMPILED = """query($id: ID!) { customer(id: $id) {
  id
  contracts { id number amount invoicedAmount uninvoicedAmount customer { id } }
  orders { id total contract { number } lines { quantity unitPrice amount product { sku unitPrice } } }
  paymentPlans { id total installments { dueOn amount receivedAmount overdue payments { amount receivedOn } } }
  invoices { id status amount requestedBy { id } }
} }"""


def _everything(client: GraphQLClient, customer: str, number: str, rows: int = 1) -> dict[str, Any]:
    """`rows` of each record kind for the customer; returns their ids by type."""
    ids: dict[str, Any] = {"Customer": customer}
    for n in range(rows):
        contract = create_contract(client, customer, number=f"{number}-{n}", amount="300.00")
        product = create_product(client, f"{number}-P{n}", "1.50")
        order = client.data(
            CREATE_ORDER,
            {
                "input": {
                    "customerId": customer,
                    "contractId": contract,
                    "lines": [{"productId": product, "quantity": 2}],
                }
            },
        )["createOrder"]["order"]
        plan = create_plan(client, contract, [(in_days(-1), "100.00"), (in_days(30), "200.00")])
        payment = pay(client, plan["installments"][0]["id"], "50.00")["payment"]
        invoice = request_invoice(client, contract, "100.00")["invoice"]
        ids.update(
            Contract=contract,
            Order=order["id"],
            PaymentPlan=plan["id"],
            Installment=plan["installments"][0]["id"],
            Payment=payment["id"],
            Invoice=invoice["id"],
        )
    opportunity = client.data(
        "query($id: ID!) { customer(id: $id) { opportunities { id stageHistory { id } } } }", {"id": customer}
    )["customer"]["opportunities"][0]
    ids["Opportunity"] = opportunity["id"]
    ids["StageChange"] = opportunity["stageHistory"][0]["id"]
    ids["PipelineStage"] = stages(client)["Won"]["id"]
    order_lines = client.data(
        "query($id: ID!) { node(id: $id) { ... on Order { lines { id } } } }", {"id": ids["Order"]}
    )
    ids["OrderLine"] = order_lines["node"]["lines"][0]["id"]
    return ids


def test_node_reads_every_deal_type_and_another_tenant_gets_nothing(
    owner: GraphQLClient, other_owner: GraphQLClient
) -> None:
    customer = create_customer(owner)
    ids = _everything(owner, customer, "N")
    del ids["Customer"]
    assert set(ids) == {
        "Contract", "Order", "OrderLine", "PaymentPlan", "Installment", "Payment", "Invoice",
        "Opportunity", "StageChange", "PipelineStage",
    }  # fmt: skip
    for type_name, node_id in ids.items():
        assert owner.data(NODE, {"id": node_id})["node"] == {"__typename": type_name, "id": node_id}
        assert other_owner.error_codes(NODE, {"id": node_id}) == ["NOT_FOUND"], type_name
    # mutations by id from the other tenant: NOT_FOUND, nothing written
    other_customer = create_customer(other_owner)
    product = create_product(other_owner, "X", "1.00")
    refused = [
        other_owner.data(APPROVE, {"input": {"id": ids["Invoice"]}})["approveInvoice"],
        other_owner.data(REJECT, {"input": {"id": ids["Invoice"], "reason": "no"}})["rejectInvoice"],
        other_owner.data(ISSUE, {"input": {"id": ids["Invoice"], "number": "X"}})["issueInvoice"],
        request_invoice(other_owner, ids["Contract"], "1.00"),
        pay(other_owner, ids["Installment"], "1.00"),
        other_owner.data(
            CREATE_ORDER,
            {
                "input": {
                    "customerId": other_customer,
                    "contractId": ids["Contract"],
                    "lines": [{"productId": product, "quantity": 1}],
                }
            },
        )["createOrder"],
        other_owner.data(
            "mutation($input: CreatePaymentPlanInput!) { createPaymentPlan(input: $input) { userErrors { code } } }",
            {
                "input": {
                    "contractId": ids["Contract"],
                    "installments": [{"dueOn": in_days(1).isoformat(), "amount": "300"}],
                }
            },
        )["createPaymentPlan"],
        other_owner.data(
            "mutation($input: CreateContractInput!) { createContract(input: $input) { userErrors { code } } }",
            {
                "input": {
                    "opportunityId": ids["Opportunity"],
                    "number": "Z",
                    "amount": "1",
                    "currency": "EUR",
                    "startsOn": "2026-01-01",
                }
            },
        )["createContract"],
    ]
    assert [[e["code"] for e in payload["userErrors"]] for payload in refused] == [["NOT_FOUND"]] * len(refused)
    assert other_owner.data("{ invoices { totalCount } opportunities { totalCount } }") == {
        "invoices": {"totalCount": 0},
        "opportunities": {"totalCount": 0},
    }


def test_after_sale_records_are_visible_with_their_customer(owner: GraphQLClient, tenant: TenantHandle) -> None:
    rep = add_member(owner, tenant, "sales")
    colleague = add_member(owner, tenant, "sales")
    mine = create_customer(owner, "Rep's", owner_id=member_id(rep))
    theirs = create_customer(owner, "Colleague's", owner_id=member_id(colleague))
    my_ids = _everything(owner, mine, "M")
    their_ids = _everything(owner, theirs, "T")
    for type_name in ("Contract", "Order", "OrderLine", "PaymentPlan", "Installment", "Payment", "Invoice"):
        assert rep.data(NODE, {"id": my_ids[type_name]})["node"]["id"] == my_ids[type_name]
        assert rep.error_codes(NODE, {"id": their_ids[type_name]}) == ["NOT_FOUND"], type_name
    # the opportunities are the owner's (who created them), not the rep's
    assert rep.error_codes(NODE, {"id": my_ids["Opportunity"]}) == ["NOT_FOUND"]
    listed = rep.data("{ invoices { totalCount edges { node { id } } } }")["invoices"]
    assert [e["node"]["id"] for e in listed["edges"]] == [my_ids["Invoice"]]
    assert pay(rep, their_ids["Installment"], "1.00")["userErrors"][0]["code"] == "NOT_FOUND"
    assert [e["code"] for e in request_invoice(rep, their_ids["Contract"], "1.00")["userErrors"]] == ["NOT_FOUND"]
    # a contract's opportunity the rep does not own is null for them
    contract = rep.data(
        "query($id: ID!) { node(id: $id) { ... on Contract { number opportunity { id } } } }",
        {"id": my_ids["Contract"]},
    )["node"]
    assert contract == {"number": "M-0", "opportunity": None}
    assert owner.data(
        "query($id: ID!) { node(id: $id) { ... on Contract { opportunity { id } } } }", {"id": my_ids["Contract"]}
    )["node"]["opportunity"] == {"id": my_ids["Opportunity"]}


def test_customer_deal_fields_cost_the_same_statements_for_one_row_or_many(
    owner: GraphQLClient, tenant: TenantHandle
) -> None:
    few = create_customer(owner, "Few")
    many = create_customer(owner, "Many")
    _everything(owner, few, "F", rows=1)
    _everything(owner, many, "G", rows=3)
    for _ in range(2):
        opportunity = create_opportunity(owner, many, "10.00")
        move(owner, opportunity["id"], stages(owner)["Proposal"]["id"])
    compiled_few = owner.data(CUSTOMER_COMPILED, {"id": few})["customer"]
    assert owner.last_statements == 1  # contracts, orders, plans and invoices compile with the customer
    compiled_many = owner.data(CUSTOMER_COMPILED, {"id": many})["customer"]
    assert owner.last_statements == 1
    assert len(compiled_few["contracts"]) == 1 and len(compiled_many["contracts"]) == 3
    assert compiled_many["contracts"][0]["number"] == "G-2"  # newest first
    assert compiled_many["orders"][0]["lines"] == [
        {"quantity": 2, "unitPrice": "1.50", "amount": "3.00", "product": {"sku": "G-P2", "unitPrice": "1.50"}}
    ]
    resolved_few = owner.data(CUSTOMER_DEALS, {"id": few})["customer"]
    statements_few = owner.last_statements
    resolved_many = owner.data(CUSTOMER_DEALS, {"id": many})["customer"]
    assert owner.last_statements == statements_few
    assert len(resolved_many["opportunities"]) == 5 and len(resolved_many["invoices"]) == 3
    assert len(resolved_few["opportunities"]) == 1
    # both paths give the same records in the same order
    for field in ("contracts", "invoices"):
        assert [c["id"] for c in resolved_many[field]] == [c["id"] for c in compiled_many[field]]


def test_viewers_read_deals_but_do_not_change_them(owner: GraphQLClient, tenant: TenantHandle) -> None:
    viewer = add_member(owner, tenant, "viewer")
    customer = create_customer(owner)
    contract = create_contract(owner, customer)
    assert viewer.data(NODE, {"id": contract})["node"]["id"] == contract
    assert viewer.error_codes(
        "mutation($input: RequestInvoiceInput!) { requestInvoice(input: $input) { invoice { id } } }",
        {"input": {"contractId": contract, "amount": "1.00"}},
    ) == ["FORBIDDEN"]
