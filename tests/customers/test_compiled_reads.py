"""Compiled reads (one SQL statement, JSON from PostgreSQL) and the resolver path agree."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import orjson
import pytest
from graphql import OperationDefinitionNode, parse

from saas.customers.graphql.sql import CUSTOMER
from saas.customers.rules import SqlCondition
from saas.runtime import Runtime
from saas.schema import compiler
from tests.conftest import GraphQLClient, add_member
from tests.schema.helpers import define_custom_fields, store_custom_fields

EVERYTHING = """
  __typename id name kind industry tier lifecycleStage source tags customFields notes
  lastContactedAt nextFollowUpAt version createdAt updatedAt deletedAt
  owner { __typename id email name role active createdAt }
  contacts { __typename id name title email phone isPrimary customFields version createdAt updatedAt customer { id name } }
"""
LIST = f"""query($after: String) {{
  customers(first: 3, after: $after, orderBy: NAME_DESC) {{
    __typename totalCount
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    edges {{ cursor node {{ {EVERYTHING} }} }}
  }}
}}"""
ONE = f"query($id: ID!) {{ customer(id: $id) {{ {EVERYTHING} }} node(id: $id) {{ id ... on Customer {{ name }} }} }}"


@pytest.fixture
def without_compiled_notes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make `Customer.notes` uncompilable, as a field computed in Python would be."""
    monkeypatch.delitem(CUSTOMER.columns, "notes")
    compiler.COMPILED.entries.clear()
    yield
    compiler.COMPILED.entries.clear()


def _seed(owner: GraphQLClient, tenant) -> str:  # type: ignore[no-untyped-def]
    sales = add_member(owner, tenant, "sales")
    sales_id = sales.data("{ me { member { id } } }")["me"]["member"]["id"]
    define_custom_fields(owner, size="NUMBER", ok="BOOLEAN")
    ids = []
    for i, name in enumerate(["Ärger GmbH", "Bolt & Nut", "Cobalt", "Cobalt", "Delta"]):
        created = owner.data(
            """mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } } }""",
            {
                "input": {
                    "name": name,
                    "tags": ["x", f"t{i}"],
                    "customFields": {"size": i, "ok": True},
                    "notes": 'line one\nline "two"',
                    "ownerId": sales_id if i % 2 else None,
                    "lifecycleStage": "PROSPECT",
                    "nextFollowUpAt": "2026-12-01T09:30:00+00:00",
                    "allowDuplicate": True,  # two "Cobalt": a tie in the name order
                }
            },
        )["createCustomer"]["customer"]
        ids.append(created["id"])
        for j in range(i % 3):
            owner.data(
                'mutation($c: ID!, $n: String!) { createContact(input: {customerId: $c, name: $n, email: "a@b.example.com"}) { contact { id } } }',
                {"c": created["id"], "n": f"Contact {j}"},
            )
    return ids[2]


def _pages(client: GraphQLClient) -> list[dict]:
    pages, after = [], None
    while True:
        page = client.data(LIST, {"after": after})["customers"]
        pages.append(page)
        if not page["pageInfo"]["hasNextPage"]:
            return pages
        after = page["pageInfo"]["endCursor"]


def test_list_through_resolvers_equals_compiled(owner: GraphQLClient, tenant, request: pytest.FixtureRequest) -> None:  # type: ignore[no-untyped-def]
    _seed(owner, tenant)
    compiled = _pages(owner)
    assert owner.last_statements == 1
    request.getfixturevalue("without_compiled_notes")
    resolved = _pages(owner)
    assert not compiler.COMPILED.entries  # the resolver path really ran: nothing was compiled
    assert resolved == compiled


def test_one_object_through_resolvers_equals_compiled(
    owner: GraphQLClient, tenant, request: pytest.FixtureRequest
) -> None:  # type: ignore[no-untyped-def]
    customer_id = _seed(owner, tenant)
    compiled = owner.data(ONE, {"id": customer_id})
    request.getfixturevalue("without_compiled_notes")
    resolved = owner.data(ONE, {"id": customer_id})
    assert resolved == compiled


