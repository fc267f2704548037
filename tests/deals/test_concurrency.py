"""Concurrent writers, in real concurrent transactions: payments never overpay an installment,
invoice requests never exceed a contract, a tenant's default stages are made once, one of
concurrent moves of an opportunity wins (the others get a code, nothing half-written)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from saas.auth.principal import Principal
from saas.deals import service
from saas.errors import ConflictError, FieldError, InputInvalid
from saas.runtime import Runtime
from saas.schema.relay import decode_id, to_global_id
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient, TenantHandle
from tests.deals.support import (
    TODAY,
    create_contract,
    create_customer,
    create_opportunity,
    create_plan,
    in_days,
    stages,
)

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


def _race_moves(runtime: Runtime, tenant: TenantHandle, work: Callable[[Any], Any]) -> list[str]:
    """`_race`, a CONFLICT counted by its code too."""

    def move_or_conflict(session: Any) -> None:
        try:
            work(session)
        except ConflictError as conflict:
            raise InputInvalid([FieldError(["input", "version"], str(conflict.code.value), conflict.message)]) from None

    return _race(runtime, tenant, move_or_conflict)


def _move_records(runtime: Runtime, tenant: TenantHandle, opportunity_id: Any) -> tuple[int, int, int, int]:
    """The opportunity's version, its stage-history entries, its `opportunity.stage_changed` audit
    entries and events."""
    with tenant_session(runtime.engine, tenant.id) as session:
        return tuple(
            session.execute(
                text(
                    "SELECT (SELECT version FROM opportunities WHERE id = :id),"
                    " (SELECT count(*) FROM opportunity_stage_changes WHERE opportunity_id = :id),"
                    " (SELECT count(*) FROM audit_log WHERE entity_id = CAST(:id AS text)"
                    "  AND action = 'opportunity.stage_changed'),"
                    " (SELECT count(*) FROM outbox_events WHERE type = 'opportunity.stage_changed'"
                    "  AND payload -> 'opportunity' ->> 'id' = :node)"
                ),
                {"id": opportunity_id, "node": to_global_id("Opportunity", opportunity_id)},
            ).one()
        )


def test_concurrent_moves_of_one_opportunity_one_wins_the_others_get_a_code(
    runtime: Runtime, owner: GraphQLClient, tenant: TenantHandle
) -> None:
    opportunity = create_opportunity(owner, create_customer(owner))
    opportunity_id = decode_id(opportunity["id"], "Opportunity")
    pipeline = stages(owner)
    principal = _principal(runtime, owner)
    targets = iter([pipeline["Proposal"]["id"], pipeline["Negotiation"]["id"]] * WRITERS)
    lock = threading.Lock()

    def versioned(session: Any) -> None:
        with lock:
            target = decode_id(next(targets), "PipelineStage")
        service.move_opportunity(session, principal, opportunity_id, target, None, version=opportunity["version"])

    # Each names the version it read: the first to lock the row moves it, the others are stale.
    assert _race_moves(runtime, tenant, versioned) == ["CONFLICT"] * (WRITERS - 1) + ["ok"]
    assert _move_records(runtime, tenant, opportunity_id) == (opportunity["version"] + 1, 2, 1, 1)

    won = decode_id(pipeline["Won"]["id"], "PipelineStage")

    def unversioned(session: Any) -> None:
        service.move_opportunity(session, principal, opportunity_id, won, None)

    # No version: the first into WON moves it, the others find it there already.
    assert _race_moves(runtime, tenant, unversioned) == ["INVALID"] * (WRITERS - 1) + ["ok"]
    assert _move_records(runtime, tenant, opportunity_id) == (opportunity["version"] + 2, 3, 2, 2)
