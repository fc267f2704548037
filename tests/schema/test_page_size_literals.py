"""Page sizes written into the compiled statements (`compiler.size_literal`): one statement per
size, the same pages as the resolver path, the same errors for a size out of range."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from saas.customers.graphql.sql import CUSTOMER
from saas.schema import compiler
from tests.conftest import GraphQLClient
from tests.followups.helpers import create_customer, log_activity

PAGE = """query($first: Int, $after: String) { customers(first: $first, after: $after) {
  edges { cursor node { name contacts { name } } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  totalCount } }"""
TIMELINE = """query($id: ID!, $first: Int) { customer(id: $id) { name timeline(first: $first) {
  edges { cursor node { summary } } pageInfo { hasNextPage endCursor } } } }"""


@contextmanager
def _resolvers() -> Iterator[None]:
    """The customer's `name` without SQL: the same selection goes through the resolvers."""
    compiler.COMPILED.entries.clear()
    saved = CUSTOMER.columns.pop("name")
    try:
        yield
    finally:
        CUSTOMER.columns["name"] = saved
        compiler.COMPILED.entries.clear()


def _statements() -> list[str]:
    return [entry.sql for entries in compiler.COMPILED.entries.values() for entry in entries]


def test_each_page_size_is_its_own_statement_with_the_resolvers_pages(owner: GraphQLClient) -> None:
    for n in range(3):
        owner.data("mutation($n: String!) { createCustomer(input: {name: $n}) { customer { id } } }", {"n": f"Sz {n}"})
    sizes = (0, 1, 2, 3, 50, 100)
    compiler.COMPILED.entries.clear()
    compiled: dict[int, Any] = {}
    for first in sizes:
        compiled[first] = owner.data(PAGE, {"first": first})
        assert owner.last_statements == 1
    statements = _statements()
    assert len(statements) == len(sizes)
    for first in sizes:  # the page's size, and the extra row that answers hasNextPage, as literals
        (sql,) = [s for s in statements if f" LIMIT {first + 1})" in s]
        assert f"page_row <= {first}" in sql and "%(first)s" not in sql and "%(limit)s" not in sql
    cursor = compiled[1]["customers"]["edges"][0]["cursor"]
    following = owner.data(PAGE, {"first": 1, "after": cursor})
    with _resolvers():
        for first in sizes:
            assert owner.data(PAGE, {"first": first}) == compiled[first], first
            assert owner.last_statements > 1
        assert owner.data(PAGE, {"first": 1, "after": cursor}) == following
    assert [len(compiled[first]["customers"]["edges"]) for first in sizes] == [0, 1, 2, 3, 3, 3]
    assert [compiled[first]["customers"]["pageInfo"]["hasNextPage"] for first in sizes] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    assert following["customers"]["edges"][0]["node"]["name"] == "Sz 1"


@pytest.mark.parametrize("first", [101, -1])
def test_a_size_out_of_range_is_refused_as_before(owner: GraphQLClient, first: int) -> None:
    customer = create_customer(owner, "Range Ltd")
    assert owner.error_codes(PAGE, {"first": first}) == ["BAD_USER_INPUT"]
    assert owner.error_codes(TIMELINE, {"id": customer, "first": first}) == ["BAD_USER_INPUT"]
    owner.data(TIMELINE, {"id": customer, "first": 2})  # a compiled statement in the cache...
    assert owner.error_codes(TIMELINE, {"id": customer, "first": first}) == ["BAD_USER_INPUT"]  # ...refused alike


def test_nested_page_sizes_alternate_on_their_own_cached_statements(owner: GraphQLClient) -> None:
    customer = create_customer(owner, "Nested Ltd")
    for n in range(3):
        log_activity(owner, customer, f"Call {n}", occurredAt=f"2026-02-0{n + 1}T09:00:00+00:00")
    compiler.COMPILED.entries.clear()
    answers = {}
    for first in (1, 2, 1, 2, 0, 1):
        answer = owner.data(TIMELINE, {"id": customer, "first": first})
        assert answers.setdefault(first, answer) == answer
        assert owner.last_statements == 1
    (variants,) = [entries for entries in compiler.COMPILED.entries.values() if "page_cursor" in entries[0].sql]
    assert len(variants) == 3  # one statement per size, each reused
    assert [len(answers[first]["customer"]["timeline"]["edges"]) for first in (0, 1, 2)] == [0, 1, 2]
    assert answers[2]["customer"]["timeline"]["edges"][0]["node"]["summary"].endswith("Call 2")
    with _resolvers():
        for first in (0, 1, 2):
            assert owner.data(TIMELINE, {"id": customer, "first": first}) == answers[first]
            assert owner.last_statements > 1