def _response_bytes(client: GraphQLClient, query: str, variables: dict | None = None) -> tuple[bytes, int]:
    """The response exactly as the server writes it, and the statements it took; without
    `extensions.cost`, whose `remaining` and `resetAt` differ from one call to the next."""
    from saas.schema.engine import dumps

    async def run() -> tuple[bytes, int]:
        engine = client.engine
        principal = await asyncio.to_thread(engine.runtime.authenticate, f"Bearer {client.token}")
        outcome = await engine.execute(engine.prepare(query, None, principal), variables, principal, "test")
        assert outcome.payload.pop("extensions")["cost"]["requested"] > 0
        return dumps(outcome.payload), outcome.statements

    return asyncio.run(run())


def test_compiled_responses_are_compact_json_byte_for_byte_as_resolved(
    owner: GraphQLClient, tenant, request: pytest.FixtureRequest
) -> None:  # type: ignore[no-untyped-def]
    customer_id = _seed(owner, tenant)
    documents = [(LIST, {"after": None}), (ONE, {"id": customer_id})]
    compiled = [_response_bytes(owner, query, variables) for query, variables in documents]
    assert [statements for _, statements in compiled] == [1, 2]  # one per root field
    for body, _ in compiled:
        assert body == orjson.dumps(orjson.loads(body))  # compact, keys in the selection's order
        assert b'" : ' not in body and b'", "' not in body
    request.getfixturevalue("without_compiled_notes")
    resolved = [_response_bytes(owner, query, variables) for query, variables in documents]
    assert all(r > c for (_, r), (_, c) in zip(resolved, compiled, strict=True))  # resolvers really ran
    assert [body for body, _ in resolved] == [body for body, _ in compiled]


def test_stored_json_is_compacted_without_touching_its_strings(
    owner: GraphQLClient,
    request: pytest.FixtureRequest,
    runtime: Runtime,
    tenant,  # type: ignore[no-untyped-def]
) -> None:
    """Any JSON stored (values from before custom field definitions, or under archived keys)."""
    tricky = {
        "quote": 'say "a", "b": c',
        "list": [1, 2.5, {"x": "y, z", "w": ": "}, [], {}],
        "back\\slash": '\\", ',
        "text": "é ✓ \t tab",
        "nested": {"deeper": {"k": True, "n": None}},
    }
    created = owner.data('mutation { createCustomer(input: {name: "Tricky, \\"Quotes\\": Ltd"}) { customer { id } } }')[
        "createCustomer"
    ]["customer"]
    store_custom_fields(runtime, tenant.id, created["id"], tricky)
    query = "query($id: ID!) { customer(id: $id) { name customFields tags notes } }"
    compiled, statements = _response_bytes(owner, query, {"id": created["id"]})
    assert statements == 1
    assert orjson.loads(compiled)["data"]["customer"]["customFields"] == tricky
    request.getfixturevalue("without_compiled_notes")
    resolved, statements = _response_bytes(owner, query, {"id": created["id"]})
    assert not compiler.COMPILED.entries  # the resolver path ran: nothing was compiled
    assert resolved == compiled


def test_statements_do_not_grow_with_the_page_size(owner: GraphQLClient, tenant) -> None:  # type: ignore[no-untyped-def]
    _seed(owner, tenant)
    counts = set()
    for size in (1, 2, 5):
        owner.data(f"{{ customers(first: {size}) {{ edges {{ node {{ {EVERYTHING} }} }} totalCount }} }}")
        counts.add(owner.last_statements)
    assert counts == {1}


def test_skip_and_include_directives_follow_their_variables(owner: GraphQLClient, tenant) -> None:  # type: ignore[no-untyped-def]
    _seed(owner, tenant)
    query = """query($withContacts: Boolean!, $noTags: Boolean!) {
      customers(first: 5) { edges { node { name contacts @include(if: $withContacts) { name } tags @skip(if: $noTags) } } }
    }"""
    with_all = owner.data(query, {"withContacts": True, "noTags": False})["customers"]["edges"][0]["node"]
    assert set(with_all) == {"name", "contacts", "tags"}
    bare = owner.data(query, {"withContacts": False, "noTags": True})["customers"]["edges"][0]["node"]
    assert set(bare) == {"name"}


