"""Compiled reads as prepared statements (`saas/db/prepared.py`): one statement, many tenants, and
a connection whose prepared statements went away or whose tables changed; generic plans for the
compiled reads, custom ones for a search (`prepared.plan_cache_mode`)."""

from __future__ import annotations

import asyncio
import datetime
import decimal
import secrets
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest

from saas.config import Settings
from saas.db import prepared
from saas.db.async_reads import AsyncLink, AsyncReadPool
from saas.db.engine import create_owner_engine, create_read_pool
from saas.db.reads import fetch_json as fetch_json_async
from saas.db.statements import counting
from saas.runtime import Runtime
from saas.tenancy.session import TENANT_PARAM
from tests.conftest import GraphQLClient, TenantHandle, add_member

# No tenant predicate of its own: only row-level security keeps the tenants apart here.
NAMES_SQL = (
    "SELECT (SELECT string_agg(r.name, ',' ORDER BY r.name) FROM customers r WHERE starts_with(r.name, %(prefix)s))"
)


T = TypeVar("T")


def on_connection(pool: AsyncReadPool, work: Callable[[AsyncLink], Awaitable[T]]) -> T:
    async def run() -> T:
        conn = await pool.acquire()
        try:
            return await work(conn)
        finally:
            pool.release(conn)

    return asyncio.run(run())


def fetch_json(pool: AsyncReadPool, tenant_id: uuid.UUID, sql: str, params: dict[str, Any]) -> str | None:
    return asyncio.run(fetch_json_async(pool, tenant_id, sql, params))


def _execute(pool: AsyncReadPool, sql: str) -> Any:
    return on_connection(pool, lambda conn: conn.fetch_one(sql, {}))


@pytest.fixture
def one_connection(settings: Settings, runtime: Runtime, database_url: str) -> Iterator[AsyncReadPool]:
    """A read pool of one connection, as the application role, always on the generic plan."""
    pool = create_read_pool(settings.model_copy(update={"db_pool_size": 1, "db_read_concurrency": 0}), database_url)
    assert pool.size == 1
    _execute(pool, "SET plan_cache_mode = force_generic_plan")
    yield pool
    pool.close()


def _prepared_here(pool: AsyncReadPool) -> dict[str, int]:
    async def rows(conn: AsyncLink) -> Any:
        cursor = conn.raw.cursor()
        cursor.execute("SELECT name, generic_plans FROM pg_prepared_statements")
        await conn._ready()
        return cursor.fetchall()

    return {row[0]: row[1] for row in on_connection(pool, rows)}


@pytest.fixture
def one_link(settings: Settings, database_url: str) -> Iterator[AsyncReadPool]:
    """A read pool of one connection as the server opens it (the application role, its settings)."""
    pool = create_read_pool(settings.model_copy(update={"db_pool_size": 1, "db_read_concurrency": 0}), database_url)
    yield pool
    pool.close()


def _plans_here(pool: AsyncReadPool) -> dict[str, tuple[int, int, str]]:
    """Each prepared statement's generic and custom plan counts and its text."""

    async def rows(conn: AsyncLink) -> Any:
        cursor = conn.raw.cursor()
        cursor.execute("SELECT name, generic_plans, custom_plans, statement FROM pg_prepared_statements")
        await conn._ready()
        return cursor.fetchall()

    return {row[0]: (row[1], row[2], row[3]) for row in on_connection(pool, rows)}


@contextmanager
def _reading_on(runtime: Runtime, pool: AsyncReadPool) -> Iterator[None]:
    original = runtime.read_pool
    runtime.read_pool = pool
    try:
        yield
    finally:
        runtime.read_pool = original


def _create(client: GraphQLClient, name: str) -> None:
    client.data("mutation($n: String!) { createCustomer(input: {name: $n}) { customer { id } } }", {"n": name})


