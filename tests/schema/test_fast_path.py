"""Queries of compiled root fields run without graphql-core's executor (`saas.schema.fast_path`).

Every compiled root query of the benchmark and of the smoke test, and the cases where the fast
path must hand over to the executor (errors, a selection that does not compile, root fields it does
not take), answer byte for byte what the executor answers (`GraphQLEngine.fast_path = False`), with
the same number of statements, and no root resolver runs twice.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest

import saas.schema.engine
from bench.common import CUSTOMERS_PAGE as BENCH_CUSTOMERS_PAGE
from bench.sales import CUSTOMER_360 as BENCH_360
from bench.targets import CUSTOMER_360_PLUGIN_PARTS, OPPORTUNITIES, PLUGIN_TARGETS
from saas.customers.graphql.sql import CUSTOMER
from saas.demo import DEMO_PASSWORD, seed_demo
from saas.runtime import Runtime
from saas.schema import compiler
from saas.schema.engine import GraphQLEngine, OperationError, dumps
from tests.conftest import GraphQLClient, login
from tests.test_compiled_smoke import CUSTOMER_360, LISTS, PLUGIN_FIELDS, PLUGINS

NODE = "query($id: ID!) { node(id: $id) { id ... on Customer { name tier contacts { name } } ... on Contact { name email } } }"
CONTACT = "query($id: ID!) { contact(id: $id) { id name email isPrimary customer { id name } } }"
CUSTOMER_BY_ID = "query($id: ID!) { customer(id: $id) { id name contacts { id name } } }"
NULLABLE_NODE = "query($id: ID!) { node(id: $id) { id } }"


@pytest.fixture(scope="module")
def demo_tenant(runtime: Runtime) -> Any:
    return seed_demo(
        runtime.engine, 20, slug=f"fast-{secrets.token_hex(4)}", plugins=runtime.plugins, plugin_names=PLUGINS
    )


def _client(demo_tenant: Any, graphql_engine: Any, role: str) -> GraphQLClient:
    user = next(user for user in demo_tenant.users if user.role == role)
    return login(GraphQLClient(graphql_engine), user.email, DEMO_PASSWORD, demo_tenant.slug)


@pytest.fixture(scope="module")
def demo_owner(demo_tenant: Any, graphql_engine: Any) -> GraphQLClient:
    return _client(demo_tenant, graphql_engine, "owner")


@pytest.fixture(scope="module")
def demo_rep(demo_tenant: Any, graphql_engine: Any) -> GraphQLClient:
    return _client(demo_tenant, graphql_engine, "sales")


class Run:
    """One request's answer as the client receives it (without `extensions.cost`, which tells the
    budget left), its statements, and whether the executor ran."""

    def __init__(self, body: bytes, statements: int, executed: int, fast: bool) -> None:
        self.body, self.statements, self.executed, self.fast = body, statements, executed, fast

    @property
    def payload(self) -> dict[str, Any]:
        return orjson.loads(self.body)  # type: ignore[no-any-return]


def _run(client: GraphQLClient, query: str, variables: dict[str, Any] | None, fast: bool) -> Run:
    engine: GraphQLEngine = client.engine
    executed = [0]
    original = saas.schema.engine.graphql_execute

    def counted(*args: Any, **kwargs: Any) -> Any:
        executed[0] += 1
        return original(*args, **kwargs)

    async def run() -> Run:
        principal = await asyncio.to_thread(engine.runtime.authenticate, f"Bearer {client.token}")
        try:
            prepared = await engine.prepare_async(query, None, principal)
        except OperationError as error:
            return Run(dumps({"errors": error.errors}), 0, 0, False)
        outcome = await engine.execute(prepared, variables, principal, "test-request")
        extensions = outcome.payload.pop("extensions")
        assert set(extensions) == {"cost"}
        return Run(dumps(outcome.payload), outcome.statements, executed[0], prepared.fast is not None)

    engine.fast_path = fast
    saas.schema.engine.graphql_execute = counted  # type: ignore[assignment]
    try:
        return asyncio.run(run())
    finally:
        engine.fast_path = True
        saas.schema.engine.graphql_execute = original


def both(client: GraphQLClient, query: str, variables: dict[str, Any] | None = None) -> Run:
    """The fast path's run, asserted identical to the executor's (bytes and statements)."""
    slow = _run(client, query, variables, fast=False)
    fast = _run(client, query, variables, fast=True)
    assert fast.body == slow.body, (fast.payload, slow.payload)
    assert fast.statements == slow.statements
    assert slow.executed == 1 or not slow.fast
    return fast


def _ids(client: GraphQLClient) -> dict[str, str]:
    edges = client.data("{ customers(first: 50) { edges { node { id opportunities { id } contacts { id } } } } }")
    nodes = [edge["node"] for edge in edges["customers"]["edges"]]
    busiest = max(nodes, key=lambda node: len(node["opportunities"]))
    contact = next(node for node in nodes if node["contacts"])["contacts"][0]["id"]
    return {"customer": busiest["id"], "contact": contact}


@contextmanager
def _not_compiled(column: str) -> Iterator[None]:
    """The customer's `column` without SQL: a selection with it goes through the resolvers."""
    compiler.COMPILED.entries.clear()
    saved = CUSTOMER.columns.pop(column)
    try:
        yield
    finally:
        CUSTOMER.columns[column] = saved
        compiler.COMPILED.entries.clear()