def test_fragments_and_aliases_compile(owner: GraphQLClient, tenant) -> None:  # type: ignore[no-untyped-def]
    _seed(owner, tenant)
    result = owner.data(
        """query { first: customers(first: 1) { edges { node { ...Basics label: name } } }
                   second: customers(first: 1, orderBy: NAME_DESC) { edges { node { ... on Customer { name } } } } }
           fragment Basics on Customer { id name tags }"""
    )
    node = result["first"]["edges"][0]["node"]
    assert set(node) == {"id", "name", "tags", "label"} and node["label"] == node["name"]
    ascending = owner.data("{ customers { edges { node { name } } } }")["customers"]["edges"]
    assert result["second"]["edges"][0]["node"]["name"] == ascending[-1]["node"]["name"]


def test_a_relations_parent_key_is_read_from_its_join() -> None:
    def relation(join: str) -> compiler.Relation:
        return compiler.Relation(target=lambda: CUSTOMER, table="contacts", join=join, order="{t}.id")

    contacts = CUSTOMER.relations["contacts"]
    assert contacts.parent_key() == ("customer_id", "id", "{t}.deleted_at IS NULL")
    assert relation("{t}.order_id = {p}.id").parent_key() == ("order_id", "id", "")
    assert relation("{t}.id = {p}.owner_id AND {t}.active = {p}.active").parent_key() is None  # not by key alone
    assert relation("{p}.id IN (SELECT 1)").parent_key() is None