def test_two_tenants_on_one_prepared_statement_see_only_their_own_rows(
    one_connection: AsyncReadPool,
    owner: GraphQLClient,
    other_owner: GraphQLClient,
    tenant: TenantHandle,
    other_tenant: TenantHandle,
) -> None:
    prefix = f"prep-{secrets.token_hex(3)}-"
    _create(owner, f"{prefix}a1")
    _create(owner, f"{prefix}a2")
    _create(other_owner, f"{prefix}b1")
    params = {"prefix": prefix}
    assert _execute(one_connection, "SELECT current_user")[0] != "postgres"
    assert _execute(one_connection, "SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user")[0] is False

    for _ in range(3):  # the same connection, the same statement, the tenants taking turns
        with counting() as statements:
            assert fetch_json(one_connection, tenant.id, NAMES_SQL, params) == f"{prefix}a1,{prefix}a2"
            assert fetch_json(one_connection, other_tenant.id, NAMES_SQL, params) == f"{prefix}b1"
            assert fetch_json(one_connection, uuid.uuid4(), NAMES_SQL, params) is None
        assert statements[0] == 3

    name = prepared.name_of(NAMES_SQL, ("unknown",))
    plans = _prepared_here(one_connection)
    assert plans[name] == 9  # one statement prepared, executed nine times on its generic plan


def test_the_compiled_customers_page_is_prepared_and_apart_per_tenant(
    one_connection: AsyncReadPool, runtime: Runtime, owner: GraphQLClient, other_owner: GraphQLClient
) -> None:
    _create(owner, "Alpha of A")
    _create(other_owner, "Beta of B")
    query = "{ customers(first: 10) { edges { node { name contacts { name } } } } }"
    original = runtime.read_pool
    runtime.read_pool = one_connection
    try:
        for _ in range(2):
            mine = owner.data(query)["customers"]["edges"]
            theirs = other_owner.data(query)["customers"]["edges"]
            assert [edge["node"]["name"] for edge in mine] == ["Alpha of A"]
            assert [edge["node"]["name"] for edge in theirs] == ["Beta of B"]
    finally:
        runtime.read_pool = original
    assert any(name.startswith("saas_") for name in _prepared_here(one_connection))


def test_a_connection_that_lost_its_prepared_statements_prepares_them_again(
    one_connection: AsyncReadPool, owner: GraphQLClient, tenant: TenantHandle
) -> None:
    prefix = f"lost-{secrets.token_hex(3)}-"
    _create(owner, f"{prefix}x")
    params = {"prefix": prefix}
    assert fetch_json(one_connection, tenant.id, NAMES_SQL, params) == f"{prefix}x"
    for reset in ("DEALLOCATE ALL", "DISCARD ALL"):
        _execute(one_connection, reset)
        with counting() as statements:
            assert fetch_json(one_connection, tenant.id, NAMES_SQL, params) == f"{prefix}x"
        assert statements[0] == 2  # the EXECUTE that found nothing, then PREPARE and EXECUTE
        assert fetch_json(one_connection, tenant.id, NAMES_SQL, params) == f"{prefix}x"


def test_prepared_statements_follow_ddl_on_their_tables(
    one_connection: AsyncReadPool, database_url: str, settings: Settings, tenant: TenantHandle
) -> None:
    schema = f"probe_{secrets.token_hex(4)}"
    owner = create_owner_engine(database_url)
    ddl = [
        f"CREATE SCHEMA {schema}",
        f"GRANT USAGE ON SCHEMA {schema} TO {settings.app_role}",
        f"CREATE TABLE {schema}.probe (v int)",
        f"INSERT INTO {schema}.probe VALUES (1), (2)",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {settings.app_role}",
    ]
    with owner.begin() as conn:
        for statement in ddl:
            conn.exec_driver_sql(statement)
    total = f"SELECT (SELECT sum(v)::text || %(suffix)s FROM {schema}.probe)"
    whole_rows = f"SELECT * FROM {schema}.probe WHERE v > %(above)s ORDER BY v LIMIT 1"
    try:
        assert fetch_json(one_connection, tenant.id, total, {"suffix": "!"}) == "3!"
        first = on_connection(
            one_connection, lambda c: prepared.fetch_prepared(c, "SELECT 1", whole_rows, {"above": 0})
        )
        assert first == (1,)
        with owner.begin() as conn:  # a migration: a new column, a changed type, rows rewritten
            conn.exec_driver_sql(f"ALTER TABLE {schema}.probe ADD COLUMN w int DEFAULT 7")
            conn.exec_driver_sql(f"ALTER TABLE {schema}.probe ALTER COLUMN v TYPE bigint")
            conn.exec_driver_sql(f"INSERT INTO {schema}.probe VALUES (4, 8)")
        assert fetch_json(one_connection, tenant.id, total, {"suffix": "!"}) == "7!"
        # Its result type changed: prepared again.
        again = on_connection(
            one_connection, lambda c: prepared.fetch_prepared(c, "SELECT 1", whole_rows, {"above": 0})
        )
        assert again == (1, 7)
        with owner.begin() as conn:  # dropped and made again under the same name
            conn.exec_driver_sql(f"DROP TABLE {schema}.probe")
            conn.exec_driver_sql(f"CREATE TABLE {schema}.probe (v int)")
            conn.exec_driver_sql(f"INSERT INTO {schema}.probe VALUES (5)")
            conn.exec_driver_sql(f"GRANT SELECT ON {schema}.probe TO {settings.app_role}")
        assert fetch_json(one_connection, tenant.id, total, {"suffix": "?"}) == "5?"
    finally:
        with owner.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        owner.dispose()