@contextmanager
def _resolver_calls(engine: GraphQLEngine, field: str) -> Iterator[list[int]]:
    """Counts the calls of the root field `field`'s resolver, in every schema the engine built."""
    calls = [0]
    patched = []
    for schema in engine._schemas.items.values():
        definition = schema.query_type.fields[field]
        original = definition.resolve

        def counting(*args: Any, _original: Callable[..., Any] = original, **kwargs: Any) -> Any:
            calls[0] += 1
            return _original(*args, **kwargs)

        definition.resolve = counting
        patched.append((definition, original))
    # Plans made while the resolver is replaced call it through its resolver: none outlives the patch.
    engine._prepared.items.clear()
    try:
        yield calls
    finally:
        for definition, original in patched:
            definition.resolve = original
        engine._prepared.items.clear()


# --- every compiled root query ----------------------------------------------------------------


def test_the_benchmark_queries_answer_the_same_without_the_executor(demo_owner: GraphQLClient) -> None:
    ids = _ids(demo_owner)
    page = both(demo_owner, BENCH_CUSTOMERS_PAGE, {"first": 5})
    assert page.fast and page.executed == 0 and page.statements == 1
    after = page.payload["data"]["customers"]["pageInfo"]["endCursor"]
    assert both(demo_owner, BENCH_CUSTOMERS_PAGE, {"first": 5, "after": after}).executed == 0
    for query in (BENCH_360, BENCH_360.replace("tasks {", CUSTOMER_360_PLUGIN_PARTS + "\n    tasks {", 1)):
        run = both(demo_owner, query, {"id": ids["customer"]})
        assert run.executed == 0 and run.statements == 1
        assert run.payload["data"]["customer"]["opportunities"]
    for query in (OPPORTUNITIES, *(ours for _name, ours, _theirs in PLUGIN_TARGETS)):
        run = both(demo_owner, query, {"first": 50})
        assert run.executed == 0 and run.statements == 1, query
        (connection,) = run.payload["data"].values()
        assert connection["edges"], query


@pytest.mark.parametrize("name", sorted(LISTS))
def test_each_compiled_list_answers_the_same_without_the_executor(demo_owner: GraphQLClient, name: str) -> None:
    for first in (2, 20):
        run = both(demo_owner, LISTS[name], {"first": first})
        assert run.executed == 0 and run.statements == 1


def test_single_objects_answer_the_same_without_the_executor(
    demo_owner: GraphQLClient, demo_rep: GraphQLClient
) -> None:
    ids = _ids(demo_owner)
    assert both(demo_owner, CUSTOMER_360, {"id": ids["customer"], "first": 3}).executed == 0
    for plugin, selection in PLUGIN_FIELDS.items():
        query = CUSTOMER_360.replace("paymentPlans {", selection + "\n  paymentPlans {")
        assert both(demo_owner, query, {"id": ids["customer"], "first": 3}).executed == 0, plugin
    assert both(demo_owner, CONTACT, {"id": ids["contact"]}).payload["data"]["contact"]["customer"]
    for key in ("customer", "contact"):
        run = both(demo_owner, NODE, {"id": ids[key]})
        assert run.executed == 0 and run.payload["data"]["node"]["name"]
    # A sales rep sees a part of the tenant: the same part either way.
    assert both(demo_rep, BENCH_CUSTOMERS_PAGE, {"first": 50}).executed == 0


