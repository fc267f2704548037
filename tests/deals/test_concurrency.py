"""Concurrent writers, in real concurrent transactions: payments never overpay an installment,
invoice requests never exceed a contract, a tenant's default stages are made once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from saas.auth.principal import Principal
from saas.deals import service
from saas.errors import InputInvalid
from saas.runtime import Runtime
from saas.schema.relay import decode_id
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient, TenantHandle
from tests.deals.support import TODAY, create_contract, create_customer, create_plan, in_days

WRITERS = 8


def _race(runtime: Runtime, tenant: TenantHandle, work: Callable[[Any], Any]) -> list[str]:
    """Run `work(session)` in WRITERS threads, each in its own transaction, released together."""
    start = threading.Barrier(WRITERS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def writer() -> None:
        start.wait(timeout=20)
        try:
            with tenant_session(runtime.engine, tenant.id) as session:
                work(session)
            outcome = "ok"
        except InputInvalid as invalid:
            outcome = str(invalid.errors[0].code)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=writer) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(outcomes)


def _principal(runtime: Runtime, client: GraphQLClient) -> Principal:
    principal = runtime.authenticate(f"Bearer {client.token}")
    assert principal is not None
    return principal


def test_concurrent_payments_of_one_installment_never_overpay(
    runtime: Runtime, owner: GraphQLClient, tenant: TenantHandle
) -> None:
    contract = create_contract(owner, create_customer(owner), amount="100.00")
    plan = create_plan(owner, contract, [(in_days(10), "100.00")])
    installment = decode_id(plan["installments"][0]["id"], "Installment")
    principal = _principal(runtime, owner)

    def work(session: Any) -> None:
        service.record_payment(
            session, principal, {"installment_id": installment, "amount": Decimal("30.00"), "received_on": TODAY}
        )

    outcomes = _race(runtime, tenant, work)
    assert outcomes == ["OVERPAYMENT"] * 5 + ["ok"] * 3
    with tenant_session(runtime.engine, tenant.id) as session:
        received, paid = session.execute(
            text(
                "SELECT i.received_amount, (SELECT sum(p.amount) FROM payments p WHERE p.installment_id = i.id)"
                " FROM payment_installments i WHERE i.id = :id"
            ),
            {"id": installment},
        ).one()
    assert received == paid == Decimal("90.00")


def test_concurrent_invoice_requests_never_exceed_the_contract(
    runtime: Runtime, owner: GraphQLClient, tenant: TenantHandle
) -> None:
    contract = decode_id(create_contract(owner, create_customer(owner), amount="100.00"), "Contract")
    principal = _principal(runtime, owner)

    def work(session: Any) -> None:
        service.request_invoice(session, principal, {"contract_id": contract, "amount": Decimal("40.00")})

    assert _race(runtime, tenant, work) == ["EXCEEDS_UNINVOICED"] * 6 + ["ok"] * 2


def test_first_uses_at_once_make_the_default_stages_once(
    runtime: Runtime, owner: GraphQLClient, tenant: TenantHandle
) -> None:
    assert _race(runtime, tenant, service.ensure_pipeline) == ["ok"] * WRITERS
    with tenant_session(runtime.engine, tenant.id) as session:
        assert session.execute(text("SELECT count(*) FROM pipeline_stages")).scalar_one() == 5