def test_a_statement_postgresql_cannot_prepare_is_sent_as_text(
    one_connection: AsyncReadPool, tenant: TenantHandle
) -> None:
    sql = "SELECT concat(%(value)s, '!')"  # concat("any"): an unknown parameter gets no type
    for _ in range(2):
        with counting() as statements:
            assert fetch_json(one_connection, tenant.id, sql, {"value": "it's 100%"}) == "it's 100%!"
        assert statements[0] <= 2
    assert (sql, ("unknown",)) in prepared.UNPREPARABLE


def test_values_keep_their_types_and_percent_signs(one_connection: AsyncReadPool, tenant: TenantHandle) -> None:
    sql = (
        "SELECT concat_ws('|', 'a%%b', %(flag)s::text, (%(n)s + 1)::text, %(id)s::text, %(text)s || '', "
        "(%(id)s = %(id)s)::text, (%(text)s LIKE 'x%%')::text)"
    )
    values = {"flag": True, "n": 41, "id": uuid.UUID(int=5), "text": "x%y"}
    expected = f"a%b|true|42|{uuid.UUID(int=5)}|x%y|true|true"
    assert fetch_json(one_connection, tenant.id, sql, values) == expected
    assert fetch_json(one_connection, tenant.id, sql, {**values, "n": 1}) == expected.replace("|42|", "|2|")
    assert prepared.statement_of(sql).names == ("flag", "n", "id", "text")
    types = ("boolean", "unknown", "uuid", "unknown")
    assert (sql, types) not in prepared.UNPREPARABLE
    assert prepared.name_of(sql, types) in _prepared_here(one_connection)


def test_the_prefix_binds_the_tenant_for_the_prepared_statement(
    one_connection: AsyncReadPool, tenant: TenantHandle
) -> None:
    sql = "SELECT current_setting('app.tenant_id') || ':' || %(tenant_id)s"
    assert fetch_json(one_connection, tenant.id, sql, {}) == f"{tenant.id}:{tenant.id}"
    assert TENANT_PARAM == "tenant_id"


PAGE = "query($first: Int) { customers(first: $first) { edges { node { name contacts { name } } } } }"
OPPORTUNITIES = """query { opportunities(first: 10) {
  edges { node { name stage { name } customer { name } } } pageInfo { hasNextPage endCursor } } }"""
SEARCH = """query($search: String) { customers(first: 10, filter: {search: $search}) { edges { node { name } } } }"""


