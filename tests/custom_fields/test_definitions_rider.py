"""The custom field definitions read by `createCustomer`'s duplicate lookup (`DefinitionsRider`):
the same definitions as their own read, under the same lock, for the session's tenant only."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from saas.custom_fields.models import CustomFieldEntity
from saas.custom_fields.validation import definitions_for, definitions_rider
from saas.customers.duplicates import check_duplicates
from saas.errors import InputInvalid
from saas.schema.engine import dumps
from saas.tenancy.session import make_session
from tests.custom_fields.test_custom_fields import ARCHIVE, CREATE_CUSTOMER, UPDATE, customer_with, define, errors_of
from tests.schema.helpers import count_rows


def _every_kind(client: Any) -> None:
    define(client, key="contractNo", type="TEXT", unique=True)
    define(client, key="seats", type="NUMBER", required=True)
    define(client, key="renewsOn", type="DATE")
    define(client, key="vip", type="BOOLEAN")
    define(client, key="region", type="SELECT", options=["EMEA", "APAC", "AMER"])
    define(client, key="modules", type="MULTI_SELECT", options=["crm", "erp", "hr"])
    old = define(client, key="legacy", type="TEXT")
    assert client.data(ARCHIVE, {"input": {"id": old["id"]}})["archiveCustomField"]["userErrors"] == []
    define(client, key="note", type="TEXT", entity="CONTACT")  # another entity's: not among them


def _through_the_lookup(runtime: Any, tenant_id: Any, name: str) -> tuple[dict[str, Any], bool]:
    """The definitions the duplicate lookup read (and whether it found a duplicate of `name`)."""
    session = make_session(runtime.engine, tenant_id)
    try:
        rider = definitions_rider(session, tenant_id, CustomFieldEntity.CUSTOMER)
        assert rider is not None
        duplicate = False
        try:
            check_duplicates(session, tenant_id, company=("name", name), rider=rider)
        except InputInvalid:
            duplicate = True
        # Read: no second rider, and `definitions_for` answers from them.
        assert definitions_rider(session, tenant_id, CustomFieldEntity.CUSTOMER) is None
        return definitions_for(session, tenant_id, CustomFieldEntity.CUSTOMER), duplicate
    finally:
        session.close()


def _read_alone(runtime: Any, tenant_id: Any) -> dict[str, Any]:
    session = make_session(runtime.engine, tenant_id)
    try:
        return definitions_for(session, tenant_id, CustomFieldEntity.CUSTOMER)
    finally:
        session.close()


@pytest.mark.parametrize("duplicate", [False, True])
def test_the_lookup_reads_the_same_definitions_as_their_own_read(
    owner: Any, runtime: Any, tenant: Any, duplicate: bool
) -> None:
    _every_kind(owner)
    customer_with(owner, {"seats": 3}, name="Taken Ltd")
    ridden, found = _through_the_lookup(runtime, tenant.id, "taken ltd" if duplicate else "Free Ltd")
    assert found is duplicate
    alone = _read_alone(runtime, tenant.id)
    assert ridden == alone
    assert sorted(ridden) == sorted(["contractNo", "legacy", "modules", "renewsOn", "region", "seats", "vip"])
    assert ridden["legacy"].archived and not ridden["seats"].archived
    assert ridden["seats"].required and ridden["contractNo"].unique
    assert ridden["region"].options == ("EMEA", "APAC", "AMER")


def test_a_tenant_without_definitions_reads_none_and_never_another_tenants(
    owner: Any, other_owner: Any, runtime: Any, other_tenant: Any
) -> None:
    _every_kind(owner)
    ridden, found = _through_the_lookup(runtime, other_tenant.id, "Anything Ltd")
    assert (ridden, found) == ({}, False)
    # Through the API: the other tenant's customer needs none of the first tenant's fields.
    assert customer_with(other_owner, {})["customFields"] == {}
    refused = other_owner.data(CREATE_CUSTOMER, {"input": {"name": "Y Ltd", "customFields": {"seats": 1}}})
    assert errors_of(refused["createCustomer"]) == [(["input", "customFields", "seats"], "UNKNOWN_FIELD")]


def test_create_customer_validates_against_the_definitions_the_lookup_read(owner: Any) -> None:
    _every_kind(owner)
    missing = owner.data(CREATE_CUSTOMER, {"input": {"name": "No Seats Ltd"}})["createCustomer"]
    assert errors_of(missing) == [(["input", "customFields", "seats"], "REQUIRED")]
    archived = owner.data(CREATE_CUSTOMER, {"input": {"name": "Old Ltd", "customFields": {"seats": 1, "legacy": "x"}}})
    assert errors_of(archived["createCustomer"]) == [(["input", "customFields", "legacy"], "ARCHIVED")]
    made = customer_with(owner, {"seats": 2.0, "region": " EMEA ", "modules": ["hr", "crm"]}, name="Good Ltd")
    assert made["customFields"] == {"seats": 2, "region": "EMEA", "modules": ["crm", "hr"]}
    # A duplicate name is still refused first, with the definitions read by the same statement.
    twin = owner.data(CREATE_CUSTOMER, {"input": {"name": "GOOD ltd", "customFields": {"seats": 1}}})
    assert [e["code"] for e in twin["createCustomer"]["userErrors"]] == ["DUPLICATE"]


def test_making_a_field_required_while_checked_writers_race_never_leaves_a_customer_without_it(
    graphql_engine: Any, owner: Any, runtime: Any, tenant: Any
) -> None:
    """Writers that go through the duplicate lookup (distinct names, no `allowDuplicate`) take the
    definitions lock in front of it: the change waits for them (and sees their customers: refused),
    or they wait for it (and are refused for lacking the field). Never both a required field and
    a customer without it."""
    made = define(owner, key="size", type="NUMBER")

    async def run_all() -> list[dict]:
        principal = await asyncio.to_thread(graphql_engine.runtime.authenticate, f"Bearer {owner.token}")
        create = graphql_engine.prepare(CREATE_CUSTOMER, None, principal)
        update = graphql_engine.prepare(UPDATE, None, principal)

        async def one(i: int) -> dict:
            if i == 1:
                variables = {"input": {"id": made["id"], "version": 1, "required": True}}
                outcome = await graphql_engine.execute(update, variables, principal, f"def{i}")
            else:
                outcome = await graphql_engine.execute(create, {"input": {"name": f"Racer {i}"}}, principal, f"w{i}")
            return orjson.loads(dumps(outcome.payload))

        return await asyncio.gather(*(one(i) for i in range(5)))

    results = asyncio.run(run_all())
    change = results[1]["data"]["updateCustomField"]
    writers = [r["data"]["createCustomer"] for i, r in enumerate(results) if i != 1]
    created = count_rows(runtime, tenant.id, "customers")
    assert created == sum(1 for w in writers if w["customer"]), results
    if change["userErrors"]:  # a writer got in first: the field cannot become required
        assert [e["code"] for e in change["userErrors"]] == ["VALUES_MISSING"], results
        assert created >= 1
    else:  # the change got in first: every writer was refused for lacking the field
        assert change["customFieldDefinition"]["required"] is True
        assert created == 0, results
        assert all(errors_of(w) == [(["input", "customFields", "size"], "REQUIRED")] for w in writers), results