def test_aliases_fragments_and_directives_inside_the_selection(demo_owner: GraphQLClient) -> None:
    query = """query($first: Int, $withContacts: Boolean!, $plain: Boolean!) {
      a: customers(first: $first) { ...Page }
      b: customers(first: 1) { edges { node { id contacts @include(if: $withContacts) { name } } } }
      customers(first: 2) { edges { node { name @skip(if: $plain) ... on Customer { tier } } } }
    }
    fragment Page on CustomerConnection { totalCount edges { cursor node { id name } } pageInfo { hasNextPage } }"""
    for flags in ({"withContacts": True, "plain": False}, {"withContacts": False, "plain": True}):
        run = both(demo_owner, query, {"first": 3, **flags})
        assert run.executed == 0 and list(run.payload["data"]) == ["a", "b", "customers"]
    # One key asked twice: the nodes are merged, as the executor merges them.
    merged = both(demo_owner, "{ customers(first: 2) { totalCount } customers(first: 2) { edges { node { id } } } }")
    assert merged.executed == 0 and set(merged.payload["data"]["customers"]) == {"totalCount", "edges"}


def test_two_domains_in_one_operation(demo_owner: GraphQLClient) -> None:
    query = "{ leads(first: 3) { edges { node { id name } } } tickets(first: 3) { totalCount edges { node { id subject } } } }"
    run = both(demo_owner, query)
    assert run.executed == 0 and run.statements == 2


# --- what the executor still does, on the fast path's outcomes ---------------------------------


def test_a_selection_that_does_not_compile_is_completed_by_the_executor_once(demo_owner: GraphQLClient) -> None:
    ids = _ids(demo_owner)
    with _not_compiled("tier"):
        with _resolver_calls(demo_owner.engine, "customers") as calls:
            page = both(demo_owner, "{ customers(first: 3) { edges { node { id name tier contacts { name } } } } }")
            assert calls[0] == 2  # once per path: the executor completed the fast path's result
        assert page.executed == 1 and page.statements > 1
        assert len(page.payload["data"]["customers"]["edges"]) == 3
        # A selection of plain fields of the resolvers' objects: written without the executor
        # (`saas.schema.payload_writer`), the same bytes.
        with _resolver_calls(demo_owner.engine, "customers") as calls:
            plain = both(demo_owner, "{ customers(first: 3) { edges { node { id name tier } } totalCount } }")
            assert calls[0] == 2
        assert plain.executed == 0 and plain.statements > 1
        # A compiled root field beside one that falls back.
        mixed = both(
            demo_owner, "{ leads(first: 2) { edges { node { id } } } customers(first: 2) { edges { node { tier } } } }"
        )
        assert set(mixed.payload["data"]) == {"leads", "customers"}
        single = both(demo_owner, CUSTOMER_BY_ID.replace("name", "name tier", 1), {"id": ids["customer"]})
        assert "tier" in single.payload["data"]["customer"]


def test_root_fields_that_are_not_compiled(demo_owner: GraphQLClient) -> None:
    me = both(demo_owner, "{ me { email role } }")  # plain fields: written without the executor
    assert me.fast and me.executed == 0 and me.payload["data"]["me"]["role"] == "OWNER"
    run = both(demo_owner, "{ me { email } customers(first: 1) { edges { node { id } } } }")
    assert list(run.payload["data"]) == ["me", "customers"]
    # Not taken at all: __typename and introspection at the root, a directive on a root field.
    for query, variables in (
        ("{ __typename customers(first: 1) { totalCount } }", None),
        ('{ __type(name: "Customer") { name } }', None),
        ("query($x: Boolean!) { customers(first: 1) @include(if: $x) { totalCount } }", {"x": True}),
        ("query($x: Boolean!) { customers(first: 1) @skip(if: $x) { totalCount } }", {"x": True}),
    ):
        run = both(demo_owner, query, variables)
        assert not run.fast and run.executed == 1, query


# --- errors: the same message, code, path, locations and data -------------------------------------


def test_a_bad_cursor_or_page_size(demo_owner: GraphQLClient) -> None:
    for variables in ({"first": 2, "after": "not a cursor"}, {"first": 2, "after": "WyJ4Il0="}, {"first": -1}):
        run = both(demo_owner, BENCH_CUSTOMERS_PAGE.replace("$first: Int!", "$first: Int"), variables)
        assert run.executed == 1
        assert [e["extensions"]["code"] for e in run.payload["errors"]] == ["BAD_USER_INPUT"]
        assert run.payload["errors"][0]["path"] == ["customers"] and run.payload["data"] is None


