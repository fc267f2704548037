"""The compiler adds the tenant predicate itself, to every table a compiled statement reads.

Domain mappings and conditions name no tenant; each registered mapping, compiled with every
column and relation selected (as an object and as a connection), must still filter each
tenant table it reads by `tenant_id = :tenant_id`. Run as the application role, the
predicate and row-level security each keep a second tenant out on their own.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from graphql import OperationDefinitionNode, SelectionSetNode, parse

import saas.models
import saas.schema.builder
from saas.auth.principal import Principal
from saas.customers.graphql.sql import CUSTOMER
from saas.customers.rules import SqlCondition
from saas.db.async_reads import AsyncReadPool, dsn_of
from saas.db.engine import owner_url
from saas.db.reads import fetch_json as fetch_json_async
from saas.runtime import Runtime
from saas.schema import compiler
from saas.schema.compiler import CompileState, Relation, SortKey, SqlType
from saas.schema.relay import from_global_id
from saas.tenancy.session import SET_TENANT_SQL, TENANT_PARAM
from tests.conftest import GraphQLClient

TENANT_TABLES = {name for name, table in saas.models.Base.metadata.tables.items() if "tenant_id" in table.c}


def _mappings() -> dict[str, SqlType]:
    """Every compiled-read mapping of the core: those its contributions read `node(id)` with, and
    every type their relations reach."""
    found: dict[str, SqlType] = {}

    def visit(sql_type: SqlType) -> None:
        if sql_type.name not in found:
            found[sql_type.name] = sql_type
            for relation in sql_type.relations.values():
                visit(relation.target())

    for contribution in saas.schema.builder.CORE_CONTRIBUTIONS:
        for compiled in contribution.compiled_nodes.values():
            visit(compiled.sql_type)
        for fields in contribution.sql_fields.values():
            for mapping in fields.values():
                if isinstance(mapping, Relation):
                    visit(mapping.target())
    return found


# A caller who sees every row: visibility conditions add nothing, the tenant predicates remain.
VIEWER = Principal(tenant_id=uuid.uuid4(), label="test", permissions=frozenset())


SQL_TYPES = _mappings()
FROM = re.compile(r"\bFROM (\w+) (\w+)(?: WHERE (\w+)\.tenant_id = :tenant_id\b)?")


def _selection(sql_type: SqlType, depth: int = 2) -> str:
    """Every column of the type and, `depth` levels down, every relation with all of its own (a
    nested page, `PagedRelation`, reads the rows its own SQL names, with their tenant: its target's
    mapping is checked here on its own)."""
    fields = ["__typename", *sql_type.columns]
    if depth > 0:
        fields += [
            f"{name} {{ {_selection(r.target(), depth - 1)} }}"
            for name, r in sql_type.relations.items()
            if isinstance(r, Relation)
        ]
    return " ".join(fields)


def _selection_set(text: str) -> SelectionSetNode:
    operation = parse(f"{{ {text} }}").definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    return operation.selection_set


def _statements() -> Iterator[tuple[str, str]]:
    sort = SortKey(("id",), ("uuid",), descending=False)
    for name, sql_type in sorted(SQL_TYPES.items()):
        fields = _selection(sql_type)
        state = CompileState(fragments={}, variables={}, viewer=VIEWER)
        yield f"{name} object", compiler.single_sql(sql_type, _selection_set(fields), state, SqlCondition())
        page = f"edges {{ cursor node {{ {fields} }} }} pageInfo {{ hasNextPage endCursor }} totalCount"
        yield (
            f"{name} connection",
            compiler.connection_sql(
                sql_type, _selection_set(page), state, SqlCondition(), sort, has_after=True, size=20
            ),
        )


def test_every_registered_mapping_reads_each_tenant_table_with_the_tenant_predicate() -> None:
    assert {"Customer", "Contact", "Member", "ApiKey"} <= set(SQL_TYPES)
    checked: set[str] = set()
    for label, sql in _statements():
        reads = FROM.findall(sql)
        tenant_reads = [(table, alias, filtered) for table, alias, filtered in reads if table in TENANT_TABLES]
        assert tenant_reads, label
        for table, alias, filtered in tenant_reads:
            assert filtered == alias, f"{label}: {table} {alias} is read without the tenant predicate\n{sql}"
            checked.add(table)
    # The joined children were compiled too: relations of Customer and Contact reach these tables.
    assert {"customers", "contacts", "memberships", "api_keys"} <= checked


def test_domain_conditions_name_no_tenant() -> None:
    """The predicate is written once, by the compiler: the mappings' joins do not repeat it."""
    for sql_type in SQL_TYPES.values():
        for relation in sql_type.relations.values():
            assert "tenant_id" not in relation.join, f"{sql_type.name}: {relation.join}"


