"""The leads list's one statement (a page of the columns it reads, the channel joined to it, ids,
date-times and cursors quoted as they are) answers byte for byte as the resolver path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from graphql import OperationDefinitionNode, parse
from sqlalchemy import text

from saas.db.conditions import SqlCondition
from saas.leads.graphql.sql import LEAD, LEAD_SORT
from saas.runtime import Runtime
from saas.schema import compiler
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient, add_member
from tests.customers.test_compiled_reads import _response_bytes
from tests.leads.support import CREATE_CHANNEL, create_lead, member_id, ok

LIST = """query($first: Int, $after: String) { leads(first: $first, after: $after) {
  __typename totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  edges { cursor node { __typename id name company email phone status createdAt updatedAt claimedAt
    owner { id } channel { __typename id name cost createdAt } } } } }"""


@pytest.fixture
def resolvers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`Lead.phone` without an SQL mapping: the list is answered by the resolvers."""
    monkeypatch.delitem(LEAD.columns, "phone")
    compiler.COMPILED.entries.clear()
    yield
    compiler.COMPILED.entries.clear()


def _pages(client: GraphQLClient, first: int) -> list[tuple[bytes, int]]:
    pages, after = [], None
    while True:
        body, statements = _response_bytes(client, LIST, {"first": first, "after": after})
        pages.append((body, statements))
        info = orjson.loads(body)["data"]["leads"]["pageInfo"]
        if not info["hasNextPage"]:
            return pages
        after = info["endCursor"]


def _seed(owner: GraphQLClient, tenant: Any, runtime: Runtime, count: int) -> None:
    """`count` leads: odd ones with a channel, every third with an owner, names and companies that
    need escaping, one created on a whole second (microseconds 0), NULL emails and phones."""
    channel = ok(owner, CREATE_CHANNEL, {"name": 'Web "direct" \\ Ü', "cost": "1234567.05"}, "createChannel")["channel"]
    rep = member_id(add_member(owner, tenant, "sales"))
    names = ["Zoë Ärger", 'Bolt "&" Nut', "back\\slash", "new\nline\ttab", "東京 株式会社", ""]
    for i in range(count):
        create_lead(
            owner,
            name=names[i % len(names)] or f"Lead {i}",
            company=None if i % 4 == 0 else f'Co "{i}"\n\\',
            email=f"lead{i}@example.com" if i % 5 else None,
            channelId=channel["id"] if i % 2 else None,
            ownerId=rep if i % 3 == 0 else None,
        )
    with tenant_session(runtime.engine, tenant.id) as session:
        session.execute(
            text(
                "UPDATE leads SET created_at = date_trunc('second', created_at) WHERE id = (SELECT id FROM leads ORDER BY created_at LIMIT 1)"
            )
        )