def test_variables_that_do_not_coerce(demo_owner: GraphQLClient) -> None:
    for variables in ({"first": True}, {}, {"first": 2, "after": 5}, {"first": 2**40}):
        run = both(demo_owner, BENCH_CUSTOMERS_PAGE, variables)
        assert run.executed == 1 and "data" not in run.payload
        assert run.payload["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    run = both(
        demo_owner,
        "query($kinds: [AuditKind!]) { auditLog(first: 2, kinds: $kinds) { edges { cursor } } }",
        {"kinds": ["NOPE"]},
    )
    assert "data" not in run.payload


def test_not_found_and_a_malformed_id(demo_owner: GraphQLClient) -> None:
    ids = _ids(demo_owner)
    contact_as_customer = ids["contact"]
    for query, variables in (
        (CUSTOMER_BY_ID, {"id": contact_as_customer}),  # the id of a contact
        (CUSTOMER_BY_ID, {"id": "garbage"}),
        (NULLABLE_NODE, {"id": "garbage"}),
        ("query($id: ID!) { a: leads(first: 1) { totalCount } b: customer(id: $id) { id } }", {"id": "garbage"}),
    ):
        run = both(demo_owner, query, variables)
        assert run.executed == 1 and run.payload["errors"], query
        assert {e["extensions"]["code"] for e in run.payload["errors"]} <= {"NOT_FOUND", "BAD_USER_INPUT"}


def test_a_missing_permission(demo_rep: GraphQLClient) -> None:
    with _resolver_calls(demo_rep.engine, "auditLog") as calls:
        run = both(demo_rep, LISTS["auditLog"], {"first": 2})
        assert calls[0] == 2  # once per path
    assert run.executed == 1 and run.payload["data"] is None
    assert [e["extensions"]["code"] for e in run.payload["errors"]] == ["FORBIDDEN"]
    assert run.payload["errors"][0]["path"] == ["auditLog"] and run.payload["errors"][0]["locations"]
    # Beside a field the rep may read: the error nulls the whole response, as the executor does.
    both(demo_rep, "{ leads(first: 1) { totalCount } auditLog(first: 1) { edges { cursor } } }")


def test_another_tenants_ids_find_nothing(demo_owner: GraphQLClient, other_owner: GraphQLClient) -> None:
    ids = _ids(demo_owner)
    for query in (CUSTOMER_BY_ID, CONTACT, NODE):
        key = "contact" if query is CONTACT else "customer"
        run = both(other_owner, query, {"id": ids[key]})
        assert run.fast and run.executed == 1
        assert [e["extensions"]["code"] for e in run.payload["errors"]] == ["NOT_FOUND"]
    page = both(other_owner, BENCH_CUSTOMERS_PAGE, {"first": 50})
    assert page.executed == 0 and page.payload["data"]["customers"]["edges"] == []
    mine = {
        edge["node"]["id"]
        for edge in both(demo_owner, BENCH_CUSTOMERS_PAGE, {"first": 50}).payload["data"]["customers"]["edges"]
    }
    assert ids["customer"] in mine


