"""The reports' fixture dataset: two reps' opportunities in several stages and two currencies, won
and lost ones, contracts with payment plans (partial payments, overdue installments), and a second
tenant whose figures must never be counted. The dates are set by hand so each figure can be worked
out on paper (the expected values are in the tests, next to how they are computed)."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text

from saas.runtime import Runtime
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient, TenantHandle, add_member
from tests.deals.support import (
    CREATE_CONTRACT,
    TODAY,
    contract_input,
    create_customer,
    create_opportunity,
    create_plan,
    member_id,
    pay,
    stages,
)

YESTERDAY = TODAY - timedelta(days=1)


def raw(global_id: str) -> uuid.UUID:
    return uuid.UUID(base64.b64decode(global_id).decode().partition(":")[2])


def at(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


@dataclass
class Dataset:
    owner: GraphQLClient
    rep1: GraphQLClient
    rep2: GraphQLClient
    rep1_id: str
    rep2_id: str
    customer1: str


def _opportunity(
    runtime: Runtime,
    tenant: TenantHandle,
    client: GraphQLClient,
    customer: str,
    stage: str,
    amount: str,
    currency: str,
    created: str,
    closed: str | None = None,
) -> str:
    opportunity = create_opportunity(client, customer, amount, currency, stageId=stages(client)[stage]["id"])
    with tenant_session(runtime.engine, tenant.id) as session:
        session.execute(
            text("UPDATE opportunities SET created_at = :created, closed_at = :closed WHERE id = :id"),
            {"created": at(created), "closed": at(closed) if closed else None, "id": raw(opportunity["id"])},
        )
    return str(opportunity["id"])


def _contract_plan(
    client: GraphQLClient,
    opportunity: str,
    number: str,
    amount: str,
    currency: str,
    installments: list[tuple[date, str]],
) -> list[str]:
    payload = client.data(CREATE_CONTRACT, {"input": contract_input(opportunity, number, amount, currency=currency)})[
        "createContract"
    ]
    assert payload["userErrors"] == [], payload
    plan = create_plan(client, payload["contract"]["id"], installments)
    return [row["id"] for row in plan["installments"]]


def build(runtime: Runtime, tenant: TenantHandle, owner: GraphQLClient) -> Dataset:
    """Tenant one. rep1 owns a1..a6, rep2 b1..b3 (amounts, stages, created / closed, UTC):

    a1 1000.00 EUR Needs discovery (10 %)  created 2025-01-10 12:00
    a2  333.33 EUR Proposal (30 %)         created 2025-01-31 23:59:59
    a3 2000.00 EUR Won                     created 2025-01-05, closed 2025-02-03 09:00
    a4  500.00 EUR Lost                    created 2025-02-01 00:00, closed 2025-02-10
    a5  700.00 USD Proposal (30 %)         created 2025-01-15
    a6  100.00 USD Won                     created 2025-04-01, closed 2025-04-02
    b1 1500.00 EUR Negotiation (60 %)      created 2025-02-01 00:00
    b2  800.00 EUR Won                     created 2025-01-20, closed 2025-01-31 23:59:59
    b3 1200.00 EUR Won                     created 2025-03-01 00:00, closed 2025-03-01 00:00

    Payment plans (due on, amount, received):
    a3: 2025-02-15 1000.00 received 400.00 (overdue 600.00); today+30 1000.00 (not yet due)
    a6: 2025-04-30  100.00 USD nothing received (overdue 100.00)
    b2: 2025-02-10  300.00 received 300.00 (paid); 2025-03-10 500.00 (overdue 500.00)
    b3: yesterday 600.00 (overdue 600.00); today 600.00 (due, not overdue)
    """
    rep1 = add_member(owner, tenant, "sales")
    rep2 = add_member(owner, tenant, "sales")
    c1 = create_customer(rep1, "Rep one's customer")
    c2 = create_customer(rep2, "Rep two's customer")

    def opp(client: GraphQLClient, customer: str, *args: Any) -> str:
        return _opportunity(runtime, tenant, client, customer, *args)

    opp(rep1, c1, "Needs discovery", "1000.00", "EUR", "2025-01-10T12:00:00")
    opp(rep1, c1, "Proposal", "333.33", "EUR", "2025-01-31T23:59:59")
    a3 = opp(rep1, c1, "Won", "2000.00", "EUR", "2025-01-05T10:00:00", "2025-02-03T09:00:00")
    opp(rep1, c1, "Lost", "500.00", "EUR", "2025-02-01T00:00:00", "2025-02-10T10:00:00")
    opp(rep1, c1, "Proposal", "700.00", "USD", "2025-01-15T10:00:00")
    a6 = opp(rep1, c1, "Won", "100.00", "USD", "2025-04-01T10:00:00", "2025-04-02T10:00:00")
    opp(rep2, c2, "Negotiation", "1500.00", "EUR", "2025-02-01T00:00:00")
    b2 = opp(rep2, c2, "Won", "800.00", "EUR", "2025-01-20T10:00:00", "2025-01-31T23:59:59")
    b3 = opp(rep2, c2, "Won", "1200.00", "EUR", "2025-03-01T00:00:00", "2025-03-01T00:00:00")

    a3_plan = _contract_plan(
        rep1, a3, "A3", "2000.00", "EUR", [(date(2025, 2, 15), "1000.00"), (TODAY + timedelta(days=30), "1000.00")]
    )
    assert pay(rep1, a3_plan[0], "400.00")["userErrors"] == []
    _contract_plan(rep1, a6, "A6", "100.00", "USD", [(date(2025, 4, 30), "100.00")])
    b2_plan = _contract_plan(
        rep2, b2, "B2", "800.00", "EUR", [(date(2025, 2, 10), "300.00"), (date(2025, 3, 10), "500.00")]
    )
    assert pay(rep2, b2_plan[0], "300.00")["userErrors"] == []
    _contract_plan(rep2, b3, "B3", "1200.00", "EUR", [(YESTERDAY, "600.00"), (TODAY, "600.00")])
    return Dataset(owner, rep1, rep2, member_id(rep1), member_id(rep2), c1)


def build_other(runtime: Runtime, tenant: TenantHandle, owner: GraphQLClient) -> None:
    """Tenant two, on the same days: a won 9999.00 EUR with an unpaid overdue installment, an open 5555.00."""
    customer = create_customer(owner, "Other tenant's customer")
    won = _opportunity(
        runtime, tenant, owner, customer, "Won", "9999.00", "EUR", "2025-01-10T10:00:00", "2025-02-03T10:00:00"
    )
    _opportunity(runtime, tenant, owner, customer, "Proposal", "5555.00", "EUR", "2025-02-01T10:00:00")
    _contract_plan(owner, won, "X1", "9999.00", "EUR", [(date(2025, 2, 15), "9999.00")])
