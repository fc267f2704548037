"""The public pool: the idle-customer job, claimCustomers (cap, races) and transferCustomers (tasks move)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from saas.errors import InputInvalid
from saas.followups import pool as pool_service
from saas.runtime import Runtime
from saas.schema.relay import decode_id, to_global_id
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient, TenantHandle, add_member
from tests.customers.live import event as live_event
from tests.customers.live import subscriber
from tests.followups.helpers import (
    AGENDA,
    CLAIM,
    TRANSFER,
    count,
    create_customer,
    create_task,
    errors_of,
    events,
    log_activity,
    member_id,
    rows,
    set_column,
)

OWNER_OF = "query($id: ID!) { customer(id: $id) { owner { id } } }"


def _age(runtime: Runtime, tenant: TenantHandle, customer: str, days: int) -> None:
    """The customer was created (and last claimed or handed over) `days` ago."""
    then = datetime.now(UTC) - timedelta(days=days)
    raw = decode_id(customer, "Customer")
    set_column(runtime, tenant.id, "UPDATE customers SET created_at = :t WHERE id = :c", t=then, c=raw)
    set_column(
        runtime, tenant.id, "UPDATE customer_handovers SET occurred_at = :t WHERE customer_id = :c", t=then, c=raw
    )


def _run_pool_job(runtime: Runtime, tenant: TenantHandle) -> list[str]:
    with tenant_session(runtime.engine, tenant.id) as session:
        return [to_global_id("Customer", c.id) for c in pool_service.return_idle_customers(session, tenant.id)]


def test_idle_customers_return_to_the_pool_and_contacted_ones_stay(
    owner: GraphQLClient, rep: GraphQLClient, tenant: TenantHandle, runtime: Runtime
) -> None:
    idle = create_customer(rep, "Idle")
    contacted = create_customer(rep, "Contacted")
    fresh = create_customer(rep, "Fresh")
    unowned = create_customer(owner, "Already in the pool")
    for customer in (idle, contacted, unowned):
        _age(runtime, tenant, customer, 31)
    log_activity(rep, contacted, occurredAt=(datetime.now(UTC) - timedelta(days=29)).isoformat())
    log_activity(rep, idle, occurredAt=(datetime.now(UTC) - timedelta(days=31)).isoformat())

    assert _run_pool_job(runtime, tenant) == [idle]
    assert owner.data(OWNER_OF, {"id": idle})["customer"]["owner"] is None
    for kept in (contacted, fresh):
        assert owner.data(OWNER_OF, {"id": kept})["customer"]["owner"] == {"id": member_id(rep)}
    [event] = events(runtime, tenant.id, "customer.returned_to_pool")
    assert event["customer"]["id"] == idle and event["customer"]["owner"] is None
    assert event["from"] == {"id": member_id(rep)} and event["reason"] == "No follow-up for 30 days"
    notes = rep.data("{ notifications { edges { node { kind body } } } }")["notifications"]["edges"]
    assert [n["node"]["kind"] for n in notes] == ["customer.returned_to_pool"]
    assert _run_pool_job(runtime, tenant) == []  # nothing more to do


def _set_sales_settings(owner: GraphQLClient, **values: int) -> None:
    """The tenant's sales settings (saas/leads/rules.py), through the API."""
    mutation = """mutation($input: UpdateSalesSettingsInput!) {
      updateSalesSettings(input: $input) { salesSettings { leadClaimCap } userErrors { field code message } } }"""
    assert owner.data(mutation, {"input": values})["updateSalesSettings"]["userErrors"] == []


def test_the_pool_period_is_the_tenants_sales_setting(
    owner: GraphQLClient, rep: GraphQLClient, tenant: TenantHandle, runtime: Runtime
) -> None:
    customer = create_customer(rep)
    _age(runtime, tenant, customer, 8)
    assert _run_pool_job(runtime, tenant) == []
    _set_sales_settings(owner, publicPoolDays=7)
    assert _run_pool_job(runtime, tenant) == [customer]


