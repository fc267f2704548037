"""A relation whose visibility rule refuses the caller (`ForbiddenError`, e.g. a plugin's
`Customer.vehicles` without the plugin's read permission) leaves the selection to the resolvers,
which answer the refusal on the field: compiling it for that caller raises `NotCompilable`, and so
does reusing a statement compiled for a caller it did not refuse. Other errors of a rule still fail."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from graphql import OperationDefinitionNode, SelectionSetNode, parse

from saas.auth.permissions import require
from saas.auth.principal import Principal
from saas.db.conditions import SqlCondition
from saas.errors import BadUserInputError
from saas.schema import compiler
from saas.schema.compiler import Compiled, CompileState, Relation, SqlType

READ = "kids:read"


def _kids_visible(principal: Principal, alias: str) -> SqlCondition:
    require(principal.permissions, READ)
    condition = SqlCondition()
    condition.add(f"{alias}.is_primary = :only_primary", only_primary=True)
    return condition


def _bad_rule(principal: Principal, alias: str) -> SqlCondition:
    raise BadUserInputError("no")


KID = SqlType(name="Kid", table="contacts", columns={"name": "{t}.name"})
PARENT = SqlType(
    name="Parent",
    table="customers",
    columns={"name": "{t}.name"},
    relations={
        "kids": Relation(lambda: KID, "contacts", "{t}.customer_id = {p}.id", order="{t}.id", visible=_kids_visible),
        "broken": Relation(lambda: KID, "contacts", "{t}.customer_id = {p}.id", order="{t}.id", visible=_bad_rule),
    },
)


def _selection(text: str) -> SelectionSetNode:
    operation = parse(text).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    return operation.selection_set


def _state(permissions: frozenset[str]) -> CompileState:
    viewer = Principal(tenant_id=uuid.uuid4(), label="test", permissions=permissions)
    return CompileState(fragments={}, variables={}, viewer=viewer)


def _compile(state: CompileState, text: str = "{ name kids { name } }") -> str:
    return compiler.object_json(PARENT, "r", _selection(text), state)


def test_a_caller_the_rule_lets_in_gets_the_rows_it_names() -> None:
    state = _state(frozenset({READ}))
    sql = _compile(state)
    assert "is_primary = :only_primary" in sql and state.params == {"only_primary": True}


def test_a_refused_caller_goes_through_the_resolvers() -> None:
    with pytest.raises(compiler.NotCompilable):
        _compile(_state(frozenset()))
    assert _compile(_state(frozenset()), "{ name }")  # without the field, the rule is not asked


def test_a_statement_compiled_for_one_caller_is_not_reused_for_a_refused_one() -> None:
    allowed = _state(frozenset({READ}))
    compiled = Compiled(compiler.to_pyformat(_compile(allowed)), tuple(allowed.bound))
    assert compiled.params_for(_state(frozenset({READ}))) == {"only_primary": True}
    with pytest.raises(compiler.NotCompilable):
        compiled.params_for(_state(frozenset()))


def test_other_errors_of_a_rule_are_not_swallowed() -> None:
    state: Any = _state(frozenset({READ}))
    with pytest.raises(BadUserInputError):
        _compile(state, "{ broken { name } }")
