"""customerEvents: live, tenant-scoped, and filtered by the same visibility rule as lists."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from saas.plugin_api.testing import collect_events
from tests.conftest import GraphQLClient, add_member

EVENTS = "subscription { customerEvents { kind customerId contactId } }"


def _run(listener: GraphQLClient, act: Callable[[], None]) -> list[dict[str, Any]]:
    return collect_events(listener, EVENTS, None, "customers", act)


def test_events_reach_the_tenant_and_no_other(owner: GraphQLClient, other_owner: GraphQLClient) -> None:
    def act() -> None:
        created = owner.data(
            'mutation { createCustomer(input: {name: "Live Corp", allowDuplicate: true}) { customer { id } } }'
        )
        owner.data(
            'mutation($c: ID!) { createContact(input: {customerId: $c, name: "Lou"}) { contact { id } } }',
            {"c": created["createCustomer"]["customer"]["id"]},
        )

    mine = _run(owner, act)
    assert [p["data"]["customerEvents"]["kind"] for p in mine] == ["customer.created", "contact.created"]
    assert mine[1]["data"]["customerEvents"]["contactId"]
    theirs = _run(other_owner, act)
    assert theirs == []


def test_sales_reps_hear_only_of_customers_they_may_see(owner: GraphQLClient, tenant) -> None:  # type: ignore[no-untyped-def]
    sales = add_member(owner, tenant, "sales")
    other_rep = add_member(owner, tenant, "sales")
    other_rep_id = other_rep.data("{ me { member { id } } }")["me"]["member"]["id"]

    def act() -> None:
        owner.data(
            'mutation($o: ID!) { createCustomer(input: {name: "Theirs", ownerId: $o}) { customer { id } } }',
            {"o": other_rep_id},
        )
        owner.data('mutation { createCustomer(input: {name: "Pool"}) { customer { id } } }')
        sales.data('mutation { createCustomer(input: {name: "Mine"}) { customer { id } } }')

    received = _run(sales, act)
    assert len(received) == 2
    assert all(p["data"]["customerEvents"]["kind"] == "customer.created" for p in received)


def test_subscribing_needs_a_principal(graphql_engine) -> None:  # type: ignore[no-untyped-def]
    async def main() -> list[dict[str, Any]]:
        stream = await graphql_engine.subscribe(graphql_engine.prepare(EVENTS, None), None, None, "anon")
        return [payload async for payload in stream]

    payloads = asyncio.run(main())
    assert [e["extensions"]["code"] for e in payloads[0]["errors"]] == ["UNAUTHENTICATED"]