def test_compiled_reads_run_on_a_generic_plan_from_the_first_execution(
    one_link: AsyncReadPool, runtime: Runtime, owner: GraphQLClient, other_owner: GraphQLClient
) -> None:
    """Under PostgreSQL's `auto`, each EXECUTE of these statements was planned again (a custom plan)."""
    _create(owner, "Generic A")
    _create(other_owner, "Generic B")
    assert _execute(one_link, "SELECT current_setting('plan_cache_mode')")[0] == "force_generic_plan"
    with _reading_on(runtime, one_link):
        for _ in range(4):  # two tenants taking turns on one link, on the one generic plan
            mine = owner.data(PAGE, {"first": 10})["customers"]["edges"]
            theirs = other_owner.data(PAGE, {"first": 10})["customers"]["edges"]
            assert [edge["node"]["name"] for edge in mine] == ["Generic A"]
            assert [edge["node"]["name"] for edge in theirs] == ["Generic B"]
            assert owner.data(OPPORTUNITIES)["opportunities"]["edges"] == []
    plans = {name: plan for name, plan in _plans_here(one_link).items() if name.startswith("saas_")}
    page = [plan for plan in plans.values() if "contacts" in plan[2]]
    assert [plan[:2] for plan in page] == [(8, 0)]  # generic plans only, none custom
    assert all(plan[1] == 0 and plan[0] >= 4 for plan in plans.values()), plans
    assert " LIMIT 11" in page[0][2] and "$2" not in page[0][2]  # the page's size is in the text


def test_a_search_is_planned_for_its_value_and_the_link_stays_generic(
    one_link: AsyncReadPool, runtime: Runtime, owner: GraphQLClient, other_owner: GraphQLClient
) -> None:
    _create(owner, "Searched Alpha")
    _create(owner, "Searched Beta")
    _create(other_owner, "Searched Gamma")
    with _reading_on(runtime, one_link):
        for _ in range(7):
            found = owner.data(SEARCH, {"search": "alpha"})["customers"]["edges"]
            assert [edge["node"]["name"] for edge in found] == ["Searched Alpha"]
            assert other_owner.data(SEARCH, {"search": "searched"})["customers"]["edges"] == [
                {"node": {"name": "Searched Gamma"}}
            ]
        owner.data(PAGE, {"first": 10})
    plans = {name: plan for name, plan in _plans_here(one_link).items() if name.startswith("saas_")}
    (search,) = [plan for plan in plans.values() if "name_key LIKE" in plan[2]]
    assert search[:2] == (0, 14)  # a custom plan for every value, never the generic one
    (page,) = [plan for plan in plans.values() if "contacts" in plan[2]]
    assert page[:2] == (1, 0)  # the custom setting ended with the search's transaction
    assert _execute(one_link, "SELECT current_setting('plan_cache_mode')")[0] == "force_generic_plan"


def test_the_plan_rule() -> None:
    assert prepared.plan_cache_mode("SELECT 1 FROM customers r WHERE r.tenant_id = %(tenant_id)s") == (
        "force_generic_plan"
    )
    for steered in (
        "r.name ILIKE %(search)s",
        "r.name_key LIKE lower(%(search)s)",  # the customers' search
        "r.name like %(search)s",
        "r.name SIMILAR TO %(p)s",
        "r.name ILIKE %(search)s AND (r.a ILIKE %(other)s OR r.b ILIKE %(other)s)",
        "r.v @@ to_tsquery(%(q)s)",
        "%(q)s <%% r.name",
        "r.name %%> %(q)s",
        "r.name %% %(q)s",
        "r.tags @> ARRAY[CAST(%(tag)s AS varchar)]",
        "r.custom_fields @> CAST(%(custom_field_0)s AS jsonb)",
        "(r.owner_id IS NULL OR r.owner_id = %(viewer_membership_id)s)",
        "r.owner_id = %(owner_id)s",
        "r.assignee_id = %(assignee_id)s",
    ):
        assert prepared.plan_cache_mode(f"SELECT 1 FROM customers r WHERE {steered}") == prepared.CUSTOM, steered
    for even in (
        "r.status = %(lead_status)s",
        "r.customer_id = %(customer_id)s",
        "r.stage_id = %(stage_id)s",
        "(r.subject ILIKE %(search)s OR r.body ILIKE %(search)s)",  # a guess for any value: generic
        "(r.subject_key LIKE (SELECT lower(%(search)s)) OR r.body_key LIKE (SELECT lower(%(search)s)))",
        "(r.name_key LIKE (SELECT lower(%(search)s)))",  # the value hidden from the planner: generic
        "(r.name ILIKE %(s)s ESCAPE '\\' OR r.sku ILIKE %(s)s ESCAPE '\\')",
        "r.name LIKE 'x%%'",
    ):
        assert prepared.plan_cache_mode(f"SELECT 1 FROM leads r WHERE {even}") == "force_generic_plan", even
    assert prepared.plan_cache_mode("SELECT 'a%%b' FROM likes r") == "force_generic_plan"