@pytest.mark.parametrize(("count", "first"), [(0, 50), (50, 50), (51, 50), (7, 3)])
def test_the_compiled_list_is_the_resolvers_byte_for_byte(
    owner: GraphQLClient, tenant: Any, runtime: Runtime, request: pytest.FixtureRequest, count: int, first: int
) -> None:  # type: ignore[no-untyped-def]
    """An empty page, a page of exactly `first` rows (no next page), `first + 1` rows (a next page
    of one) and several pages: the same bytes from one statement and from the resolvers."""
    _seed(owner, tenant, runtime, count)
    compiled = _pages(owner, first)
    assert {statements for _, statements in compiled} == {1}
    edges = [edge for body, _ in compiled for edge in orjson.loads(body)["data"]["leads"]["edges"]]
    assert len(edges) == count and len(compiled) == max(1, -(-count // first))
    if count:
        assert {edge["node"]["channel"] is None for edge in edges} == {True, False}
        assert {edge["node"]["owner"] is None for edge in edges} == {True, False}
        assert any(edge["node"]["createdAt"].endswith(".000000+00:00") for edge in edges)
    request.getfixturevalue("resolvers")
    resolved = _pages(owner, first)
    assert all(statements > 1 for _, statements in resolved) or count == 0  # the resolvers really ran
    assert [body for body, _ in resolved] == [body for body, _ in compiled]


def test_a_second_tenant_sees_its_own_leads_and_channels(
    owner: GraphQLClient, other_owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:  # type: ignore[no-untyped-def]
    _seed(owner, tenant, runtime, 6)
    theirs = ok(other_owner, CREATE_CHANNEL, {"name": "Theirs", "cost": "1.00"}, "createChannel")["channel"]
    create_lead(other_owner, name="Only Mine", channelId=theirs["id"])
    create_lead(other_owner, name="No Channel")
    page = other_owner.data(LIST, {"first": 50})["leads"]
    assert other_owner.last_statements == 1 and page["totalCount"] == 2
    channels = {edge["node"]["name"]: edge["node"]["channel"] for edge in page["edges"]}
    assert channels.keys() == {"Only Mine", "No Channel"}
    assert channels["No Channel"] is None and channels["Only Mine"]["id"] == theirs["id"]
    # The first tenant's cursor names none of the second tenant's rows.
    after = owner.data(LIST, {"first": 1})["leads"]["pageInfo"]["endCursor"]
    later = other_owner.data(LIST, {"first": 50, "after": after})["leads"]
    assert {edge["node"]["name"] for edge in later["edges"]} <= {"Only Mine", "No Channel"}


def _list_sql(selection: str) -> str:
    operation = parse(f"{{ {selection} }}").definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    state = compiler.CompileState(fragments={}, variables={})
    return compiler.connection_sql(
        LEAD, operation.selection_set, state, SqlCondition(), LEAD_SORT, has_after=False, size=50
    )


def test_the_page_holds_the_columns_read_and_joins_the_channel() -> None:
    sql = _list_sql("edges { cursor node { name channel { name } } } pageInfo { endCursor }")
    page = sql[: sql.index(") SELECT ")]
    assert "r.*" not in page
    assert 'r."id", r."name", r."channel_id", r."created_at"' in page  # the table's order; the sort key's
    # looked up by primary key for each page row, not a correlated subquery in each row's JSON
    assert (
        'LEFT JOIN LATERAL (SELECT t1."id", t1."name" FROM channels t1 WHERE' in sql and sql.count("FROM channels") == 1
    )
    assert "to_json(e.id" not in sql and "json_build_array" not in sql and "translate(" not in sql


def test_a_to_one_relation_by_another_key_is_still_a_subquery(monkeypatch: pytest.MonkeyPatch) -> None:
    relation = LEAD.relations["channel"]
    by_name = compiler.Relation(target=relation.target, table=relation.table, join="{t}.name = {p}.company")
    monkeypatch.setitem(LEAD.relations, "channel", by_name)
    sql = _list_sql("edges { node { channel { name } } }")
    assert "LEFT JOIN LATERAL" not in sql and "FROM channels" in sql


def test_a_joined_relation_keeps_the_callers_visibility(
    owner: GraphQLClient, tenant: Any, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """A to-one relation with visibility of its own, joined to the page: a target the caller may
    not see is `null`, the same bytes as the correlated subquery's."""
    _seed(owner, tenant, runtime, 6)
    ok(owner, CREATE_CHANNEL, {"name": "Hidden", "cost": "1.00"}, "createChannel")
    hidden = next(c["id"] for c in owner.data("{ channels { id name } }")["channels"] if c["name"] == "Hidden")
    create_lead(owner, name="In the hidden channel", channelId=hidden)

    def visible(viewer: Any, alias: str) -> SqlCondition:
        condition = SqlCondition()
        condition.add(f"{alias}.name <> :hidden_channel", hidden_channel="Hidden")
        return condition

    channel = LEAD.relations["channel"]
    assert isinstance(channel, compiler.Relation)
    monkeypatch.setitem(
        LEAD.relations, "channel", compiler.Relation(channel.target, channel.table, channel.join, visible=visible)
    )
    compiler.COMPILED.entries.clear()
    assert (
        'LEFT JOIN LATERAL (SELECT t1."id", t1."name" FROM channels t1 WHERE t1.tenant_id = :tenant_id AND t1.id = e.channel_id'
        " AND t1.name <> :hidden_channel LIMIT 1) t1 ON true" in (_list_sql("edges { node { name channel { name } } }"))
    )
    query = "{ leads(first: 50) { edges { node { name channel { name } } } } }"
    joined, statements = _response_bytes(owner, query)
    assert statements == 1
    nodes = {edge["node"]["name"]: edge["node"]["channel"] for edge in orjson.loads(joined)["data"]["leads"]["edges"]}
    assert nodes["In the hidden channel"] is None and any(nodes.values())
    monkeypatch.setattr(compiler.Relation, "parent_key", lambda self: None)  # the correlated form
    compiler.COMPILED.entries.clear()
    correlated, _ = _response_bytes(owner, query)
    compiler.COMPILED.entries.clear()
    assert correlated == joined


def test_a_rows_date_time_is_written_once_by_the_page_when_more_than_the_cursors_read_it() -> None:
    """`createdAt`, the edge's cursor and the page info's cursors read one text of the page
    (`LIST`'s pages above are the resolvers' byte for byte with it); the cursors alone keep
    writing it where they read it, as a page of `first + 1` rows would write it as often."""
    sql = _list_sql("edges { cursor node { createdAt } } pageInfo { startCursor endCursor }")
    page, body = sql[: sql.index(") SELECT ")], sql[sql.index(") SELECT ") :]
    assert page.count("to_char(") == 1 and "AS page_iso_created_at" in page
    assert "to_char(" not in body and body.count("e.page_iso_created_at") == 4
    cursors_only = _list_sql("edges { cursor } pageInfo { endCursor }")
    assert "page_iso_" not in cursors_only and cursors_only.count("to_char(e.created_at") == 2


def test_an_object_of_scalar_parts_is_a_chain_and_one_holding_a_list_a_concat() -> None:
    """A node of values never NULL (each `COALESCE(…, 'null')`, a to-one relation's object or
    `null`) is written with `||`; the response around the page's aggregate keeps `concat`, which
    copies no growing text. `LIST`'s pages above are the resolvers' byte for byte."""
    sql = _list_sql("edges { cursor node { name createdAt channel { name } } } pageInfo { endCursor }")
    assert """('{"cursor":' || COALESCE(""" in sql and """('{"name":' || COALESCE(to_json(e.name)""" in sql
    assert """CASE WHEN t1.id IS NULL THEN 'null' ELSE ('{"name":' ||""" in sql
    assert sql.split(") SELECT ", 1)[1].startswith("""concat('{"edges":'""")


def test_a_part_that_may_be_null_keeps_the_object_a_concat() -> None:
    """`concat` writes a NULL part as nothing; a chain of `||` would be NULL whole."""
    may_be_null = "CASE WHEN t1.x THEN to_json(t1.y)::text END"
    chained = compiler._json_object([("a", "COALESCE(t1.a::text, 'null')"), ("b", "'\"b\"'")])
    assert chained.startswith("""('{"a":' || """)
    assert compiler._json_object([("a", "COALESCE(t1.a::text, 'null')"), ("b", may_be_null)]).startswith("concat(")
    # a COALESCE that is not the whole part, or parentheses closing before the end
    assert compiler._json_object([("a", "COALESCE(t1.a, 'x') || f(t1.b, 'null')")]).startswith("concat(")
    assert compiler._json_object([("a", "COALESCE(t1.a, 'null') || COALESCE(t1.b, 'null')")]).startswith("concat(")
