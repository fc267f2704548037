"""Concurrent writers: optimistic versions mean no lost update."""

from __future__ import annotations

import asyncio
import threading

import orjson

from saas.customers.service import get_customer
from saas.errors import ConflictError
from saas.runtime import Runtime
from saas.schema.engine import dumps
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient, TenantHandle

UPDATE = """mutation($id: ID!, $v: Int!, $name: String!) {
  updateCustomer(input: {id: $id, version: $v, name: $name}) { customer { name version } userErrors { code } }
}"""


def _create(owner: GraphQLClient) -> dict:
    return owner.data('mutation { createCustomer(input: {name: "Race Corp"}) { customer { id version } } }')[
        "createCustomer"
    ]["customer"]


def test_two_writers_with_one_version_one_wins_one_conflicts(
    runtime: Runtime, owner: GraphQLClient, tenant: TenantHandle
) -> None:
    """Both read version 1 before either writes; the second UPDATE finds version 2 and fails."""
    created = _create(owner)
    from saas.auth.permissions import ALL_PERMISSIONS
    from saas.auth.principal import Principal
    from saas.schema.relay import decode_id

    customer_id = decode_id(created["id"], "Customer")
    principal = Principal(tenant_id=tenant.id, label="test", permissions=ALL_PERMISSIONS)
    both_read = threading.Barrier(2)
    outcomes: list[str] = []

    def writer(name: str) -> None:
        try:
            with tenant_session(runtime.engine, tenant.id) as session:
                customer = get_customer(session, principal, customer_id)
                assert customer.version == 1
                both_read.wait(timeout=10)
                customer.name = name
                try:
                    session.flush()
                except Exception as exc:  # StaleDataError from the version check
                    raise ConflictError() from exc
            outcomes.append("ok")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=writer, args=(f"Writer {i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["conflict", "ok"]
    final = owner.data("query($id: ID!) { customer(id: $id) { name version } }", {"id": created["id"]})["customer"]
    assert final["version"] == 2 and final["name"] in ("Writer 0", "Writer 1")


def test_concurrent_updates_through_the_api_exactly_one_wins(graphql_engine, owner: GraphQLClient) -> None:
    created = _create(owner)

    async def run_all() -> list[dict]:
        principal = await asyncio.to_thread(graphql_engine.runtime.authenticate, f"Bearer {owner.token}")
        prepared = graphql_engine.prepare(UPDATE, None, principal)

        async def one(i: int) -> dict:
            variables = {"id": created["id"], "v": created["version"], "name": f"Name {i}"}
            outcome = await graphql_engine.execute(prepared, variables, principal, f"r{i}")
            return orjson.loads(dumps(outcome.payload))

        return await asyncio.gather(*(one(i) for i in range(8)))

    results = asyncio.run(run_all())
    wins = [r for r in results if (r.get("data") or {}).get("updateCustomer")]
    conflicts = [r for r in results if any(e["extensions"]["code"] == "CONFLICT" for e in r.get("errors", []))]
    assert len(wins) == 1 and len(conflicts) == 7, results
    final = owner.data("query($id: ID!) { customer(id: $id) { name version } }", {"id": created["id"]})["customer"]
    assert final == wins[0]["data"]["updateCustomer"]["customer"]


def test_stale_version_is_conflict_and_changes_nothing(owner: GraphQLClient) -> None:
    created = _create(owner)
    first = owner.data(UPDATE, {"id": created["id"], "v": 1, "name": "Fresh"})
    assert first["updateCustomer"]["customer"] == {"name": "Fresh", "version": 2}
    stale = owner.execute(UPDATE, {"id": created["id"], "v": 1, "name": "Stale"})
    assert [e["extensions"]["code"] for e in stale["errors"]] == ["CONFLICT"]
    assert stale["errors"][0]["extensions"]["currentVersion"] == 2
    final = owner.data("query($id: ID!) { customer(id: $id) { name version } }", {"id": created["id"]})["customer"]
    assert final == {"name": "Fresh", "version": 2}


def test_concurrent_primary_contacts_leave_exactly_one_primary(graphql_engine, owner: GraphQLClient) -> None:
    created = _create(owner)
    query = "mutation($c: ID!, $n: String!) { createContact(input: {customerId: $c, name: $n, isPrimary: true}) { contact { id } } }"

    async def run_all() -> None:
        principal = await asyncio.to_thread(graphql_engine.runtime.authenticate, f"Bearer {owner.token}")
        prepared = graphql_engine.prepare(query, None, principal)
        await asyncio.gather(
            *(
                graphql_engine.execute(prepared, {"c": created["id"], "n": f"P{i}"}, principal, f"r{i}")
                for i in range(6)
            )
        )

    asyncio.run(run_all())
    contacts = owner.data(
        "query($id: ID!) { customer(id: $id) { contacts { name isPrimary } } }", {"id": created["id"]}
    )
    flags = [c["isPrimary"] for c in contacts["customer"]["contacts"]]
    assert len(flags) == 6 and flags.count(True) == 1