def test_a_reps_page_is_planned_for_the_rep(
    one_link: AsyncReadPool, runtime: Runtime, owner: GraphQLClient, tenant: TenantHandle
) -> None:
    """A rep's visibility binds the rep (`owner_id = :viewer_membership_id`): a custom plan each time."""
    rep = add_member(owner, tenant, "sales")
    _create(rep, "Rep's own")
    with _reading_on(runtime, one_link):
        for _ in range(7):
            names = [edge["node"]["name"] for edge in rep.data(PAGE, {"first": 10})["customers"]["edges"]]
            assert "Rep's own" in names
    (page,) = [plan for name, plan in _plans_here(one_link).items() if name.startswith("saas_")]
    assert page[:2] == (0, 7)


def _page(table: str, where: str, order: str) -> str:
    """A root page's statement as `compiler.connection_sql` writes it (its head)."""
    return (
        f"WITH page AS MATERIALIZED (SELECT r.id, row_number() OVER (ORDER BY {order}) AS page_row FROM {table} r "
        f"WHERE r.tenant_id = %(tenant_id)s AND {where} ORDER BY {order} LIMIT 51) SELECT count(*) FROM page"
    )


NEWEST = "r.created_at DESC, r.id DESC"


def test_the_plan_rule_for_one_members_page() -> None:
    """Generic where an index leads with the tenant, the member and the page's order
    (`ORDERED_MEMBER_PAGES`); custom for any other member condition."""
    for table, where, order in (
        ("customers", "r.deleted_at IS NULL AND r.owner_id = %(owner_id)s", "r.name, r.id"),
        ("customers", "r.owner_id = %(owner_id)s", "r.name DESC, r.id DESC"),
        ("leads", "r.owner_id = %(owner_id)s AND r.status = %(lead_status)s", NEWEST),
        ("tickets", "r.assignee_id = %(assignee_id)s", NEWEST),
        ("tickets", "r.assignee_id = %(assignee_id)s AND (r.created_at, r.id) < (%(after_0)s, %(after_1)s)", NEWEST),
    ):
        assert prepared.plan_cache_mode(_page(table, where, order)) == "force_generic_plan", (table, where, order)
    for table, where, order in (
        ("customers", "r.owner_id = %(owner_id)s", "r.created_at DESC, r.id DESC"),  # no index in that order
        ("customers", "r.owner_id = %(owner_id)s", "r.updated_at, r.id"),
        ("leads", "r.owner_id = %(owner_id)s", "r.name, r.id"),
        ("opportunities", "r.customer_id = %(owner_id)s", NEWEST),  # not the member column
        ("opportunities", "r.owner_id = %(f_owner_id)s", NEWEST),  # a plan for one owner of every row
        ("tickets", "r.owner_id = %(assignee_id)s", NEWEST),
        ("leads", "(r.owner_id IS NULL OR r.owner_id = %(viewer_membership_id)s)", NEWEST),  # a rep's visibility
        ("leads", "r.owner_id = %(owner_id)s AND (r.owner_id = %(viewer_membership_id)s)", NEWEST),
        ("leads", "(r.owner_id = %(owner_id)s OR r.status = 'pool')", NEWEST),  # not an equality of the page
    ):
        assert prepared.plan_cache_mode(_page(table, where, order)) == prepared.CUSTOM, (table, where, order)
    # The member's parameter also read elsewhere (a nested page, a count): planned for it.
    twice = _page("tickets", "r.assignee_id = %(assignee_id)s", NEWEST) + (
        " UNION ALL SELECT count(*) FROM tickets t1 WHERE t1.assignee_id = %(assignee_id)s"
    )
    assert prepared.plan_cache_mode(twice) == prepared.CUSTOM
    assert prepared.plan_cache_mode("SELECT 1 FROM tickets r WHERE r.assignee_id = %(assignee_id)s") == prepared.CUSTOM


OWNED = """query($owner: ID) { customers(first: 10, filter: {ownerId: $owner}) { edges { node { name } } } }"""
ME = "{ me { member { id } } }"


