"""The per-request DataLoader helper: batching, key order, the per-request cache, tenant isolation.

Batches read with raw SQL on purpose: no ORM tenant criteria apply, so a second tenant finding
nothing proves the batch ran on the request's tenant-bound session under row-level security.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Session

from saas.auth.principal import Principal
from saas.customers import service
from saas.db.statements import counting
from saas.runtime import Runtime
from saas.schema.context import RequestContext
from saas.schema.loaders import request_loader
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient, TenantHandle

NAMES = text("SELECT id, name FROM customers WHERE id = ANY(:ids)").bindparams(
    bindparam("ids", type_=ARRAY(UUID(as_uuid=True)))
)
batches: list[list[uuid.UUID]] = []


def names(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    batches.append(list(ids))
    return {row.id: row.name for row in session.execute(NAMES, {"ids": ids})}


def name_lists(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    return {key: [name] for key, name in names(session, ids).items()}


def _principal(runtime: Runtime, client: GraphQLClient) -> Principal:
    principal = runtime.authenticate(f"Bearer {client.token}")
    assert principal is not None
    return principal


def _customers(runtime: Runtime, principal: Principal, count: int) -> list[uuid.UUID]:
    with tenant_session(runtime.engine, principal.tenant_id) as session:
        return [service.create_customer(session, principal, {"name": f"Customer {n}"}).id for n in range(count)]


def _run(runtime: Runtime, principal: Principal, scenario: Any) -> Any:
    """`scenario(context)` in one request context, closed at the end, as the engine does."""

    async def request() -> Any:
        context = RequestContext(runtime, principal, "test-request")
        try:
            return await scenario(context)
        finally:
            context.close()

    return asyncio.run(request())


def test_a_page_of_parents_loads_in_one_statement_in_key_order(runtime: Runtime, owner: GraphQLClient) -> None:
    principal = _principal(runtime, owner)
    ids = _customers(runtime, principal, 7)

    def load(wanted: list[uuid.UUID]) -> tuple[list[str | None], int]:
        async def scenario(context: RequestContext) -> list[str | None]:
            loader = request_loader(context, "test.names", names)
            return list(await asyncio.gather(*(loader.load(key) for key in wanted)))

        with counting() as statements:
            loaded = _run(runtime, principal, scenario)
        return loaded, statements[0]

    batches.clear()
    one, one_parent = load(ids[:1])
    page, eight_parents = load([*reversed(ids), uuid.uuid4()])
    assert one == ["Customer 0"]
    assert page == [f"Customer {n}" for n in reversed(range(7))] + [None]
    assert [len(keys) for keys in batches] == [1, 8]  # one batch per request
    assert eight_parents == one_parent


def test_a_missing_key_gets_the_missing_value(runtime: Runtime, owner: GraphQLClient) -> None:
    principal = _principal(runtime, owner)
    [known] = _customers(runtime, principal, 1)

    async def scenario(context: RequestContext) -> list[list[str]]:
        loader = request_loader(context, "test.name_lists", name_lists, missing=list)
        return list(await loader.load_many([known, uuid.uuid4()]))

    assert _run(runtime, principal, scenario) == [["Customer 0"], []]


def test_the_loader_is_cached_per_request(runtime: Runtime, owner: GraphQLClient) -> None:
    principal = _principal(runtime, owner)
    [known] = _customers(runtime, principal, 1)

    async def scenario(context: RequestContext) -> tuple[bool, str | None, str | None]:
        first = request_loader(context, "test.names", names)
        before = await first.load(known)
        again = request_loader(context, "test.names", names)
        after = await again.load(known)
        return first is again, before, after

    batches.clear()
    assert _run(runtime, principal, scenario) == (True, "Customer 0", "Customer 0")
    assert batches == [[known]]  # the second load was answered by the request's cache
    # A new request starts with no loaders: it reads again.
    assert _run(runtime, principal, scenario)[0] is True
    assert batches == [[known], [known]]


def test_a_second_tenant_loads_nothing_of_the_first(
    runtime: Runtime, owner: GraphQLClient, anonymous: GraphQLClient, other_tenant: TenantHandle
) -> None:
    from tests.conftest import login

    principal = _principal(runtime, owner)
    ids = _customers(runtime, principal, 3)
    other = _principal(runtime, login(anonymous, other_tenant.owner_email, other_tenant.password, other_tenant.slug))
    assert other.tenant_id != principal.tenant_id

    async def scenario(context: RequestContext) -> list[str | None]:
        return list(await request_loader(context, "test.names", names).load_many(ids))

    assert _run(runtime, other, scenario) == [None, None, None]
    assert _run(runtime, principal, scenario) == ["Customer 0", "Customer 1", "Customer 2"]
