"""No string input may hold NUL: refused before execution, naming the argument, for core and plugin fields."""

from __future__ import annotations

from typing import Any

import pytest

from saas.db.statements import counting
from saas.plugin_api.testing import enable_plugin
from tests.conftest import LOGIN
from tests.schema.helpers import CREATE_CUSTOMER, CUSTOMERS, ME, codes

NUL = "\x00"


def refused(client: Any, query: str, variables: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The errors of a request refused before anything ran (no data, no SQL statement)."""
    if client.token:
        client.data(ME)  # the credential is cached now: authentication runs no statement either
    with counting() as statements:
        result = client.execute(query, variables)
    assert "data" not in result, result
    assert statements[0] == 0, "a statement ran"
    assert codes(result) == ["BAD_USER_INPUT"] * len(result["errors"]), result
    return result["errors"]


def fields(errors: list[dict[str, Any]]) -> list[list[Any]]:
    return [error["extensions"]["field"] for error in errors]


@pytest.mark.parametrize(
    "query",
    [
        '{ customers(filter: {search: "a\\u0000b"}) { totalCount } }',
        '{ customers(filter: {tag: "a\\u0000"}) { totalCount } }',
        '{ products(filter: {search: "\\u0000"}) { totalCount } }',
        '{ ...F } fragment F on Query { customers(filter: {search: "a\\u0000"}) { totalCount } }',
    ],
)
def test_nul_in_a_literal_argument_is_refused(owner: Any, query: str) -> None:
    [error] = refused(owner, query)
    assert error["extensions"]["field"] == ["filter", "tag" if "tag:" in query else "search"]
    assert "NUL" in error["message"] and error["locations"]


def test_nul_in_a_variable_is_refused_naming_the_argument(owner: Any) -> None:
    errors = refused(owner, CUSTOMERS, {"filter": {"search": f"Ac{NUL}me"}})
    assert fields(errors) == [["filter", "search"]]


def test_nul_in_login_is_refused_before_any_lookup(anonymous: Any) -> None:
    for field in ("email", "tenant", "password"):
        variables = {"input": {"email": "a@b.example", "password": "long enough", "tenant": "t"}}
        variables["input"][field] = f"x{NUL}y"
        assert fields(refused(anonymous, LOGIN, variables)) == [["input", field]]


def test_nul_in_a_mutation_input_writes_nothing(owner: Any, counts: Any) -> None:
    before = counts()
    errors = refused(owner, CREATE_CUSTOMER, {"input": {"name": f"Ac{NUL}me", "tags": ["ok", f"b{NUL}"]}})
    assert sorted(fields(errors), key=len) == [["input", "name"], ["input", "tags", 1]]
    assert counts() == before


def test_nul_anywhere_in_json_is_refused_keys_too(owner: Any, counts: Any) -> None:
    before = counts()
    deep: Any = f"a{NUL}"
    for _ in range(2_000):  # deeper than any recursion limit
        deep = {"k": deep}
    errors = refused(owner, CREATE_CUSTOMER, {"input": {"name": "x", "customFields": deep}})
    assert fields(errors)[0][:3] == ["input", "customFields", "k"]
    errors = refused(owner, CREATE_CUSTOMER, {"input": {"name": "x", "customFields": {f"k{NUL}": 1}}})
    assert fields(errors) == [["input", "customFields"]]
    assert counts() == before


def test_a_default_value_with_nul_is_refused(owner: Any) -> None:
    query = 'query($s: String = "a\\u0000") { customers(filter: {search: $s}) { totalCount } }'
    assert fields(refused(owner, query)) == [["filter", "search"]]


def test_plugin_arguments_are_covered_without_the_plugin_doing_anything(owner: Any) -> None:
    enable_plugin(owner, "manufacturing")
    before = owner.data("{ warehouses { totalCount } }")
    mutation = """mutation($input: MfgCreateWarehouseInput!) {
      createWarehouse(input: $input) { warehouse { id } userErrors { field code } }
    }"""
    errors = refused(owner, mutation, {"input": {"code": "MAIN", "name": f"Main{NUL}"}})
    assert fields(errors) == [["input", "name"]]
    assert owner.data("{ warehouses { totalCount } }") == before


def test_text_without_nul_still_works(owner: Any) -> None:
    result = owner.data(CUSTOMERS, {"filter": {"search": "tab\tand\nline"}})
    assert result["customers"]["totalCount"] == 0


@pytest.mark.parametrize(
    ("query", "variables", "maybe"),
    [
        ('{ customers(filter: {search: "plain"}) { totalCount } }', {"first": 5, "a": ["b", {"c": "d"}]}, False),
        ('{ customers(filter: {search: "\\u0000"}) { totalCount } }', None, True),
        ('{ customers(filter: {search: "caf\\u00e9"}) { totalCount } }', None, True),  # any escape: walked
        ("query($s: String) { customers(filter: {search: $s}) { totalCount } }", {"s": "a\x00b"}, True),
        ("query($s: JSON) { customers { totalCount } }", {"s": {"key\x00": 1}}, True),
        ("query($s: JSON) { customers { totalCount } }", {"s": [[["deep\x00"]]]}, True),
    ],
)
def test_the_quick_test_only_says_no_where_no_value_can_hold_a_nul(
    query: str, variables: dict[str, object] | None, maybe: bool
) -> None:
    from graphql import parse

    from saas.schema.input_text import _may_hold_nul

    assert _may_hold_nul(parse(query), variables) is maybe
