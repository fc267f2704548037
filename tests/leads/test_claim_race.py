"""Claims under concurrency: each lead goes to exactly one member, and nobody passes the cap."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from saas.runtime import Runtime
from saas.schema.engine import dumps
from tests.conftest import GraphQLClient, add_member
from tests.leads.support import CLAIM, UPDATE_SETTINGS, count, create_lead, member_id, ok


def _claim_concurrently(graphql_engine: Any, batches: list[tuple[GraphQLClient, list[str]]]) -> list[dict[str, Any]]:
    """Every batch as its own request, all started together (each in its own transaction)."""

    async def run_all() -> list[dict[str, Any]]:
        async def one(index: int, client: GraphQLClient, ids: list[str]) -> dict[str, Any]:
            principal = await asyncio.to_thread(graphql_engine.runtime.authenticate, f"Bearer {client.token}")
            prepared = graphql_engine.prepare(CLAIM, None, principal)
            outcome = await graphql_engine.execute(prepared, {"input": {"ids": ids}}, principal, f"claim{index}")
            return orjson.loads(dumps(outcome.payload))["data"]["claimLeads"]  # type: ignore[no-any-return]

        return await asyncio.gather(*(one(i, c, ids) for i, (c, ids) in enumerate(batches)))

    return asyncio.run(run_all())


def test_two_reps_claiming_the_same_leads_never_both_get_one(
    graphql_engine: Any, owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    reps = [add_member(owner, tenant, "sales") for _ in range(2)]
    ids = [create_lead(owner, name=f"Lead {i}", allowDuplicate=True)["id"] for i in range(6)]
    for _ in range(3):  # a few rounds: the requests interleave differently
        results = _claim_concurrently(graphql_engine, [(reps[0], ids), (reps[1], list(reversed(ids)))])
        winners = [r for r in results if not r["userErrors"]]
        assert len(winners) == 1, results
        assert [e["code"] for r in results for e in r["userErrors"]] == ["NOT_IN_POOL"]
        assert {lead["id"] for lead in winners[0]["leads"]} == set(ids)
        assert count(runtime, tenant.id, "leads", "status = 'claimed'") == 6
        edges = owner.data("{ leads(first: 100) { edges { node { owner { id } } } } }")["leads"]["edges"]
        owners = {edge["node"]["owner"]["id"] for edge in edges}
        assert len(owners) == 1
        winner = reps[[member_id(r) for r in reps].index(owners.pop())]
        ok(winner, "mutation($input: ReturnLeadsInput!) { returnLeads(input: $input) { userErrors { code } } }",
           {"ids": ids, "reason": "Next round"}, "returnLeads")  # fmt: skip


def test_overlapping_claims_give_each_lead_to_one_rep(
    graphql_engine: Any, owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    reps = [add_member(owner, tenant, "sales") for _ in range(3)]
    ids = [create_lead(owner, name=f"Lead {i}", allowDuplicate=True)["id"] for i in range(4)]
    batches = [(reps[0], ids[0:2]), (reps[1], ids[1:3]), (reps[2], ids[2:4])]
    results = _claim_concurrently(graphql_engine, batches)
    claimed = [lead["id"] for r in results for lead in r["leads"]]
    assert len(claimed) == len(set(claimed))  # no lead twice
    assert count(runtime, tenant.id, "leads", "status = 'claimed'") == len(claimed)
    assert {(tuple(e["field"]), e["code"]) for r in results for e in r["userErrors"]} <= {
        (("input", "ids"), "NOT_IN_POOL")
    }
    assert any(r["leads"] for r in results)


def test_concurrent_claims_of_one_rep_never_pass_the_cap(
    graphql_engine: Any, owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    ok(owner, UPDATE_SETTINGS, {"leadClaimCap": 5}, "updateSalesSettings")
    rep = add_member(owner, tenant, "sales")
    ids = [create_lead(owner, name=f"Lead {i}", allowDuplicate=True)["id"] for i in range(8)]
    results = _claim_concurrently(graphql_engine, [(rep, ids[i : i + 2]) for i in range(0, 8, 2)])
    assert sorted(len(r["leads"]) for r in results) == [0, 0, 2, 2]
    assert sorted(e["code"] for r in results for e in r["userErrors"]) == ["CLAIM_CAP_EXCEEDED"] * 2
    assert count(runtime, tenant.id, "leads", "status = 'claimed'") == 4
