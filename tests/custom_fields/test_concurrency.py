"""Unique custom fields and definition changes under real concurrent writers."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import orjson

from saas.schema.engine import dumps
from tests.custom_fields.test_custom_fields import CREATE_CUSTOMER, UPDATE, define
from tests.schema.helpers import count_rows

WRITERS = 8


def _run_concurrently(graphql_engine: Any, client: Any, query: str, variables: list[dict[str, Any]]) -> list[dict]:
    """Every request through the engine at once, each on its own session and transaction."""

    async def run_all() -> list[dict]:
        principal = await asyncio.to_thread(graphql_engine.runtime.authenticate, f"Bearer {client.token}")
        prepared = graphql_engine.prepare(query, None, principal)

        async def one(i: int, values: dict[str, Any]) -> dict:
            outcome = await graphql_engine.execute(prepared, values, principal, f"r{i}")
            return orjson.loads(dumps(outcome.payload))

        return await asyncio.gather(*(one(i, v) for i, v in enumerate(variables)))

    return asyncio.run(run_all())


def test_concurrent_writers_of_one_unique_value_exactly_one_wins(
    graphql_engine: Any, owner: Any, runtime: Any, tenant: Any
) -> None:
    define(owner, key="vat", type="TEXT", unique=True)
    results = _run_concurrently(
        graphql_engine,
        owner,
        CREATE_CUSTOMER,
        [
            {"input": {"name": f"Writer {i}", "customFields": {"vat": "DE-42" if i % 2 else "de-42"}}}
            for i in range(WRITERS)
        ],
    )
    payloads = [r["data"]["createCustomer"] for r in results]
    wins = [p for p in payloads if p["customer"]]
    taken = [p for p in payloads if [e["code"] for e in p["userErrors"]] == ["TAKEN"]]
    assert len(wins) == 1 and len(taken) == WRITERS - 1, results
    assert count_rows(runtime, tenant.id, "customers") == 1
    assert count_rows(runtime, tenant.id, "custom_field_unique_values") == 1


def test_threads_racing_in_open_transactions_never_share_a_value(runtime: Any, owner: Any, tenant: Any) -> None:
    """Both transactions validate before either commits: the second waits for the first's claim."""
    from saas.auth.permissions import ALL_PERMISSIONS
    from saas.auth.principal import Principal
    from saas.customers.service import create_customer
    from saas.errors import InputInvalid
    from saas.tenancy.session import tenant_session

    define(owner, key="vat", type="TEXT", unique=True)
    principal = Principal(tenant_id=tenant.id, label="test", permissions=ALL_PERMISSIONS)
    first_claimed = threading.Event()
    outcomes: list[str] = []

    def first() -> None:
        with tenant_session(runtime.engine, tenant.id) as session:
            create_customer(session, principal, {"name": "First", "custom_fields": {"vat": "X1"}})
            first_claimed.set()
            second_started.wait(timeout=10)
            threading.Event().wait(0.3)  # the second is now blocked on this claim
        outcomes.append("first committed")

    def second() -> None:
        first_claimed.wait(timeout=10)
        second_started.set()
        try:
            with tenant_session(runtime.engine, tenant.id) as session:
                create_customer(session, principal, {"name": "Second", "custom_fields": {"vat": "x1"}})
            outcomes.append("second committed")
        except InputInvalid as invalid:
            outcomes.append(invalid.errors[0].code)

    second_started = threading.Event()
    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["TAKEN", "first committed"]
    assert count_rows(runtime, tenant.id, "customers") == 1


def test_making_a_field_unique_while_writers_race_never_leaves_a_duplicate(
    graphql_engine: Any, owner: Any, runtime: Any, tenant: Any
) -> None:
    """Writers and the definition change serialise on the definitions lock. Whatever the order,
    either the field became unique and at most one customer holds the value, or the change was
    refused with DUPLICATE_VALUES because two writers got in first. Several rounds, one key each."""
    for round_no in range(5):
        key = f"code{round_no}"
        made = define(owner, key=key, type="TEXT")

        async def run_all(definition_id: str = made["id"], key: str = key) -> list[dict]:
            principal = await asyncio.to_thread(graphql_engine.runtime.authenticate, f"Bearer {owner.token}")
            create = graphql_engine.prepare(CREATE_CUSTOMER, None, principal)
            update = graphql_engine.prepare(UPDATE, None, principal)

            async def one(i: int) -> dict:
                if i == 1:
                    variables = {"input": {"id": definition_id, "version": 1, "unique": True}}
                    outcome = await graphql_engine.execute(update, variables, principal, f"def{i}")
                else:
                    value = "same" if i % 2 else "SAME"
                    # Each round reuses the names: not the duplicate check's business here.
                    variables = {"input": {"name": f"W{i}", "customFields": {key: value}, "allowDuplicate": True}}
                    outcome = await graphql_engine.execute(create, variables, principal, f"w{i}")
                return orjson.loads(dumps(outcome.payload))

            return await asyncio.gather(*(one(i) for i in range(3)))

        results = asyncio.run(run_all())
        change = results[1]["data"]["updateCustomField"]
        holders = count_rows(runtime, tenant.id, "customers", f"lower(custom_fields->>'{key}') = 'same'")
        if change["userErrors"]:
            assert [e["code"] for e in change["userErrors"]] == ["DUPLICATE_VALUES"], results
            assert holders == 2
        else:
            assert change["customFieldDefinition"]["unique"] is True
            assert holders == 1, results