def test_an_owners_page_runs_on_the_generic_plan_for_a_busy_and_a_quiet_owner(
    one_link: AsyncReadPool, runtime: Runtime, owner: GraphQLClient, other_owner: GraphQLClient, tenant: TenantHandle
) -> None:
    busy = owner.data(ME)["me"]["member"]["id"]
    quiet = add_member(owner, tenant, "sales").data(ME)["me"]["member"]["id"]
    theirs = other_owner.data(ME)["me"]["member"]["id"]
    for name in ("Owned B", "Owned A"):
        owner.data(
            "mutation($n: String!, $o: ID) { createCustomer(input: {name: $n, ownerId: $o}) { customer { id } } }",
            {"n": name, "o": busy},
        )
    _create(other_owner, "Theirs")
    with _reading_on(runtime, one_link):
        for _ in range(3):
            assert [e["node"]["name"] for e in owner.data(OWNED, {"owner": busy})["customers"]["edges"]] == [
                "Owned A",
                "Owned B",
            ]
            assert owner.data(OWNED, {"owner": quiet})["customers"]["edges"] == []
            assert owner.data(OWNED, {"owner": theirs})["customers"]["edges"] == []  # another tenant's member
            assert other_owner.data(OWNED, {"owner": busy})["customers"]["edges"] == []  # and the other way
    plans = {name: plan for name, plan in _plans_here(one_link).items() if name.startswith("saas_")}
    (page,) = [plan for plan in plans.values() if "owner_id = $" in plan[2]]
    assert page[:2] == (12, 0)  # two tenants, three members: one generic plan, never a custom one


CUSTOMER_360 = """query($id: ID!) { customer(id: $id) {
  name contacts { name } opportunities { name stageHistory { toStage { name } } }
  timeline(first: 5) { edges { node { kind summary } } pageInfo { hasNextPage } } } }"""


def test_a_compiled_read_is_prepared_as_a_subquery_and_answers_as_the_text(
    one_link: AsyncReadPool,
    settings: Settings,
    database_url: str,
    runtime: Runtime,
    owner: GraphQLClient,
    other_owner: GraphQLClient,
) -> None:
    """The prepared query is `SELECT s.* FROM (<statement>) AS s` (`prepared.read_query`): what an
    EXECUTE copies to describe its result is then one column, not the whole JSON expression. The
    answers are those of the statement sent as text, and a second tenant still sees nothing."""
    created = owner.data('mutation { createCustomer(input: {name: "Subquery Corp"}) { customer { id } } }')
    customer_id = created["createCustomer"]["customer"]["id"]
    owner.data(
        "mutation($input: CreateContactInput!) { createContact(input: $input) { contact { id } } }",
        {"input": {"customerId": customer_id, "name": "Sub Person"}},
    )
    _create(other_owner, "Subquery Other")
    as_text = create_read_pool(
        settings.model_copy(update={"db_pool_size": 1, "db_read_concurrency": 0, "db_prepared_reads": False}),
        database_url,
    )
    try:
        with _reading_on(runtime, as_text):
            sent_as_text = owner.data(CUSTOMER_360, {"id": customer_id})
    finally:
        as_text.close()
    assert sent_as_text["customer"]["contacts"] == [{"name": "Sub Person"}]
    with _reading_on(runtime, one_link):
        for _ in range(3):
            assert owner.data(CUSTOMER_360, {"id": customer_id}) == sent_as_text
            # Another tenant asking for the same id finds nothing, on the same prepared statement.
            result = other_owner.execute(CUSTOMER_360, {"id": customer_id})
            assert result["data"] is None and result["errors"][0]["extensions"]["code"] == "NOT_FOUND"
            assert [e["node"]["name"] for e in other_owner.data(PAGE, {"first": 10})["customers"]["edges"]] == [
                "Subquery Other"
            ]
    plans = {name: plan for name, plan in _plans_here(one_link).items() if name.startswith("saas_")}
    assert len(plans) == 2
    for name, (generic, custom, text) in plans.items():
        # The message that prepared it: `set_config(…); PREPARE name(types) AS <query>; EXECUTE …`.
        query = text.split(f"; PREPARE {name}(", 1)[1].split(") AS ", 1)[1].rsplit(f"; EXECUTE {name}", 1)[0]
        assert query.startswith("SELECT s.* FROM (") and query.endswith("\n) AS s"), text
        assert custom == 0 and generic in (6, 3)