def test_a_pages_list_relations_are_one_grouped_aggregate_with_the_same_answer(
    owner: GraphQLClient, tenant, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """The contacts under a page's edges: one aggregate of the page's contacts grouped by customer,
    joined to the page; the response is byte for byte that of one correlated subquery per row."""
    _seed(owner, tenant)
    operation = parse(f"{{ edges {{ cursor node {{ {EVERYTHING} }} }} }}").definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    state = compiler.CompileState(fragments={}, variables={})
    sort = compiler.SortKey(("name", "id"), ("varchar", "uuid"), descending=False)
    sql = compiler.connection_sql(
        CUSTOMER, operation.selection_set, state, SqlCondition(), sort, has_after=False, size=50
    )
    assert sql.count("FROM contacts ") == 1 and "GROUP BY" in sql and "LEFT JOIN (SELECT" in sql

    grouped = [_response_bytes(owner, query, variables) for query, variables in [(LIST, {"after": None})]]
    monkeypatch.setattr(compiler.Relation, "parent_key", lambda self: None)  # the correlated form
    compiler.COMPILED.entries.clear()
    correlated = [_response_bytes(owner, query, variables) for query, variables in [(LIST, {"after": None})]]
    compiler.COMPILED.entries.clear()
    assert grouped == correlated and [statements for _, statements in grouped] == [1]
    assert b'"contacts":[{' in grouped[0][0]


def test_the_grouped_contacts_of_a_second_tenants_page_are_its_own(
    owner: GraphQLClient, other_owner: GraphQLClient, tenant
) -> None:  # type: ignore[no-untyped-def]
    _seed(owner, tenant)
    created = other_owner.data('mutation { createCustomer(input: {name: "Other Co"}) { customer { id } } }')
    other_owner.data(
        'mutation($c: ID!) { createContact(input: {customerId: $c, name: "Only Mine"}) { contact { id } } }',
        {"c": created["createCustomer"]["customer"]["id"]},
    )
    page = other_owner.data("{ customers(first: 50) { edges { node { name contacts { name } } } } }")["customers"]
    assert other_owner.last_statements == 1
    assert [edge["node"] for edge in page["edges"]] == [{"name": "Other Co", "contacts": [{"name": "Only Mine"}]}]


OWNER_IDS = """query($after: String) { customers(first: 10, after: $after, orderBy: NAME_DESC) {
  pageInfo { hasNextPage endCursor }
  edges { node { name notes owner { __typename id } mine: owner { id } } } } }"""


def _compiled_sql(sql_type: compiler.SqlType, selection: str) -> str:
    operation = parse(f"{{ {selection} }}").definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    state = compiler.CompileState(fragments={}, variables={})
    return compiler.single_sql(sql_type, operation.selection_set, state, SqlCondition())


def test_a_foreign_keys_target_id_is_written_from_the_parents_column() -> None:
    """`owner { id }` needs no lookup of the membership: the key names it; any other field does."""
    assert CUSTOMER.relations["owner"].foreign_key
    ids_only = _compiled_sql(CUSTOMER, "name owner { __typename id } again: owner { id }")
    assert "memberships" not in ids_only
    assert "CASE WHEN r.owner_id IS NULL THEN 'null'" in ids_only
    assert "FROM memberships" in _compiled_sql(CUSTOMER, "owner { id email }")
    assert "FROM memberships" in _compiled_sql(CUSTOMER, "owner { role }")


def test_a_relation_without_a_foreign_key_is_still_looked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    relation = CUSTOMER.relations["owner"]
    plain = compiler.Relation(target=relation.target, table=relation.table, join=relation.join)
    monkeypatch.setitem(CUSTOMER.relations, "owner", plain)
    assert "FROM memberships" in _compiled_sql(CUSTOMER, "owner { id }")


def test_owner_ids_from_the_key_equal_the_resolvers(
    owner: GraphQLClient, tenant, request: pytest.FixtureRequest
) -> None:  # type: ignore[no-untyped-def]
    """Customers with and without an owner: the same pages, byte for byte, as the resolver path."""
    _seed(owner, tenant)
    compiled, statements = _response_bytes(owner, OWNER_IDS, {"after": None})
    assert statements == 1
    nodes = [edge["node"] for edge in orjson.loads(compiled)["data"]["customers"]["edges"]]
    assert {node["owner"] is None for node in nodes} == {True, False}
    assert all(node["owner"] == (node["mine"] and {"__typename": "Member", **node["mine"]}) for node in nodes)
    request.getfixturevalue("without_compiled_notes")
    resolved, statements = _response_bytes(owner, OWNER_IDS, {"after": None})
    assert statements > 1  # the resolvers really ran
    assert resolved == compiled


def test_a_second_tenant_sees_no_owner_of_the_first_tenants_customer(
    owner: GraphQLClient, other_owner: GraphQLClient, tenant
) -> None:  # type: ignore[no-untyped-def]
    _seed(owner, tenant)
    edges = owner.data("{ customers(first: 50) { edges { node { id owner { id } } } } }")["customers"]["edges"]
    customer_id = next(edge["node"]["id"] for edge in edges if edge["node"]["owner"])
    one = "query($id: ID!) { customer(id: $id) { owner { id } } }"
    assert other_owner.error_codes(one, {"id": customer_id}) == ["NOT_FOUND"]
    node = "query($id: ID!) { node(id: $id) { ... on Customer { owner { id } } } }"
    assert other_owner.error_codes(node, {"id": customer_id}) == ["NOT_FOUND"]
    mine = other_owner.data('mutation { createCustomer(input: {name: "Own Co"}) { customer { id owner { id } } } }')
    page = other_owner.data("{ customers(first: 50) { edges { node { id owner { id } } } } }")["customers"]["edges"]
    assert [edge["node"] for edge in page] == [mine["createCustomer"]["customer"]]


def test_plain_emails_and_phones_are_written_as_the_resolvers_write_them(
    owner: GraphQLClient, tenant, runtime: Runtime, request: pytest.FixtureRequest
) -> None:  # type: ignore[no-untyped-def]
    """A contact's plain email and phone are written as JSON strings straight from the column
    (`core_field_sql`): every character that JSON escapes comes out as the resolvers write it
    (a contact without a phone: `null`, as in `_seed`)."""
    from sqlalchemy import text

    from saas.tenancy.session import tenant_session

    _seed(owner, tenant)
    awkward = 'a"b\\c/ë€😀\t\n\x01@example.com'
    with tenant_session(runtime.engine, tenant.id) as session:
        session.execute(
            text("UPDATE contacts SET email = :email, phone = :phone WHERE name = 'Contact 0'"),
            {"email": awkward, "phone": '+44 "20" \\ 7946'},
        )
    compiled = _response_bytes(owner, LIST, {"after": None})
    assert compiled[1] == 1 and awkward.encode() not in compiled[0]  # written escaped
    request.getfixturevalue("without_compiled_notes")
    resolved = _response_bytes(owner, LIST, {"after": None})
    assert resolved[1] > 1 and resolved[0] == compiled[0]
    contacts = [c for e in orjson.loads(compiled[0])["data"]["customers"]["edges"] for c in e["node"]["contacts"]]
    assert awkward in {c["email"] for c in contacts}
