"""customerEvents: live changes of the subscriber's tenant only, over real Redis pub/sub."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from saas.realtime import channel
from tests.conftest import add_member
from tests.schema.helpers import CREATE_CONTACT, CREATE_CUSTOMER, DELETE_CUSTOMER, UPDATE_CUSTOMER, my_member_id

SUBSCRIPTION = "subscription { customerEvents { kind customerId contactId } }"
TIMEOUT = 5.0


class Session:
    """Runs a subscription and mutations on one event loop, through the real engine."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    async def principal(self, client: Any) -> Any:
        return await asyncio.to_thread(
            self.engine.runtime.authenticate, f"Bearer {client.token}" if client.token else None
        )

    async def subscribe(self, client: Any) -> Any:
        principal = await self.principal(client)
        return await self.engine.subscribe(
            self.engine.prepare(SUBSCRIPTION, None, principal), None, principal, "sub-test"
        )

    async def mutate(self, client: Any, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        principal = await self.principal(client)
        outcome = await self.engine.execute(
            self.engine.prepare(query, None, principal), variables, principal, "mut-test"
        )
        assert "errors" not in outcome.payload, outcome.payload
        return outcome.payload["data"]


async def wait_for_listener(runtime: Any, tenant_id: Any, listeners: int = 1) -> None:
    name = channel(tenant_id, "customers")
    deadline = time.monotonic() + TIMEOUT
    while dict(runtime.redis.pubsub_numsub(name)).get(name.encode(), 0) < listeners:
        assert time.monotonic() < deadline, "the subscription never listened"
        await asyncio.sleep(0.01)


async def next_event(stream: AsyncIterator[dict[str, Any]], pending: asyncio.Future | None = None) -> dict[str, Any]:
    return await asyncio.wait_for(pending if pending is not None else stream.__anext__(), TIMEOUT)


async def close(stream: Any, pending: asyncio.Future) -> None:
    pending.cancel()
    with contextlib.suppress(BaseException):
        await pending
    await stream.aclose()


def event(kind: str, customer_id: str, contact_id: str | None = None) -> dict[str, Any]:
    return {"data": {"customerEvents": {"kind": kind, "customerId": customer_id, "contactId": contact_id}}}


def test_events_of_the_tenant_arrive_and_other_tenants_do_not(
    graphql_engine: Any, runtime: Any, owner: Any, other_owner: Any, tenant: Any
) -> None:
    session = Session(graphql_engine)

    async def scenario() -> None:
        stream = await session.subscribe(owner)
        pending = asyncio.ensure_future(stream.__anext__())
        try:
            await wait_for_listener(runtime, tenant.id)
            # another tenant's change is published first: if it leaked, it would be the first event
            await session.mutate(other_owner, CREATE_CUSTOMER, {"input": {"name": "Not yours"}})
            created = (await session.mutate(owner, CREATE_CUSTOMER, {"input": {"name": "Yours"}}))["createCustomer"][
                "customer"
            ]
            assert await next_event(stream, pending) == event("customer.created", created["id"])
            await session.mutate(owner, UPDATE_CUSTOMER, {"input": {"id": created["id"], "version": 1, "tier": "gold"}})
            assert await next_event(stream) == event("customer.updated", created["id"])
            contact = (
                await session.mutate(owner, CREATE_CONTACT, {"input": {"customerId": created["id"], "name": "C"}})
            )["createContact"]["contact"]
            assert await next_event(stream) == event("contact.created", created["id"], contact["id"])
            await session.mutate(owner, DELETE_CUSTOMER, {"input": {"id": created["id"]}})
            assert await next_event(stream) == event("customer.deleted", created["id"])
        finally:
            await close(stream, pending)

    asyncio.run(scenario())


def test_refused_change_publishes_nothing(graphql_engine: Any, runtime: Any, owner: Any, tenant: Any) -> None:
    session = Session(graphql_engine)

    async def scenario() -> None:
        stream = await session.subscribe(owner)
        pending = asyncio.ensure_future(stream.__anext__())
        try:
            await wait_for_listener(runtime, tenant.id)
            refused = await session.mutate(owner, CREATE_CUSTOMER, {"input": {"name": " "}})
            assert refused["createCustomer"]["userErrors"]
            created = (await session.mutate(owner, CREATE_CUSTOMER, {"input": {"name": "Valid"}}))["createCustomer"][
                "customer"
            ]
            assert await next_event(stream, pending) == event("customer.created", created["id"])
        finally:
            await close(stream, pending)

    asyncio.run(scenario())


def test_anonymous_cannot_subscribe(graphql_engine: Any, anonymous: Any) -> None:
    async def scenario() -> list[str]:
        outcome = await Session(graphql_engine).subscribe(anonymous)
        if hasattr(outcome, "payload"):  # refused before the stream started
            payload = outcome.payload
        else:  # refused as the stream's first (and last) result
            payload = await asyncio.wait_for(outcome.__anext__(), TIMEOUT)
            with contextlib.suppress(StopAsyncIteration):
                extra = await asyncio.wait_for(outcome.__anext__(), TIMEOUT)
                raise AssertionError(f"the stream went on: {extra}")
        return [e["extensions"]["code"] for e in payload["errors"]]

    assert asyncio.run(scenario()) == ["UNAUTHENTICATED"]


def test_sales_rep_gets_events_of_visible_customers_only(
    graphql_engine: Any, runtime: Any, owner: Any, tenant: Any
) -> None:
    rep, other_rep = add_member(owner, tenant, "sales"), add_member(owner, tenant, "sales")
    other_rep_id = my_member_id(other_rep)
    session = Session(graphql_engine)

    async def scenario() -> None:
        stream = await session.subscribe(rep)
        pending = asyncio.ensure_future(stream.__anext__())
        try:
            await wait_for_listener(runtime, tenant.id)
            # events about another rep's customer come first: if they leaked, they would be received first
            hidden = (
                await session.mutate(owner, CREATE_CUSTOMER, {"input": {"name": "Hidden", "ownerId": other_rep_id}})
            )["createCustomer"]["customer"]
            await session.mutate(owner, UPDATE_CUSTOMER, {"input": {"id": hidden["id"], "version": 1, "tier": "x"}})
            await session.mutate(owner, CREATE_CONTACT, {"input": {"customerId": hidden["id"], "name": "Secret"}})
            own = (await session.mutate(rep, CREATE_CUSTOMER, {"input": {"name": "Own"}}))["createCustomer"]["customer"]
            pool = (await session.mutate(owner, CREATE_CUSTOMER, {"input": {"name": "Pool"}}))["createCustomer"][
                "customer"
            ]
            assert await next_event(stream, pending) == event("customer.created", own["id"])
            assert await next_event(stream) == event("customer.created", pool["id"])
        finally:
            await close(stream, pending)

    asyncio.run(scenario())
