"""One connection kit: `Connection[T]`, `Edge[T]`, one `Page` and one keyset-page helper, for core and plugins.

No domain, core or plugin, declares an Edge, Connection or Page class of its own; a specialised
generic is named after its node's GraphQL name, so the schema reads as it did with hand-written pairs.
"""

from __future__ import annotations

import ast
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import strawberry

from saas.errors import BadUserInputError
from saas.plugin_api import (
    Connection,
    CountedConnection,
    Page,
    connection,
    encode_cursor,
    page_arguments,
)

ROOT = Path(__file__).resolve().parents[2]
DOMAIN_SOURCES = [ROOT / "saas", ROOT / "plugins", ROOT / "examples"]
KIT = {ROOT / "saas" / "schema" / "connections.py", ROOT / "saas" / "db" / "paging.py"}
GENERICS = {"Connection", "CountedConnection", "Edge"}


def _own_paging_classes(path: Path, root: Path = ROOT) -> list[str]:
    """Classes named …Edge, …Connection or …Page that are no specialisation of the kit's generics
    (as `path:line Name`, the path relative to `root`; tests/test_layout.py checks each domain with it)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ClassDef) or not node.name.endswith(("Edge", "Connection", "Page")):
            continue
        specialises = any(
            isinstance(base, ast.Subscript) and isinstance(base.value, ast.Name) and base.value.id in GENERICS
            for base in node.bases
        )
        is_exception = any(isinstance(base, ast.Name) and base.id == "Exception" for base in node.bases)
        if not specialises and not is_exception and not node.name.endswith("WSConnection"):
            found.append(f"{path.relative_to(root)}:{node.lineno} {node.name}")
    return found


def test_no_domain_declares_its_own_edge_connection_or_page() -> None:
    files = [p for source in DOMAIN_SOURCES for p in source.rglob("*.py") if p not in KIT and ".venv" not in p.parts]
    assert files
    assert [found for path in files for found in _own_paging_classes(path)] == []


@strawberry.type(name="MfgThing")
class Thing:
    name: str


@strawberry.type
class Query:
    @strawberry.field
    def counted(self, first: int = 2, after: str | None = None) -> CountedConnection[Thing]:
        limit, position = page_arguments(first, after, ("text",), maximum=3)
        rows = [name for name in ("a", "b", "c", "d") if position is None or name > position[0]]
        page = Page.of(rows[: limit + 1], limit, total_count=4)
        return connection(page, lambda n: Thing(name=n), lambda n: [n], has_previous_page=after is not None)


@strawberry.type
class Entry:
    name: str


@strawberry.type
class UncountedQuery:
    @strawberry.field
    def entries(self) -> Connection[Entry]:
        return connection(Page.of(["a"], 1), lambda n: Entry(name=n), lambda n: [n], has_previous_page=False)


SCHEMA = strawberry.Schema(query=Query)


def test_a_specialised_connection_is_named_after_its_node() -> None:
    sdl = SCHEMA.as_str()
    assert "type MfgThingConnection {\n  edges: [MfgThingEdge!]!\n  pageInfo: PageInfo!\n  totalCount: Int!\n}" in sdl
    assert "type MfgThingEdge {\n  node: MfgThing!\n  cursor: String!\n}" in sdl
    assert "counted(first: Int! = 2, after: String = null): MfgThingConnection!" in sdl
    uncounted = strawberry.Schema(query=UncountedQuery)
    assert "type EntryConnection {\n  edges: [EntryEdge!]!\n  pageInfo: PageInfo!\n}" in uncounted.as_str()
    result = uncounted.execute_sync("{ entries { edges { node { name } } pageInfo { hasNextPage } } }")
    assert result.data == {"entries": {"edges": [{"node": {"name": "a"}}], "pageInfo": {"hasNextPage": False}}}


def test_connection_pages_by_cursor_with_has_next_page() -> None:
    query = "query($after: String) { counted(after: $after) { edges { node { name } cursor } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount } }"
    first = SCHEMA.execute_sync(query)
    assert first.errors is None and first.data is not None
    page = first.data["counted"]
    assert [e["node"]["name"] for e in page["edges"]] == ["a", "b"]
    assert [e["cursor"] for e in page["edges"]] == [encode_cursor(["a"]), encode_cursor(["b"])]
    assert page["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "startCursor": encode_cursor(["a"]),
        "endCursor": encode_cursor(["b"]),
    }
    assert page["totalCount"] == 4
    second = SCHEMA.execute_sync(query, variable_values={"after": page["pageInfo"]["endCursor"]})
    assert second.data is not None
    rest = second.data["counted"]
    assert [e["node"]["name"] for e in rest["edges"]] == ["c", "d"]
    assert rest["pageInfo"]["hasNextPage"] is False and rest["pageInfo"]["hasPreviousPage"] is True


def test_page_arguments_check_first_and_the_cursor() -> None:
    assert page_arguments(None, None, ("text",), maximum=3) == (20, None)
    assert page_arguments(2, encode_cursor(["b"]), ("text",), maximum=3) == (2, ["b"])
    raw_id, at = uuid.uuid4(), datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    typed = page_arguments(1, encode_cursor([at, raw_id, 7]), ("timestamptz", "uuid", "bigint"), maximum=3)
    assert typed == (1, [at, raw_id, 7])
    for first, after in ((-1, None), (4, None), (1, "not a cursor"), (1, encode_cursor([1, 2]))):
        with pytest.raises(BadUserInputError):
            page_arguments(first, after, ("text",), maximum=3)


def test_page_of_fetched_rows() -> None:
    assert Page.of([1, 2, 3], 2) == Page(rows=[1, 2], has_next_page=True, total_count=None)
    assert Page.of([1, 2], 2, total_count=2) == Page(rows=[1, 2], has_next_page=False, total_count=2)
