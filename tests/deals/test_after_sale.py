"""Contracts, orders, payment plans, payments and invoices: rules, bad input, events, exact money."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from saas.events.models import OutboxEvent
from saas.runtime import Runtime
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient, TenantHandle, add_member
from tests.deals.support import (
    APPROVE,
    CREATE_CONTRACT,
    CREATE_PLAN,
    ERRORS,
    ISSUE,
    REJECT,
    contract_input,
    create_contract,
    create_customer,
    create_opportunity,
    create_plan,
    create_product,
    in_days,
    member_id,
    pay,
    request_invoice,
    won_opportunity,
)

CREATE_ORDER = f"""mutation($input: CreateOrderInput!) {{
  createOrder(input: $input) {{
    order {{ id currency total contract {{ id }} lines {{ position quantity unitPrice amount product {{ id sku }} }} }}
    {ERRORS}
  }}
}}"""


def _codes(payload: dict[str, Any]) -> list[tuple[list[str], str]]:
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


def _event_types(runtime: Runtime, tenant: TenantHandle) -> list[str]:
    with tenant_session(runtime.engine, tenant.id) as session:
        return [r.type for r in session.query(OutboxEvent).order_by(OutboxEvent.created_at, OutboxEvent.id)]


def test_contracts_come_from_won_opportunities_only(
    owner: GraphQLClient, counts: Callable[[], dict[str, int]], runtime: Runtime, tenant: TenantHandle
) -> None:
    customer = create_customer(owner)
    open_one = create_opportunity(owner, customer, "500.00")["id"]
    won = won_opportunity(owner, customer, "1200.00")
    before = counts()
    cases: list[tuple[dict[str, Any], list[str], str]] = [
        (contract_input(open_one, amount="500.00"), ["input", "opportunityId"], "NOT_WON"),
        (contract_input(won, currency="USD"), ["input", "currency"], "CURRENCY_MISMATCH"),
        (contract_input(won, number=""), ["input", "number"], "REQUIRED"),
        (contract_input(won, number="x" * 51), ["input", "number"], "TOO_LONG"),
        (contract_input(won, amount="0"), ["input", "amount"], "INVALID"),
        (contract_input(won, amount="12.345"), ["input", "amount"], "INVALID"),
        (contract_input(won, endsOn=in_days(-1).isoformat()), ["input", "endsOn"], "INVALID"),
        (contract_input(won, currency="ABC"), ["input", "currency"], "INVALID"),
    ]
    for variables, field, code in cases:
        payload = owner.data(CREATE_CONTRACT, {"input": variables})["createContract"]
        assert payload["contract"] is None and _codes(payload) == [(field, code)], variables
    assert counts() == before
    created = owner.data(CREATE_CONTRACT, {"input": contract_input(won, endsOn=in_days(365).isoformat())})[
        "createContract"
    ]
    assert created["userErrors"] == []
    assert created["contract"]["invoicedAmount"] == "0.00" and created["contract"]["uninvoicedAmount"] == "1200.00"
    assert created["contract"]["customer"] == {"id": customer}
    again = owner.data(CREATE_CONTRACT, {"input": contract_input(won)})["createContract"]
    assert _codes(again) == [(["input", "number"], "TAKEN")]
    assert _event_types(runtime, tenant)[-1] == "contract.created"


def test_orders_take_catalog_prices_and_sum_exactly(
    owner: GraphQLClient, other_owner: GraphQLClient, counts: Callable[[], dict[str, int]]
) -> None:
    customer = create_customer(owner)
    cheap = create_product(owner, "CHEAP", "0.10")
    odd = create_product(owner, "ODD", "33.33")
    dollars = create_product(owner, "USD-1", "5.00", currency="USD")
    retired = create_product(owner, "OLD", "1.00", active=False)
    foreign = create_product(other_owner, "THEIRS", "1.00")
    lines = [
        {"productId": cheap, "quantity": 3},  # 0.30 exactly, never 0.30000000000000004
        {"productId": odd, "quantity": 3, "unitPrice": "33.34"},
    ]
    order = owner.data(CREATE_ORDER, {"input": {"customerId": customer, "lines": lines}})["createOrder"]
    assert order["userErrors"] == []
    assert order["order"]["total"] == "100.32" and order["order"]["currency"] == "EUR"
    assert [(line["unitPrice"], line["amount"]) for line in order["order"]["lines"]] == [
        ("0.10", "0.30"),
        ("33.34", "100.02"),
    ]
    before = counts()
    bad: list[tuple[dict[str, Any], list[tuple[list[str], str]]]] = [
        ({"lines": []}, [(["input", "lines"], "REQUIRED")]),
        ({"lines": [{"productId": cheap, "quantity": 0}]}, [(["input", "lines", "0", "quantity"], "INVALID")]),
        (
            {"lines": [{"productId": cheap, "quantity": 1, "unitPrice": "-1"}]},
            [(["input", "lines", "0", "unitPrice"], "INVALID")],
        ),
        ({"lines": [{"productId": foreign, "quantity": 1}]}, [(["input", "lines", "0", "productId"], "NOT_FOUND")]),
        ({"lines": [{"productId": retired, "quantity": 1}]}, [(["input", "lines", "0", "productId"], "INVALID")]),
        (
            {"lines": [{"productId": cheap, "quantity": 1}, {"productId": dollars, "quantity": 1}]},
            [(["input", "lines", "1", "productId"], "CURRENCY_MISMATCH")],
        ),
        ({"lines": [{"productId": "bogus", "quantity": 1}]}, [(["input", "lines", "0", "productId"], "NOT_FOUND")]),
        (
            {"customerId": create_customer(other_owner), "lines": [{"productId": cheap, "quantity": 1}]},
            [(["input", "customerId"], "NOT_FOUND")],
        ),
    ]
    for change, expected in bad:
        payload = owner.data(CREATE_ORDER, {"input": {"customerId": customer, **change}})["createOrder"]
        assert payload["order"] is None and _codes(payload) == expected, change
    assert counts() == before


def test_an_order_under_a_contract_is_in_its_currency_and_of_its_customer(owner: GraphQLClient) -> None:
    customer = create_customer(owner)
    contract = create_contract(owner, customer)
    euro = create_product(owner, "EU", "2.50")
    dollars = create_product(owner, "US", "2.50", currency="USD")
    order = owner.data(
        CREATE_ORDER,
        {"input": {"customerId": customer, "contractId": contract, "lines": [{"productId": euro, "quantity": 2}]}},
    )["createOrder"]
    assert order["order"]["contract"] == {"id": contract} and order["order"]["total"] == "5.00"
    mismatch = owner.data(
        CREATE_ORDER,
        {"input": {"customerId": customer, "contractId": contract, "lines": [{"productId": dollars, "quantity": 1}]}},
    )["createOrder"]
    assert _codes(mismatch) == [(["input", "lines", "0", "productId"], "CURRENCY_MISMATCH")]
    another = create_customer(owner, "Another")
    wrong = owner.data(
        CREATE_ORDER,
        {"input": {"customerId": another, "contractId": contract, "lines": [{"productId": euro, "quantity": 1}]}},
    )["createOrder"]
    assert _codes(wrong) == [(["input", "contractId"], "INVALID")]


def test_payment_plans_add_up_and_payments_never_overpay(
    owner: GraphQLClient, counts: Callable[[], dict[str, int]], runtime: Runtime, tenant: TenantHandle
) -> None:
    customer = create_customer(owner)
    contract = create_contract(owner, customer, amount="1000.00")
    before = counts()
    for installments, field, code in [
        ([], ["input", "installments"], "REQUIRED"),
        ([{"dueOn": in_days(1).isoformat(), "amount": "999.99"}], ["input", "installments"], "SUM_MISMATCH"),
        ([{"dueOn": in_days(1).isoformat(), "amount": "0"}], ["input", "installments", "0", "amount"], "INVALID"),
        (
            [{"dueOn": in_days(5).isoformat(), "amount": "500"}, {"dueOn": in_days(1).isoformat(), "amount": "500"}],
            ["input", "installments", "1", "dueOn"],
            "INVALID",
        ),
    ]:
        payload = owner.data(CREATE_PLAN, {"input": {"contractId": contract, "installments": installments}})[
            "createPaymentPlan"
        ]
        assert payload["paymentPlan"] is None and _codes(payload) == [(field, code)], installments
    assert counts() == before
    plan = create_plan(owner, contract, [(in_days(-10), "333.33"), (in_days(20), "333.33"), (in_days(50), "333.34")])
    assert plan["total"] == "1000.00"
    first, second, _ = plan["installments"]
    assert first["overdue"] is True and second["overdue"] is False
    again = owner.data(
        CREATE_PLAN,
        {"input": {"contractId": contract, "installments": [{"dueOn": in_days(1).isoformat(), "amount": "1000"}]}},
    )["createPaymentPlan"]
    assert _codes(again) == [(["input", "contractId"], "PLAN_EXISTS")]

    partial = pay(owner, first["id"], "100.00")
    assert partial["userErrors"] == []
    assert partial["payment"]["installment"] == {"receivedAmount": "100.00", "outstandingAmount": "233.33"}
    before = counts()
    over = pay(owner, first["id"], "233.34")
    assert over["payment"] is None and _codes(over) == [(["input", "amount"], "OVERPAYMENT")]
    assert _codes(pay(owner, first["id"], "0"))[0][1] == "INVALID"
    assert _codes(pay(owner, first["id"], "1", on=in_days(30)))[0] == (["input", "receivedOn"], "INVALID")
    assert counts() == before
    read = owner.data(
        "query($id: ID!) { node(id: $id) { ... on PaymentPlan { installments { receivedAmount outstandingAmount overdue payments { amount } } } } }",
        {"id": plan["id"]},
    )["node"]["installments"][0]
    assert read == {
        "receivedAmount": "100.00",
        "outstandingAmount": "233.33",
        "overdue": True,
        "payments": [{"amount": "100.00"}],
    }
    assert pay(owner, first["id"], "233.33")["userErrors"] == []
    paid = owner.data(
        "query($id: ID!) { node(id: $id) { ... on Installment { receivedAmount outstandingAmount overdue } } }",
        {"id": first["id"]},
    )["node"]
    assert paid == {"receivedAmount": "333.33", "outstandingAmount": "0.00", "overdue": False}
    assert _event_types(runtime, tenant)[-1] == "payment.recorded"


def test_invoices_go_through_approval_and_never_exceed_the_contract(
    owner: GraphQLClient, tenant: TenantHandle, counts: Callable[[], dict[str, int]], runtime: Runtime
) -> None:
    admin = add_member(owner, tenant, "admin")
    rep = add_member(owner, tenant, "sales")
    customer = create_customer(rep, "Rep's")
    contract = create_contract(rep, customer, amount="1000.00")
    requested = request_invoice(rep, contract, "600.00")
    assert requested["userErrors"] == [] and requested["invoice"]["status"] == "REQUESTED"
    assert requested["invoice"]["requestedBy"] == {"id": member_id(rep)}
    before = counts()
    too_much = request_invoice(rep, contract, "400.01")
    assert _codes(too_much) == [(["input", "amount"], "EXCEEDS_UNINVOICED")]
    invoice_id = requested["invoice"]["id"]
    # the rep's role does not approve; issuing needs approval first
    assert _codes(rep.data(APPROVE, {"input": {"id": invoice_id}})["approveInvoice"]) == [
        (["input", "id"], "NOT_APPROVER")
    ]
    not_yet = owner.data(ISSUE, {"input": {"id": invoice_id, "number": "INV-1"}})["issueInvoice"]
    assert _codes(not_yet) == [(["input", "id"], "INVALID_STATE")]
    assert _codes(owner.data(REJECT, {"input": {"id": invoice_id, "reason": " "}})["rejectInvoice"]) == [
        (["input", "reason"], "REQUIRED")
    ]
    assert counts() == before
    approved = admin.data(APPROVE, {"input": {"id": invoice_id}})["approveInvoice"]
    assert approved["invoice"]["status"] == "APPROVED" and approved["invoice"]["decidedBy"] == {"id": member_id(admin)}
    twice = owner.data(APPROVE, {"input": {"id": invoice_id}})["approveInvoice"]
    assert _codes(twice) == [(["input", "id"], "INVALID_STATE")]
    issued = rep.data(ISSUE, {"input": {"id": invoice_id, "number": "INV-1"}})["issueInvoice"]
    assert issued["invoice"]["status"] == "ISSUED" and issued["invoice"]["number"] == "INV-1"
    # the rest, rejected, frees its amount again
    rest = request_invoice(rep, contract, "400.00")["invoice"]["id"]
    rejected = owner.data(REJECT, {"input": {"id": rest, "reason": "Wrong period"}})["rejectInvoice"]
    assert rejected["invoice"]["status"] == "REJECTED" and rejected["invoice"]["rejectionReason"] == "Wrong period"
    again = request_invoice(rep, contract, "400.00")["invoice"]["id"]
    assert admin.data(APPROVE, {"input": {"id": again}})["approveInvoice"]["userErrors"] == []
    duplicate = owner.data(ISSUE, {"input": {"id": again, "number": "INV-1"}})["issueInvoice"]
    assert _codes(duplicate) == [(["input", "number"], "TAKEN")]
    amounts = owner.data(
        "query($id: ID!) { node(id: $id) { ... on Contract { invoicedAmount uninvoicedAmount } } }", {"id": contract}
    )["node"]
    assert amounts == {"invoicedAmount": "1000.00", "uninvoicedAmount": "0.00"}
    types = _event_types(runtime, tenant)
    for kind in ("invoice.requested", "invoice.approved", "invoice.rejected", "invoice.issued"):
        assert kind in types


def test_the_requester_cannot_approve_their_own_request(owner: GraphQLClient, tenant: TenantHandle) -> None:
    customer = create_customer(owner)
    contract = create_contract(owner, customer)
    invoice = request_invoice(owner, contract, "100.00")["invoice"]["id"]
    own = owner.data(APPROVE, {"input": {"id": invoice}})["approveInvoice"]
    assert own["invoice"] is None and _codes(own) == [(["input", "id"], "SELF_APPROVAL")]
    own_reject = owner.data(REJECT, {"input": {"id": invoice, "reason": "No"}})["rejectInvoice"]
    assert _codes(own_reject) == [(["input", "id"], "SELF_APPROVAL")]


def test_each_tenant_sets_who_approves(owner: GraphQLClient, tenant: TenantHandle) -> None:
    manager = add_member(owner, tenant, "manager")
    admin = add_member(owner, tenant, "admin")
    assert owner.data("{ dealSettings { invoiceApproverRoles } }")["dealSettings"] == {
        "invoiceApproverRoles": ["OWNER", "ADMIN"]
    }
    update = f"""mutation($roles: [Role!]!) {{ updateDealSettings(input: {{invoiceApproverRoles: $roles}}) {{
      dealSettings {{ invoiceApproverRoles }} {ERRORS} }} }}"""
    assert _codes(owner.data(update, {"roles": []})["updateDealSettings"]) == [
        (["input", "invoiceApproverRoles"], "REQUIRED")
    ]
    changed = owner.data(update, {"roles": ["MANAGER"]})["updateDealSettings"]
    assert changed == {"dealSettings": {"invoiceApproverRoles": ["MANAGER"]}, "userErrors": []}
    assert manager.error_codes(update, {"roles": ["MANAGER"]}) == ["FORBIDDEN"]
    customer = create_customer(owner)
    contract = create_contract(owner, customer)
    invoice = request_invoice(owner, contract, "10.00")["invoice"]["id"]
    assert _codes(admin.data(APPROVE, {"input": {"id": invoice}})["approveInvoice"]) == [
        (["input", "id"], "NOT_APPROVER")
    ]
    assert manager.data(APPROVE, {"input": {"id": invoice}})["approveInvoice"]["invoice"]["status"] == "APPROVED"


def test_issue_needs_a_number(owner: GraphQLClient, tenant: TenantHandle, counts: Callable[[], dict[str, int]]) -> None:
    admin = add_member(owner, tenant, "admin")
    contract = create_contract(owner, create_customer(owner))
    invoice = request_invoice(owner, contract, "10.00")["invoice"]["id"]
    admin.data(APPROVE, {"input": {"id": invoice}})
    before = counts()
    for number, code in [("", "REQUIRED"), ("x" * 51, "TOO_LONG")]:
        payload = owner.data(ISSUE, {"input": {"id": invoice, "number": number}})["issueInvoice"]
        assert _codes(payload) == [(["input", "number"], code)]
    assert counts() == before
