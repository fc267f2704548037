"""customerEvents: live, tenant-scoped, and filtered by the same visibility rule as lists."""

from __future__ import annotations

import asyncio
from typing import Any

from saas.realtime import channel
from tests.conftest import GraphQLClient, add_member

EVENTS = "subscription { customerEvents { kind customerId contactId } }"


async def _collect(client: GraphQLClient, started: asyncio.Event, stop: asyncio.Event) -> list[dict[str, Any]]:
    engine = client.engine
    principal = await asyncio.to_thread(engine.runtime.authenticate, f"Bearer {client.token}")
    stream = await engine.subscribe(engine.prepare(EVENTS, None, principal), None, principal, "sub")
    received: list[dict[str, Any]] = []

    async def pump() -> None:
        async for payload in stream:
            received.append(payload)

    task = asyncio.create_task(pump())
    # The listener is subscribed once Redis counts it on the tenant's channel.
    for _ in range(200):
        counts = dict(
            await asyncio.to_thread(engine.runtime.redis.pubsub_numsub, channel(principal.tenant_id, "customers"))
        )
        if counts.get(channel(principal.tenant_id, "customers").encode(), 0) >= 1:
            break
        await asyncio.sleep(0.01)
    started.set()
    await stop.wait()
    await asyncio.sleep(0.3)  # let the last published messages arrive
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    return received


def _run(listener: GraphQLClient, act) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    async def main() -> list[dict[str, Any]]:
        started, stop = asyncio.Event(), asyncio.Event()
        collecting = asyncio.create_task(_collect(listener, started, stop))
        await started.wait()
        await asyncio.to_thread(act)
        stop.set()
        return await collecting

    return asyncio.run(main())


def test_events_reach_the_tenant_and_no_other(owner: GraphQLClient, other_owner: GraphQLClient) -> None:
    def act() -> None:
        created = owner.data('mutation { createCustomer(input: {name: "Live Corp"}) { customer { id } } }')
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