def test_a_claim_or_transfer_restarts_the_clock(
    owner: GraphQLClient, rep: GraphQLClient, tenant: TenantHandle, runtime: Runtime
) -> None:
    customer = create_customer(owner, "Old", ownerId=None)
    set_column(runtime, tenant.id, "UPDATE customers SET created_at = now() - interval '90 days'")
    assert rep.data(CLAIM, {"input": {"ids": [customer]}})["claimCustomers"]["userErrors"] == []
    assert _run_pool_job(runtime, tenant) == []


def test_the_pool_job_leaves_other_tenants_alone(
    rep: GraphQLClient, other_owner: GraphQLClient, tenant: TenantHandle, other_tenant: TenantHandle, runtime: Runtime
) -> None:
    theirs = create_customer(other_owner, "Theirs", ownerId=member_id(other_owner))
    set_column(runtime, other_tenant.id, "UPDATE customers SET created_at = now() - interval '90 days'")
    assert _run_pool_job(runtime, tenant) == []
    assert other_owner.data(OWNER_OF, {"id": theirs})["customer"]["owner"] == {"id": member_id(other_owner)}


def test_a_rep_claims_pool_customers(
    owner: GraphQLClient, rep: GraphQLClient, tenant: TenantHandle, runtime: Runtime
) -> None:
    first, second = create_customer(owner, "One", ownerId=None), create_customer(owner, "Two", ownerId=None)
    payload = rep.data(CLAIM, {"input": {"ids": [first, second]}})["claimCustomers"]
    assert payload["userErrors"] == []
    assert [(c["id"], c["owner"]) for c in payload["customers"]] == [
        (first, {"id": member_id(rep)}),
        (second, {"id": member_id(rep)}),
    ]
    assert [c["version"] for c in payload["customers"]] == [2, 2]
    claimed = events(runtime, tenant.id, "customer.claimed")
    assert [e["customer"]["id"] for e in claimed] == [first, second]
    assert claimed[0]["to"] == {"id": member_id(rep)}
    assert count(runtime, tenant.id, "customer_handovers", "kind = 'claim'") == 2


def test_claims_are_all_or_nothing(
    owner: GraphQLClient, rep: GraphQLClient, other_rep: GraphQLClient, tenant: TenantHandle, runtime: Runtime
) -> None:
    free = create_customer(owner, "Free", ownerId=None)
    taken = create_customer(other_rep, "Taken")
    assert errors_of(rep, CLAIM, {"input": {"ids": [free, taken]}}, "claimCustomers") == [
        (["input", "ids", "1"], "NOT_IN_POOL")
    ]
    mine = create_customer(rep, "Mine")
    assert errors_of(rep, CLAIM, {"input": {"ids": [free, mine]}}, "claimCustomers") == [
        (["input", "ids", "1"], "NOT_IN_POOL")
    ]
    assert owner.data(OWNER_OF, {"id": free})["customer"]["owner"] is None
    assert events(runtime, tenant.id, "customer.claimed") == []


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        ([], (["input", "ids"], "REQUIRED")),
        (["garbage"], (["input", "ids", "0"], "NOT_FOUND")),
        ([to_global_id("Customer", "3f1c1c56-7d3e-4c61-9a50-0c5b8d1f2e10")], (["input", "ids", "0"], "NOT_FOUND")),
        ([to_global_id("Customer", "3f1c1c56-7d3e-4c61-9a50-0c5b8d1f2e10")] * 101, (["input", "ids"], "INVALID")),
    ],
)
def test_bad_claims_are_coded_user_errors(
    rep: GraphQLClient, tenant: TenantHandle, runtime: Runtime, ids: list, expected: tuple
) -> None:
    assert errors_of(rep, CLAIM, {"input": {"ids": ids}}, "claimCustomers") == [expected]
    assert count(runtime, tenant.id, "customer_handovers") == 0


def test_another_tenants_pool_customer_cannot_be_claimed(
    rep: GraphQLClient, other_owner: GraphQLClient, other_tenant: TenantHandle, runtime: Runtime
) -> None:
    theirs = create_customer(other_owner, "Theirs", ownerId=None)
    assert errors_of(rep, CLAIM, {"input": {"ids": [theirs]}}, "claimCustomers") == [
        (["input", "ids", "0"], "NOT_FOUND")
    ]
    assert other_owner.data(OWNER_OF, {"id": theirs})["customer"]["owner"] is None


