"""Live fan-out (`saas/schema/fanout.py`): subscribers of one document, variables and principal
share one execution per event; none of them loses or receives twice an event, and a subscriber of
another principal (another tenant, a rep who sees less) keeps its own stream."""

from __future__ import annotations

import asyncio
from typing import Any

from saas.plugin_api.testing import wait_for_listeners
from tests.conftest import GraphQLClient, add_member

EVENTS = "subscription { customerEvents { kind customerId } }"


async def _subscribe(client: GraphQLClient, query: str = EVENTS) -> tuple[Any, Any]:
    engine = client.engine
    principal = await asyncio.to_thread(engine.runtime.authenticate, f"Bearer {client.token}")
    stream = await engine.subscribe(engine.prepare(query, None, principal), None, principal, "sub")
    return principal, stream


def _create(client: GraphQLClient, name: str) -> str:
    data = client.data("mutation($n: String!) { createCustomer(input: {name: $n}) { customer { id } } }", {"n": name})
    return str(data["createCustomer"]["customer"]["id"])


def test_subscribers_of_one_key_share_each_execution_and_get_every_event_once(
    owner: GraphQLClient, other_owner: GraphQLClient, tenant: Any
) -> None:
    rep = add_member(owner, tenant, "sales")
    engine = owner.engine

    async def main() -> dict[str, Any]:
        streams = [await _subscribe(owner) for _ in range(20)]
        _, rep_stream = await _subscribe(rep)
        _, stranger_stream = await _subscribe(other_owner)
        principal = streams[0][0]
        shared = list(engine.shared_streams.streams.values())
        received: list[list[dict[str, Any]]] = [[] for _ in range(len(streams) + 2)]

        async def pump(index: int, stream: Any, stop_after: int | None = None) -> None:
            async for payload in stream:
                received[index].append(payload["data"]["customerEvents"])
                if stop_after is not None and len(received[index]) == stop_after:
                    await stream.aclose()
                    return

        tasks = [asyncio.create_task(pump(i, s, stop_after=2 if i == 0 else None)) for i, (_, s) in enumerate(streams)]
        tasks.append(asyncio.create_task(pump(len(streams), rep_stream)))
        tasks.append(asyncio.create_task(pump(len(streams) + 1, stranger_stream)))
        await wait_for_listeners(engine.runtime, principal.tenant_id, "customers")
        ids = []
        for index in range(5):
            ids.append(await asyncio.to_thread(_create, owner, f"Shared {index}"))
        await asyncio.sleep(0.5)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        queues = sorted(len(stream.queues) for stream in shared)
        executions = sorted(stream.executions for stream in shared)
        return {"received": received, "ids": ids, "queues": queues, "executions": executions}

    result = asyncio.run(main())
    received, ids = result["received"], result["ids"]
    expected = [{"kind": "customer.created", "customerId": customer_id} for customer_id in ids]
    assert received[0] == expected[:2]  # left after two: the others went on
    for index in range(1, 20):
        assert received[index] == expected, index  # every event, once, in order
    assert received[20] == expected  # the rep sees unassigned customers, through a stream of its own
    assert received[21] == []  # another tenant: nothing
    # Three streams (the owner's 20 subscriptions, the rep's, the other tenant's): the owner's
    # selection executed once per event, not once per subscriber; each stream stopped with its
    # last subscriber.
    assert result["queues"] == [0, 0, 0]
    assert result["executions"] == [0, 5, 5]
    assert owner.engine.shared_streams.streams == {}