def test_a_prepared_read_keeps_every_column_and_row_order(one_connection: AsyncReadPool, tenant: TenantHandle) -> None:
    """Several columns (two of one name), a `WITH`, an order and a trailing comment: the first
    row as the statement itself answers it."""
    sql = (
        "WITH v(n) AS (VALUES (3), (1), (2)) "
        "SELECT n AS a, n * 10 AS a, %(tag)s::text AS tag FROM v ORDER BY n DESC -- the largest first"
    )
    for _ in range(2):
        row = on_connection(one_connection, lambda c: prepared.fetch_prepared(c, "SELECT 1", sql, {"tag": "x"}))
        assert row == (3, 30, "x")
    assert (sql, ("unknown",)) not in prepared.UNPREPARABLE
    assert prepared.read_query("SELECT 1 -- c") == "SELECT s.* FROM (SELECT 1 -- c\n) AS s"


def test_one_statement_has_one_form_per_tuple_of_parameter_types() -> None:
    """`Statement.form`: what a request sends is built once per (statement, types) and named as
    `name_of` names it; other types are another form, another prepared statement."""
    sql = f"SELECT %(a)s::text || %(b)s::text || '{secrets.token_hex(4)}'"
    statement = prepared.statement_of(sql)
    assert prepared.statement_of(sql) is statement
    values: dict[str, Any] = {"a": uuid.UUID(int=1), "b": 5}
    types = statement.types_of(values)
    assert types == tuple(prepared.sql_type(values[name]) for name in statement.names) == ("uuid", "unknown")
    form = statement.form(sql, types)
    assert statement.form(sql, types) is form
    assert form.name == prepared.name_of(sql, types)
    assert form.execute == f"EXECUTE {form.name}(%(a)s, %(b)s)"
    assert form.prefixed("SELECT 1") == ("SELECT 1", f"SELECT 1; EXECUTE {form.name}(%(a)s, %(b)s)")
    other = statement.form(sql, statement.types_of({"a": "text", "b": True}))
    assert other.types == ("unknown", "boolean") and other.name != form.name
    # A subclass, a datetime with and without its zone, a missing value: as `sql_type` says.
    assert statement.types_of({"a": datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)}) == ("timestamptz", "unknown")
    assert statement.types_of({"a": datetime.datetime(2024, 1, 1), "b": decimal.Decimal(1)}) == ("timestamp", "numeric")


def test_a_search_form_sets_its_plan_before_execute() -> None:
    sql = f"SELECT 1 FROM customers r WHERE r.name_key LIKE lower(%(search)s) AND '{secrets.token_hex(4)}' <> ''"
    statement = prepared.statement_of(sql)
    form = statement.form(sql, statement.types_of({"search": "a%"}))
    full, message = form.prefixed("PREFIX")
    assert full == "PREFIX; SELECT set_config('plan_cache_mode', 'force_custom_plan', true)"
    assert message == f"{full}; EXECUTE {form.name}(%(search)s)"


def test_the_same_statement_with_other_types_and_tenants_on_one_connection(
    one_connection: AsyncReadPool, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    """Two forms of one statement on one connection, the tenants taking turns, the tenant given as
    its UUID or its text (`Principal.tenant_text`): each request answers its own tenant and value."""
    sql = "SELECT current_setting('app.tenant_id') || '|' || %(tenant_id)s || '|' || %(v)s::text"
    for _ in range(2):
        for tenant_id in (tenant.id, str(other_tenant.id), other_tenant.id, str(tenant.id)):
            for value, shown in ((uuid.UUID(int=7), str(uuid.UUID(int=7))), (7, "7"), (True, "true")):
                assert fetch_json(one_connection, tenant_id, sql, {"v": value}) == f"{tenant_id}|{tenant_id}|{shown}"
    statement = prepared.statement_of(sql)
    here = _prepared_here(one_connection)
    for types in (("unknown", "uuid"), ("unknown", "unknown"), ("unknown", "boolean")):
        assert statement.form(sql, types).name in here