def test_the_claim_cap_counts_what_the_rep_holds(
    owner: GraphQLClient, rep: GraphQLClient, tenant: TenantHandle, runtime: Runtime
) -> None:
    _set_sales_settings(owner, leadClaimCap=2)
    create_customer(rep, "Held")
    pool = [create_customer(owner, f"P{i}", ownerId=None) for i in range(2)]
    assert errors_of(rep, CLAIM, {"input": {"ids": pool}}, "claimCustomers") == [
        (["input", "ids"], "CLAIM_CAP_EXCEEDED")
    ]
    assert rep.data(CLAIM, {"input": {"ids": pool[:1]}})["claimCustomers"]["userErrors"] == []
    assert errors_of(rep, CLAIM, {"input": {"ids": pool[1:]}}, "claimCustomers") == [
        (["input", "ids"], "CLAIM_CAP_EXCEEDED")
    ]


def test_two_reps_claiming_the_same_customers_at_once_never_both_get_one(
    owner: GraphQLClient, rep: GraphQLClient, other_rep: GraphQLClient, tenant: TenantHandle, runtime: Runtime
) -> None:
    """Real concurrent requests, released together, over several rounds."""
    for round_ in range(4):
        ids = [create_customer(owner, f"Race {round_}.{i}", ownerId=None) for i in range(3)]
        start = threading.Barrier(2)
        results: dict[str, Any] = {}

        def claim(
            name: str, client: GraphQLClient, ids: list[str], start: threading.Barrier, results: dict[str, Any]
        ) -> None:
            start.wait(timeout=10)
            results[name] = client.execute(CLAIM, {"input": {"ids": ids}})["data"]["claimCustomers"]

        threads = [
            threading.Thread(target=claim, args=(n, c, ids, start, results)) for n, c in (("a", rep), ("b", other_rep))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        winners = [name for name, payload in results.items() if payload["userErrors"] == []]
        assert len(winners) == 1, results
        loser = "b" if winners == ["a"] else "a"
        assert {e["code"] for e in results[loser]["userErrors"]} == {"NOT_IN_POOL"}
        owners = {owner.data(OWNER_OF, {"id": i})["customer"]["owner"]["id"] for i in ids}
        assert owners == {member_id(rep if winners == ["a"] else other_rep)}
    assert count(runtime, tenant.id, "customer_handovers", "kind = 'claim'") == 12


def test_a_second_claim_waits_for_the_first_and_finds_the_customer_taken(
    owner: GraphQLClient,
    rep: GraphQLClient,
    other_rep: GraphQLClient,
    tenant: TenantHandle,
    runtime: Runtime,
    principal_of: Any,
) -> None:
    customer = create_customer(owner, "Contested", ownerId=None)
    raw = decode_id(customer, "Customer")
    outcome: list[str] = []

    def second() -> None:
        try:
            with tenant_session(runtime.engine, tenant.id) as session:
                pool_service.claim_customers(session, principal_of(other_rep), [raw])
            outcome.append("claimed")
        except InputInvalid as invalid:
            outcome.append(invalid.errors[0].code)

    with tenant_session(runtime.engine, tenant.id) as session:
        pool_service.claim_customers(session, principal_of(rep), [raw])
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive()  # blocked on the customer's row lock
    thread.join(timeout=10)
    assert outcome == ["NOT_IN_POOL"]


def test_a_transfer_moves_the_customer_and_its_open_tasks(
    owner: GraphQLClient, rep: GraphQLClient, other_rep: GraphQLClient, tenant: TenantHandle, runtime: Runtime
) -> None:
    customer = create_customer(rep, "Handed over")
    open_task = create_task(rep, customer, "2030-01-01T00:00:00+00:00", "Open")
    done = create_task(rep, customer, "2030-01-01T00:00:00+00:00", "Done")
    rep.data("mutation($id: ID!) { completeTask(input: {id: $id}) { task { id } } }", {"id": done["id"]})
    elsewhere = create_task(rep, create_customer(rep, "Kept"), "2030-01-01T00:00:00+00:00", "Elsewhere")
    target = member_id(other_rep)
    payload = rep.data(TRANSFER, {"input": {"ids": [customer], "toMemberId": target, "note": "Going on leave"}})
    result = payload["transferCustomers"]
    assert result["userErrors"] == []
    assert result["customers"] == [{"id": customer, "owner": {"id": target}}]
    assert result["tasks"] == [{"id": open_task["id"], "assignee": {"id": target}}]
    # The new owner's agenda has the open task; the old owner keeps the rest.
    assert [t["id"] for t in other_rep.data(AGENDA)["myAgenda"]["upcoming"]] == [open_task["id"]]
    assert [t["id"] for t in rep.data(AGENDA)["myAgenda"]["upcoming"]] == [elsewhere["id"]]
    [event] = events(runtime, tenant.id, "customer.transferred")
    assert event["customer"]["owner"] == {"id": target}
    assert event["from"] == {"id": member_id(rep)} and event["to"] == {"id": target}
    assert event["note"] == "Going on leave" and event["tasks"] == [{"id": open_task["id"]}]
    [moved] = events(runtime, tenant.id, "task.reassigned")
    assert moved["task"]["id"] == open_task["id"] and moved["task"]["assignee"] == {"id": target}
    handovers = rows(runtime, tenant.id, "SELECT kind, note FROM customer_handovers")
    assert [(h.kind, h.note) for h in handovers] == [("transfer", "Going on leave")]
    notes = other_rep.data("{ notifications { edges { node { kind } } } }")["notifications"]["edges"]
    assert [n["node"]["kind"] for n in notes] == ["customer.transferred"]


def test_transfer_refusals(
    owner: GraphQLClient,
    rep: GraphQLClient,
    other_rep: GraphQLClient,
    other_owner: GraphQLClient,
    tenant: TenantHandle,
    runtime: Runtime,
) -> None:
    mine = create_customer(rep, "Mine")
    pool = create_customer(owner, "Pool", ownerId=None)
    to = member_id(other_rep)
    cases = [
        ({"ids": [pool], "toMemberId": to}, [(["input", "ids", "0"], "INVALID")]),  # a rep transfers only their own
        ({"ids": [mine], "toMemberId": member_id(rep)}, [(["input", "ids", "0"], "INVALID")]),  # already theirs
        ({"ids": [mine], "toMemberId": "garbage"}, [(["input", "toMemberId"], "NOT_FOUND")]),
        ({"ids": [mine], "toMemberId": member_id(other_owner)}, [(["input", "toMemberId"], "NOT_FOUND")]),
        ({"ids": [mine], "toMemberId": to, "note": "n" * 1001}, [(["input", "note"], "TOO_LONG")]),
        ({"ids": [], "toMemberId": to}, [(["input", "ids"], "REQUIRED")]),
        ({"ids": [create_customer(other_owner)], "toMemberId": to}, [(["input", "ids", "0"], "NOT_FOUND")]),
    ]
    for variables, expected in cases:
        assert errors_of(rep, TRANSFER, {"input": variables}, "transferCustomers") == expected, variables
    assert count(runtime, tenant.id, "customer_handovers") == 0
    assert owner.data(OWNER_OF, {"id": mine})["customer"]["owner"] == {"id": member_id(rep)}
    # An owner may transfer anyone's customer, the pool's included.
    assert (
        owner.data(TRANSFER, {"input": {"ids": [mine, pool], "toMemberId": to}})["transferCustomers"]["userErrors"]
        == []
    )


def test_a_manager_transfers_the_team_s_customers_and_no_one_else_s(
    owner: GraphQLClient, rep: GraphQLClient, other_rep: GraphQLClient, tenant: TenantHandle, runtime: Runtime
) -> None:
    manager = add_member(owner, tenant, "manager")
    owner.data(
        "mutation($input: CreateTeamInput!) { createTeam(input: $input) { userErrors { code } } }",
        {"input": {"name": "North", "managerId": member_id(manager), "memberIds": [member_id(rep)]}},
    )
    teams = create_customer(rep, "Team's")
    outside = create_customer(other_rep, "Outside the team")
    pool = create_customer(owner, "Pool", ownerId=None)
    to = member_id(other_rep)
    for refused in (outside, pool):
        assert errors_of(
            manager, TRANSFER, {"input": {"ids": [teams, refused], "toMemberId": to}}, "transferCustomers"
        ) in (
            [(["input", "ids", "1"], "INVALID")],
            [(["input", "ids", "1"], "NOT_FOUND")],  # a customer the manager cannot see at all
        )
    assert count(runtime, tenant.id, "customer_handovers") == 0
    payload = manager.data(TRANSFER, {"input": {"ids": [teams], "toMemberId": to}})["transferCustomers"]
    assert payload["userErrors"] == []
    assert payload["customers"] == [{"id": teams, "owner": {"id": to}}]


def test_claims_and_transfers_are_in_the_audit_log(
    owner: GraphQLClient, rep: GraphQLClient, other_rep: GraphQLClient, tenant: TenantHandle, runtime: Runtime
) -> None:
    customer = create_customer(owner, "Audited", ownerId=None)
    rep.data(CLAIM, {"input": {"ids": [customer]}})
    rep.data(TRANSFER, {"input": {"ids": [customer], "toMemberId": member_id(other_rep)}})
    entries = rows(
        runtime,
        tenant.id,
        "SELECT action, before->>'owner_id', after->>'owner_id' FROM audit_log "
        "WHERE action IN ('customer.claimed', 'customer.transferred') ORDER BY created_at, action",
    )
    rep_raw, other_raw = (str(decode_id(member_id(c), "Member")) for c in (rep, other_rep))
    assert [tuple(e) for e in entries] == [
        ("customer.claimed", None, rep_raw),
        ("customer.transferred", rep_raw, other_raw),
    ]


def test_a_claim_waiting_on_a_customer_does_not_deadlock_a_transfer_to_the_claimer(
    owner: GraphQLClient, rep: GraphQLClient, tenant: TenantHandle, runtime: Runtime, principal_of: Any
) -> None:
    """The transfer holds the customer and then points it at the rep (a foreign-key check on the
    rep's membership row) while the rep's claim, holding that row, waits for the customer."""
    from sqlalchemy import text

    customer = create_customer(owner, "Both ways", ownerId=None)
    raw, rep_raw = decode_id(customer, "Customer"), decode_id(member_id(rep), "Member")
    outcome: list[str] = []

    def claim() -> None:
        try:
            with tenant_session(runtime.engine, tenant.id) as session:
                pool_service.claim_customers(session, principal_of(rep), [raw])
            outcome.append("claimed")
        except InputInvalid as invalid:
            outcome.append(str(invalid.errors[0].code))

    with tenant_session(runtime.engine, tenant.id) as session:
        session.execute(text("SELECT 1 FROM customers WHERE id = :c FOR UPDATE"), {"c": raw})
        thread = threading.Thread(target=claim)
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive()  # the claim holds the rep's row and waits for the customer
        session.execute(text("UPDATE customers SET owner_id = :m WHERE id = :c"), {"m": rep_raw, "c": raw})
    thread.join(timeout=10)
    assert outcome == ["NOT_IN_POOL"]


def test_the_pool_job_and_claims_announce_the_customer_live(
    owner: GraphQLClient, rep: GraphQLClient, tenant: TenantHandle, runtime: Runtime, graphql_engine: Any
) -> None:
    """The pool service announces its changes after commit, so the job (no GraphQL) is heard too."""
    idle = create_customer(rep, "Idle and announced")
    _age(runtime, tenant, idle, 31)
    with subscriber(runtime, graphql_engine, tenant.id, str(owner.token)) as listener:
        assert _run_pool_job(runtime, tenant) == [idle]
        returned = listener.next_event()
        rep.data(CLAIM, {"input": {"ids": [idle]}})
        claimed = listener.next_event()
    raw = decode_id(idle, "Customer")
    assert returned == live_event("customer.updated", raw)
    assert claimed == live_event("customer.updated", raw)