def _customer_of(owner: GraphQLClient) -> uuid.UUID:
    created = owner.data('mutation { createCustomer(input: {name: "Walled Corp"}) { customer { id } } }')
    global_id = created["createCustomer"]["customer"]["id"]
    owner.data(
        "mutation($input: CreateContactInput!) { createContact(input: $input) { contact { id } } }",
        {"input": {"customerId": global_id, "name": "Inside Person"}},
    )
    return from_global_id(global_id)[1]


def _customer_sql() -> str:
    fields = "id name contacts { id name customer { id name } } owner { id email }"
    state = CompileState(fragments={}, variables={})
    condition = SqlCondition()
    condition.add("r.id = :object_id")
    return compiler.to_pyformat(compiler.single_sql(CUSTOMER, _selection_set(fields), state, condition))


def fetch_json(pool: AsyncReadPool, tenant_id: uuid.UUID, sql: str, params: dict[str, Any]) -> str | None:
    return asyncio.run(fetch_json_async(pool, tenant_id, sql, params))


def _first_row(pool: AsyncReadPool, message: str, values: dict[str, Any]) -> Any:
    async def run() -> Any:
        conn = await pool.acquire()
        try:
            return await conn.fetch_one(message, values)
        finally:
            pool.release(conn)

    return asyncio.run(run())


def test_a_compiled_read_as_the_app_role_keeps_a_second_tenant_out(
    runtime: Runtime, owner: GraphQLClient, other_owner: GraphQLClient
) -> None:
    customer_id = _customer_of(owner)
    tenant_a = runtime.authenticate(f"Bearer {owner.token}")
    tenant_b = runtime.authenticate(f"Bearer {other_owner.token}")
    assert tenant_a is not None and tenant_b is not None
    sql = _customer_sql()
    found = fetch_json(runtime.read_pool, tenant_a.tenant_id, sql, {"object_id": customer_id})
    assert found is not None and "Walled Corp" in found and "Inside Person" in found
    assert fetch_json(runtime.read_pool, tenant_b.tenant_id, sql, {"object_id": customer_id}) in (None, "null")

    # Row-level security alone: the predicate names tenant A, the setting is tenant B's.
    set_b = SET_TENANT_SQL.replace(f"%({TENANT_PARAM})s", "%(setting)s")
    values = {"object_id": customer_id, TENANT_PARAM: str(tenant_a.tenant_id)}
    row = _first_row(runtime.read_pool, f"{set_b}; {sql}", {**values, "setting": str(tenant_b.tenant_id)})
    assert row is not None and row[0] is None
    # The same message with the setting of tenant A reads the row: the test above can fail.
    row = _first_row(runtime.read_pool, f"{set_b}; {sql}", {**values, "setting": str(tenant_a.tenant_id)})
    assert row is not None and "Walled Corp" in row[0]


def test_the_predicate_alone_keeps_a_second_tenant_out_where_rls_is_bypassed(
    runtime: Runtime, migrated: str, owner: GraphQLClient, other_owner: GraphQLClient
) -> None:
    customer_id = _customer_of(owner)
    tenant_a = runtime.authenticate(f"Bearer {owner.token}")
    tenant_b = runtime.authenticate(f"Bearer {other_owner.token}")
    assert tenant_a is not None and tenant_b is not None
    superuser = AsyncReadPool(dsn_of(owner_url(migrated)), 1)
    try:
        if not _first_row(superuser, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user", {})[0]:
            pytest.skip("needs a superuser connection to bypass RLS")
        sql = _customer_sql()
        assert fetch_json(superuser, tenant_b.tenant_id, sql, {"object_id": customer_id}) in (None, "null")
        assert "Walled Corp" in (fetch_json(superuser, tenant_a.tenant_id, sql, {"object_id": customer_id}) or "")
        # Without the predicate, the superuser would read tenant A's row while bound to B.
        unfiltered = sql.replace("r.tenant_id = %(tenant_id)s AND ", "")
        assert "Walled Corp" in (
            fetch_json(superuser, tenant_b.tenant_id, unfiltered, {"object_id": customer_id}) or ""
        )
    finally:
        superuser.close()