def test_the_compiled_root_fields_skip_strawberrys_wrapper(demo_owner: GraphQLClient) -> None:
    """Their resolvers are called as strawberry's wrapper calls them (`DirectCall`), the arguments
    of every kind converted alike: scalars, enums, lists of enums, input objects."""
    engine: GraphQLEngine = demo_owner.engine
    principal = engine.runtime.authenticate(f"Bearer {demo_owner.token}")
    queries = [BENCH_CUSTOMERS_PAGE, BENCH_360, CONTACT, NODE, OPPORTUNITIES, *LISTS.values()]
    for query in queries:
        prepared = engine.prepare(query, None, principal)
        assert prepared.fast is not None and all(root.direct is not None for root in prepared.fast.fields), query
    customers = """query($filter: CustomerFilterInput, $orderBy: CustomerOrder, $first: Int) {
      customers(first: $first, filter: $filter, orderBy: $orderBy) { totalCount edges { node { id name tier } } } }"""
    for variables in (
        {"orderBy": "NAME_ASC", "first": 4},
        {"orderBy": "CREATED_AT_ASC", "filter": {"lifecycleStage": "CUSTOMER", "state": "ALL"}},
        {"filter": {"search": "a", "ownerId": None, "unowned": False}},
        {"filter": {"ownerId": "not an id"}},
        {"filter": {"state": "NOPE"}},
    ):
        assert both(demo_owner, customers, variables).executed in (0, 1)
    audit = "query($kinds: [AuditKind!], $prefix: String) { auditLog(first: 3, kinds: $kinds, actionPrefix: $prefix) { edges { node { kind action } } } }"
    assert both(demo_owner, audit, {"kinds": ["CHANGE"], "prefix": "customer."}).executed == 0
    assert both(demo_owner, audit, {"kinds": []}).payload["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@contextmanager
def _coercions() -> Iterator[list[int]]:
    """How many times the fast path asks graphql-core to coerce an operation's variables."""
    import saas.schema.fast_path as fast_path

    calls = [0]
    original = fast_path.get_variable_values

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(*args, **kwargs)

    fast_path.get_variable_values = counted  # type: ignore[assignment]
    try:
        yield calls
    finally:
        fast_path.get_variable_values = original  # type: ignore[assignment]


PAGE_OF_IDS = (
    "query($first: Int, $after: String) { customers(first: $first, after: $after) { edges { cursor node { id } } } }"
)


def test_coerced_variables_are_kept_for_the_same_values_of_the_same_types(demo_owner: GraphQLClient) -> None:
    """`FastPlan.coerced`: a request repeating another's plain variables is not coerced again and
    answers the same; another value, another type that compares equal (`True == 1`), a string for
    an int, or variables that do not coerce are coerced (and refused) as before, every time."""
    first = both(demo_owner, PAGE_OF_IDS, {"first": 2})
    assert len(first.payload["data"]["customers"]["edges"]) == 2
    with _coercions() as calls:
        again = both(demo_owner, PAGE_OF_IDS, {"first": 2})
        assert calls[0] == 0  # the executor's run coerces on its own; the fast path did not
        assert again.body == first.body and again.executed == 0
        one = both(demo_owner, PAGE_OF_IDS, {"first": 1})
        assert calls[0] == 1 and len(one.payload["data"]["customers"]["edges"]) == 1
        both(demo_owner, PAGE_OF_IDS, {"first": 1})
        assert calls[0] == 1
        for refused in ({"first": True}, {"first": "1"}, {"first": 2**40}):
            for _ in range(2):  # a refusal is never kept
                run = both(demo_owner, PAGE_OF_IDS, refused)
                assert run.payload["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", refused
                assert run.executed == 1 and "data" not in run.payload
        assert calls[0] == 1 + 6
        for _ in range(2):  # 1.0 is an Int (graphql-core), but a float is never kept
            assert both(demo_owner, PAGE_OF_IDS, {"first": 1.0}).body == one.body
        assert calls[0] == 1 + 6 + 2
        # The same page asked again after a cursor: the cursor is another value, another key.
        cursor = one.payload["data"]["customers"]["edges"][0]["cursor"]
        after = both(demo_owner, PAGE_OF_IDS, {"first": 1, "after": cursor})
        assert (
            after.payload["data"]["customers"]["edges"][0]["node"]["id"]
            == (first.payload["data"]["customers"]["edges"][1]["node"]["id"])
        )
        bad_cursor = both(demo_owner, PAGE_OF_IDS, {"first": 1, "after": "not a cursor"})
        assert [e["extensions"]["code"] for e in bad_cursor.payload["errors"]] == ["BAD_USER_INPUT"]
        bad_again = both(demo_owner, PAGE_OF_IDS, {"first": 1, "after": "not a cursor"})
        assert bad_again.body == bad_cursor.body


def test_kept_coercions_hold_no_caller(demo_owner: GraphQLClient, other_owner: GraphQLClient) -> None:
    """The variables kept for one tenant's request are values only: another tenant's request with
    the same variables answers its own rows (none of the first tenant's), and the first tenant's
    ids, sent by the second, find nothing."""
    mine = both(demo_owner, PAGE_OF_IDS, {"first": 5})
    theirs = both(other_owner, PAGE_OF_IDS, {"first": 5})
    my_ids = {edge["node"]["id"] for edge in mine.payload["data"]["customers"]["edges"]}
    their_ids = {edge["node"]["id"] for edge in theirs.payload["data"]["customers"]["edges"]}
    assert len(my_ids) == 5 and not my_ids & their_ids
    customer = sorted(my_ids)[0]
    for _ in range(2):
        run = both(other_owner, CUSTOMER_BY_ID, {"id": customer})
        assert [e["extensions"]["code"] for e in run.payload["errors"]] == ["NOT_FOUND"]
    assert both(demo_owner, CUSTOMER_BY_ID, {"id": customer}).payload["data"]["customer"]["id"] == customer
