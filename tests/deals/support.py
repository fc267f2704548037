"""Helpers of the deals tests: build a pipeline's records through the API, count rows."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text

from saas.runtime import Runtime
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient

DEAL_TABLES = (
    "deal_settings",
    "pipeline_stages",
    "opportunities",
    "opportunity_stage_changes",
    "contracts",
    "orders",
    "order_lines",
    "payment_plans",
    "payment_installments",
    "payments",
    "invoices",
    "audit_log",
    "outbox_events",
)
ERRORS = "userErrors { field code message }"
TODAY = datetime.now(UTC).date()


def deal_counts(runtime: Runtime, tenant_id: uuid.UUID) -> dict[str, int]:
    with tenant_session(runtime.engine, tenant_id) as session:
        return {table: session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() for table in DEAL_TABLES}


def member_id(client: GraphQLClient) -> str:
    return str(client.data("{ me { member { id } } }")["me"]["member"]["id"])


def create_customer(client: GraphQLClient, name: str = "Acme", owner_id: str | None = None) -> str:
    variables: dict[str, Any] = {"name": name}
    if owner_id is not None:
        variables["ownerId"] = owner_id
    result = client.data(
        "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } } }",
        {"input": variables},
    )
    return str(result["createCustomer"]["customer"]["id"])


def stages(client: GraphQLClient) -> dict[str, dict[str, Any]]:
    rows = client.data("{ pipelineStages { id name probability kind position } }")["pipelineStages"]
    return {row["name"]: row for row in rows}


CREATE_OPPORTUNITY = f"""mutation($input: CreateOpportunityInput!) {{
  createOpportunity(input: $input) {{
    opportunity {{ id name amount currency status weightedAmount version stage {{ name }} owner {{ id }} customer {{ id }} }}
    {ERRORS}
  }}
}}"""

MOVE = f"""mutation($input: MoveOpportunityInput!) {{
  moveOpportunity(input: $input) {{ opportunity {{ id status version stage {{ name }} closedAt }} {ERRORS} }}
}}"""


def create_opportunity(
    client: GraphQLClient, customer_id: str, amount: str = "1000.00", currency: str = "EUR", **extra: Any
) -> dict[str, Any]:
    payload = client.data(
        CREATE_OPPORTUNITY,
        {"input": {"customerId": customer_id, "name": "Deal", "amount": amount, "currency": currency, **extra}},
    )["createOpportunity"]
    assert payload["userErrors"] == [], payload
    return dict(payload["opportunity"])


def move(client: GraphQLClient, opportunity_id: str, stage_id: str, reason: str | None = None) -> dict[str, Any]:
    return dict(
        client.data(MOVE, {"input": {"id": opportunity_id, "stageId": stage_id, "reason": reason}})["moveOpportunity"]
    )


def won_opportunity(client: GraphQLClient, customer_id: str, amount: str = "1200.00") -> str:
    opportunity = create_opportunity(client, customer_id, amount)
    moved = move(client, opportunity["id"], stages(client)["Won"]["id"])
    assert moved["userErrors"] == [], moved
    return str(opportunity["id"])


CREATE_CONTRACT = f"""mutation($input: CreateContractInput!) {{
  createContract(input: $input) {{
    contract {{ id number amount currency startsOn endsOn invoicedAmount uninvoicedAmount customer {{ id }} }}
    {ERRORS}
  }}
}}"""


def contract_input(opportunity_id: str, number: str = "C-1", amount: str = "1200.00", **extra: Any) -> dict[str, Any]:
    return {
        "opportunityId": opportunity_id,
        "number": number,
        "amount": amount,
        "currency": "EUR",
        "startsOn": TODAY.isoformat(),
        **extra,
    }


def create_contract(client: GraphQLClient, customer_id: str, number: str = "C-1", amount: str = "1200.00") -> str:
    opportunity_id = won_opportunity(client, customer_id, amount)
    payload = client.data(CREATE_CONTRACT, {"input": contract_input(opportunity_id, number, amount)})["createContract"]
    assert payload["userErrors"] == [], payload
    return str(payload["contract"]["id"])


CREATE_PLAN = f"""mutation($input: CreatePaymentPlanInput!) {{
  createPaymentPlan(input: $input) {{
    paymentPlan {{ id total currency installments {{ id position dueOn amount receivedAmount outstandingAmount overdue }} }}
    {ERRORS}
  }}
}}"""


def create_plan(client: GraphQLClient, contract_id: str, installments: list[tuple[date, str]]) -> dict[str, Any]:
    payload = client.data(
        CREATE_PLAN,
        {
            "input": {
                "contractId": contract_id,
                "installments": [{"dueOn": d.isoformat(), "amount": a} for d, a in installments],
            }
        },
    )["createPaymentPlan"]
    assert payload["userErrors"] == [], payload
    return dict(payload["paymentPlan"])


RECORD_PAYMENT = f"""mutation($input: RecordPaymentInput!) {{
  recordPayment(input: $input) {{ payment {{ id amount receivedOn installment {{ receivedAmount outstandingAmount }} }} {ERRORS} }}
}}"""


def pay(client: GraphQLClient, installment_id: str, amount: str, on: date | None = None) -> dict[str, Any]:
    return dict(
        client.data(
            RECORD_PAYMENT,
            {"input": {"installmentId": installment_id, "amount": amount, "receivedOn": (on or TODAY).isoformat()}},
        )["recordPayment"]
    )


INVOICE_FIELDS = "id amount currency status number rejectionReason requestedBy { id } decidedBy { id }"
REQUEST_INVOICE = f"""mutation($input: RequestInvoiceInput!) {{
  requestInvoice(input: $input) {{ invoice {{ {INVOICE_FIELDS} }} {ERRORS} }}
}}"""
APPROVE = f"""mutation($input: ApproveInvoiceInput!) {{
  approveInvoice(input: $input) {{ invoice {{ {INVOICE_FIELDS} }} {ERRORS} }}
}}"""
REJECT = f"""mutation($input: RejectInvoiceInput!) {{
  rejectInvoice(input: $input) {{ invoice {{ {INVOICE_FIELDS} }} {ERRORS} }}
}}"""
ISSUE = f"""mutation($input: IssueInvoiceInput!) {{
  issueInvoice(input: $input) {{ invoice {{ {INVOICE_FIELDS} issuedAt }} {ERRORS} }}
}}"""


def request_invoice(client: GraphQLClient, contract_id: str, amount: str) -> dict[str, Any]:
    return dict(
        client.data(REQUEST_INVOICE, {"input": {"contractId": contract_id, "amount": amount}})["requestInvoice"]
    )


def create_product(client: GraphQLClient, sku: str, price: str, currency: str = "EUR", active: bool = True) -> str:
    result = client.data(
        "mutation($input: CreateProductInput!) { createProduct(input: $input) { product { id } userErrors { code } } }",
        {"input": {"sku": sku, "name": f"Product {sku}", "unitPrice": price, "currency": currency, "active": active}},
    )
    return str(result["createProduct"]["product"]["id"])


def in_days(days: int) -> date:
    return TODAY + timedelta(days=days)
