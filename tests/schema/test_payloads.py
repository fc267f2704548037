"""One way to declare a mutation payload (`Payload`) and one way to run a mutation (`run_mutation`).

The source checks read every module of the core, the plugins and the examples (tests left out), so a
new domain that catches `InputInvalid` in a resolver or fills `userErrors` by hand fails here.
"""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import pytest
import strawberry

from saas.errors import FieldError, InputInvalid, UserErrorCode
from saas.plugin_api import Payload, UserError, referenced_id, run_mutation

ROOT = Path(__file__).resolve().parents[2]
RUN_MUTATION = Path("saas/schema/common.py")
# Not resolvers: the CLI prints input failures, login turns a bad password into one generic failure.
# Services that place another domain's input errors under their own field (not resolvers).
# Not resolvers: the export job makes a filter that no longer holds a FAILED job, and the campaigns'
# inbound HTTP endpoint answers input errors as a 422 with `userErrors` of its own.
# A data import turns a service's InputInvalid into the row's errors: rows, not resolvers.
NOT_RESOLVERS = {
    Path("saas/cli.py"),
    Path("saas/accounts/login.py"),
    Path("saas/leads/service.py"),
    Path("saas/exports/service.py"),
    Path("saas/http/campaigns.py"),
    Path("saas/imports/cleaning.py"),
    Path("saas/imports/applying.py"),
}


def _modules() -> list[tuple[Path, ast.Module]]:
    found = []
    for top in ("saas", "plugins", "examples"):
        for path in sorted((ROOT / top).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "tests" in relative.parts or ".venv" in relative.parts:
                continue
            found.append((relative, ast.parse(path.read_text(), filename=str(relative))))
    return found


def _names(node: ast.expr | None) -> set[str]:
    if node is None:
        return set()
    return {
        n.id if isinstance(n, ast.Name) else n.attr for n in ast.walk(node) if isinstance(n, ast.Name | ast.Attribute)
    }


def test_no_resolver_catches_input_invalid_itself() -> None:
    catching = [
        f"{path}:{handler.lineno}"
        for path, tree in _modules()
        if path != RUN_MUTATION and path not in NOT_RESOLVERS
        for handler in ast.walk(tree)
        if isinstance(handler, ast.ExceptHandler) and "InputInvalid" in _names(handler.type)
    ]
    assert catching == []


def test_only_run_mutation_fills_user_errors() -> None:
    by_hand = [
        f"{path}:{call.lineno}"
        for path, tree in _modules()
        if path != RUN_MUTATION
        for call in ast.walk(tree)
        if isinstance(call, ast.Call) and any(keyword.arg == "user_errors" for keyword in call.keywords)
    ]
    assert by_hand == []


def test_every_payload_type_extends_payload() -> None:
    classes = {
        node.name: (path, node)
        for path, tree in _modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef) and node.name.endswith("Payload") and node.name != "Payload"
    }
    assert len(classes) > 30
    outside = [
        f"{path}:{node.lineno} {name}"
        for name, (path, node) in classes.items()
        if not any(base.endswith("Payload") for base in _names_of(node.bases))
    ]
    assert outside == []


def _names_of(bases: list[ast.expr]) -> set[str]:
    return set().union(*(_names(base) for base in bases)) if bases else set()


@strawberry.type
class _Thing:
    name: str


@strawberry.type
class _ThingPayload(Payload):
    thing: _Thing | None = None
    note: str | None = None


@strawberry.type
class _RenameThingPayload(_ThingPayload):
    pass


@strawberry.type
class _Query:
    thing: _ThingPayload | None = None
    rename: _RenameThingPayload | None = None


def _field_names(payload: type) -> list[str]:
    name = payload.__strawberry_definition__.name  # type: ignore[attr-defined]
    return list(strawberry.Schema(query=_Query)._schema.get_type(name).fields)  # type: ignore[union-attr]


def test_user_errors_come_last_and_once() -> None:
    assert _field_names(_ThingPayload) == ["thing", "note", "userErrors"]
    assert _field_names(_RenameThingPayload) == ["thing", "note", "userErrors"]


def test_run_mutation_wraps_results_and_input_failures() -> None:
    async def works() -> dict[str, object]:
        return {"thing": _Thing(name="a")}

    async def fails() -> dict[str, object]:
        raise InputInvalid([FieldError(["input", "thing_id"], UserErrorCode.INVALID, "bad")])

    done = asyncio.run(run_mutation(works, _RenameThingPayload))
    assert (done.thing, done.user_errors) == (_Thing(name="a"), [])
    failed = asyncio.run(run_mutation(fails, _RenameThingPayload))
    assert failed.thing is None
    assert failed.user_errors == [UserError(field=["input", "thingId"], code="INVALID", message="bad")]


def test_referenced_id_turns_a_bad_id_into_a_field_error() -> None:
    assert referenced_id(None, "Customer", "customerId") is None
    with pytest.raises(InputInvalid) as raised:
        referenced_id("not-an-id", "Customer", "lines", 0, "customerId")
    [error] = raised.value.errors
    assert (error.field, error.code) == (["input", "lines", "0", "customerId"], UserErrorCode.NOT_FOUND)
