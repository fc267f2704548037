"""Mutations run without graphql-core's executor (`saas.schema.fast_path`, `saas.schema.payload_writer`).

A mutation's root field is called directly, its input converted once per plan
(`saas.schema.input_conversion`), and a plain payload selection written without the executor.
A write cannot be run twice with the same answer (ids, versions and times change), so a success is
checked by completing the very outcome the fast path recorded through the executor
(`ReplayExecutor`) and comparing the bytes; errors, which write nothing, run through both paths.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

import saas.schema.engine
from saas.deals.models import OpportunityStatus, StageKind
from saas.schema.engine import GraphQLEngine, dumps
from saas.schema.fast_path import ReplayExecutor
from tests.conftest import GraphQLClient, add_member
from tests.schema.test_fast_path import _client, both, demo_owner, demo_rep, demo_tenant

__all__ = ["demo_owner", "demo_rep", "demo_tenant"]

ERRORS = "userErrors { field code message }"
CREATE = f"mutation($input: CreateCustomerInput!) {{ createCustomer(input: $input) {{ customer {{ id name kind lifecycleStage version createdAt tags customFields }} {ERRORS} }} }}"
UPDATE = f"mutation($input: UpdateCustomerInput!) {{ updateCustomer(input: $input) {{ customer {{ id name tier version }} {ERRORS} }} }}"
MOVE = f"mutation($input: MoveOpportunityInput!) {{ moveOpportunity(input: $input) {{ opportunity {{ id status version stage {{ id name }} }} {ERRORS} }} }}"
SHAPES = """mutation($input: CreateCustomerInput!) {
  made: createCustomer(input: $input) {
    __typename
    customer { ...Fields __typename ... on Node { id } theName: name }
    problems: userErrors { ... on UserError { code } field }
  }
}
fragment Fields on Customer { id kind tags }"""


class Written:
    """A mutation's response through the fast path and the same root outcomes completed by the executor."""

    def __init__(self, fast: bytes, replayed: bytes, statements: int, executed: int) -> None:
        self.fast, self.replayed, self.statements, self.executed = fast, replayed, statements, executed

    @property
    def payload(self) -> dict[str, Any]:
        return orjson.loads(self.fast)  # type: ignore[no-any-return]


def written(client: GraphQLClient, query: str, variables: dict[str, Any] | None) -> Written:
    """Runs `query` once on the fast path, then completes its recorded root outcomes through the
    executor: the two answers must be the same bytes."""
    engine: GraphQLEngine = client.engine
    executed = [0]
    recorded: list[dict[str, Any]] = []
    original_execute, original_run = saas.schema.engine.graphql_execute, saas.schema.engine.run_fast

    def counted(*args: Any, **kwargs: Any) -> Any:
        executed[0] += 1
        return original_execute(*args, **kwargs)

    async def recording(*args: Any, **kwargs: Any) -> Any:
        outcomes = await original_run(*args, **kwargs)
        recorded.append(outcomes)
        return outcomes

    async def run() -> Written:
        principal = await asyncio.to_thread(engine.runtime.authenticate, f"Bearer {client.token}")
        prepared = await engine.prepare_async(query, None, principal)
        assert prepared.fast is not None
        outcome = await engine.execute(prepared, variables, principal, "test-request")
        outcome.payload.pop("extensions")
        (outcomes,) = recorded
        context = engine.new_context(principal, "test-request")
        try:
            result = original_execute(
                prepared.schema,
                prepared.document,
                context_value=context,
                variable_values=variables,
                operation_name=prepared.operation_name,
                executor_class=ReplayExecutor,
                replayed=outcomes,
            )
            if asyncio.iscoroutine(result):
                result = await result
        finally:
            await context.release()
        replayed = engine._outcome(result, "test-request").payload  # type: ignore[arg-type]
        return Written(dumps(outcome.payload), dumps(replayed), outcome.statements, executed[0])

    saas.schema.engine.graphql_execute = counted  # type: ignore[assignment]
    saas.schema.engine.run_fast = recording  # type: ignore[assignment]
    try:
        return asyncio.run(run())
    finally:
        saas.schema.engine.graphql_execute = original_execute
        saas.schema.engine.run_fast = original_run


def _name() -> str:
    return f"Fast {secrets.token_hex(4)}"


def _statements(client: GraphQLClient, query: str, variables: dict[str, Any], fast: bool) -> tuple[int, Any]:
    engine: GraphQLEngine = client.engine

    async def run() -> tuple[int, Any]:
        principal = await asyncio.to_thread(engine.runtime.authenticate, f"Bearer {client.token}")
        prepared = await engine.prepare_async(query, None, principal)
        outcome = await engine.execute(prepared, variables, principal, "test-request")
        return outcome.statements, outcome.payload["data"]

    engine.fast_path = fast
    try:
        return asyncio.run(run())
    finally:
        engine.fast_path = True


def _customer(client: GraphQLClient) -> dict[str, Any]:
    data = client.data(CREATE, {"input": {"name": _name()}})
    return data["createCustomer"]["customer"]  # type: ignore[no-any-return]


# --- successes: written without the executor, the executor's bytes -------------------------------


def test_create_customer_is_written_as_the_executor_completes_it(demo_owner: GraphQLClient) -> None:
    for input_ in (
        {"name": _name()},
        {"name": _name(), "kind": "PERSON", "tags": ["a", "b"], "tier": "gold", "lifecycleStage": "CUSTOMER"},
        {"name": _name(), "customFields": {}, "notes": None, "allowDuplicate": True},
    ):
        run = written(demo_owner, CREATE, {"input": input_})
        assert run.fast == run.replayed
        assert run.executed == 0
        created = run.payload["data"]["createCustomer"]
        assert created["userErrors"] == [] and created["customer"]["name"] == input_["name"]
    slow_statements, slow = _statements(demo_owner, CREATE, {"input": {"name": _name()}}, fast=False)
    fast_statements, fast = _statements(demo_owner, CREATE, {"input": {"name": _name()}}, fast=True)
    assert slow_statements == fast_statements
    assert list(slow["createCustomer"]["customer"]) == list(fast["createCustomer"]["customer"])


def test_aliases_fragments_and_typename_in_the_payload(demo_owner: GraphQLClient) -> None:
    run = written(demo_owner, SHAPES, {"input": {"name": _name(), "tags": ["x"]}})
    assert run.fast == run.replayed and run.executed == 0
    made = run.payload["data"]["made"]
    assert made["__typename"] == "CreateCustomerPayload" and made["problems"] == []
    assert list(made["customer"]) == ["id", "kind", "tags", "__typename", "theName"]
    # A user error in the same shapes: the list of UserError objects written too.
    run = written(demo_owner, SHAPES, {"input": {"name": _name(), "ownerId": "garbage"}})
    assert run.fast == run.replayed and run.executed == 0
    assert run.payload["data"]["made"]["problems"] == [{"code": "NOT_FOUND", "field": ["input", "ownerId"]}]


def test_update_customer_and_two_root_mutations(demo_owner: GraphQLClient) -> None:
    customer = _customer(demo_owner)
    run = written(demo_owner, UPDATE, {"input": {"id": customer["id"], "version": customer["version"], "tier": "t"}})
    assert run.fast == run.replayed and run.executed == 0
    assert run.payload["data"]["updateCustomer"]["customer"]["version"] == customer["version"] + 1
    # Two root mutations: the executor's (it completes each before it runs the next, and runs none
    # after one whose error nulls `data`), in their order.
    two = """mutation($a: CreateCustomerInput!, $b: CreateCustomerInput!) {
      b: createCustomer(input: $b) { customer { name createdAt } }
      a: createCustomer(input: $a) { customer { name createdAt } } }"""
    engine: GraphQLEngine = demo_owner.engine
    principal = engine.runtime.authenticate(f"Bearer {demo_owner.token}")
    assert engine.prepare(two, None, principal).fast is None
    data = demo_owner.data(two, {"a": {"name": _name()}, "b": {"name": _name()}})
    assert list(data) == ["b", "a"] and data["b"]["customer"]["createdAt"] <= data["a"]["customer"]["createdAt"]
    # The first one fails (a stale version): the second is not run.
    stale = """mutation($u: UpdateCustomerInput!, $c: CreateCustomerInput!) {
      u: updateCustomer(input: $u) { customer { id } }
      c: createCustomer(input: $c) { customer { id } } }"""
    name = _name()
    stale_input = {"id": customer["id"], "version": customer["version"], "tier": "late"}
    assert demo_owner.error_codes(stale, {"u": stale_input, "c": {"name": name}}) == ["CONFLICT"]
    found = demo_owner.data(
        "query($s: String) { customers(first: 5, filter: {search: $s}) { totalCount } }", {"s": name}
    )
    assert found["customers"]["totalCount"] == 0


def _open_move(client: GraphQLClient) -> tuple[dict[str, Any], str, str]:
    """An opportunity in one of the tenant's first two open stages, the other stage, and its own."""
    ids = client.data(
        "{ opportunities(first: 50) { edges { node { id status version stage { id } } } } pipelineStages { id kind } }"
    )
    stages = [stage["id"] for stage in ids["pipelineStages"] if stage["kind"] == "OPEN"][:2]
    opportunity = next(edge["node"] for edge in ids["opportunities"]["edges"] if edge["node"]["stage"]["id"] in stages)
    target = stages[1] if opportunity["stage"]["id"] == stages[0] else stages[0]
    return opportunity, target, opportunity["stage"]["id"]


def test_move_opportunity_writes_the_stage_it_read(demo_owner: GraphQLClient) -> None:
    """moveOpportunity's `stage` is held by the opportunity (the stage the move read): the payload
    is written without the executor, the same bytes as the executor completes, the move run once
    (the same statements as the executor's path)."""
    opportunity, target, source = _open_move(demo_owner)
    run = written(demo_owner, MOVE, {"input": {"id": opportunity["id"], "stageId": target}})
    assert run.fast == run.replayed and run.executed == 0
    moved = run.payload["data"]["moveOpportunity"]["opportunity"]
    assert moved["stage"]["id"] == target and moved["version"] == opportunity["version"] + 1
    # Every field of the stage, aliases and __typename.
    full = (
        "mutation($input: MoveOpportunityInput!) { moveOpportunity(input: $input) { __typename opportunity {"
        " ...on Opportunity { s: stage { __typename id name probability kind position version createdAt updatedAt } }"
        " stage { id } status } userErrors { code } } }"
    )
    run = written(demo_owner, full, {"input": {"id": opportunity["id"], "stageId": source}})
    assert run.fast == run.replayed and run.executed == 0
    assert run.payload["data"]["moveOpportunity"]["opportunity"]["s"]["id"] == source
    # A field the opportunity does not hold (`weightedAmount` loads the stage): the executor.
    weighted = MOVE.replace("stage { id name }", "stage { id name } weightedAmount")
    run = written(demo_owner, weighted, {"input": {"id": opportunity["id"], "stageId": target}})
    assert run.fast == run.replayed and run.executed == 1
    back = {"input": {"id": opportunity["id"], "stageId": source}}
    slow_statements, _ = _statements(demo_owner, MOVE, back, fast=False)
    fast_statements, _ = _statements(demo_owner, MOVE, {"input": {"id": opportunity["id"], "stageId": target}}, True)
    assert slow_statements == fast_statements


def test_an_opportunity_without_a_held_stage_goes_to_the_executor(demo_owner: GraphQLClient) -> None:
    """The writer reads `stage` only from what the opportunity holds; nothing held (or a resolver
    replaced after the plan) stops the writing: the executor runs the resolver."""
    from saas.deals.graphql.types import Opportunity, PipelineStage
    from saas.schema.payload_writer import NotPlain

    engine: GraphQLEngine = demo_owner.engine
    principal = engine.runtime.authenticate(f"Bearer {demo_owner.token}")
    prepared = engine.prepare(MOVE, None, principal)
    assert prepared.fast is not None
    writer = prepared.fast.fields[0].writer
    assert writer is not None
    stage = PipelineStage(
        id="UGlwZWxpbmVTdGFnZTox", name="Won", probability=Decimal("100.00"), kind=StageKind.WON, position=1,
        version=1, created_at=datetime(2026, 1, 1, tzinfo=UTC), updated_at=datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    opportunity = Opportunity(
        id="T3Bwb3J0dW5pdHk6MQ==", name="x", amount=Decimal("1.00"), currency="EUR", expected_close_on=None,
        status=OpportunityStatus.WON, closed_at=None, custom_fields={}, version=2,
        created_at=datetime(2026, 1, 1, tzinfo=UTC), updated_at=datetime(2026, 1, 1, tzinfo=UTC),
        raw_id=uuid.uuid4(), customer_id=uuid.uuid4(), owner_id=None, stage_id=uuid.uuid4(),
    )  # fmt: skip
    from saas.deals.graphql.mutations import MoveOpportunityPayload

    made = MoveOpportunityPayload(opportunity=opportunity, user_errors=[])
    with pytest.raises(NotPlain):
        writer.write(made)
    opportunity.held_stage = stage
    assert writer.write(made)["opportunity"]["stage"] == {"id": "UGlwZWxpbmVTdGFnZTox", "name": "Won"}
    field = prepared.schema.get_type("Opportunity").fields["stage"]  # type: ignore[union-attr]
    original = field.resolve
    field.resolve = lambda source, info, **kwargs: stage
    try:
        with pytest.raises(NotPlain):
            writer.write(made)
    finally:
        field.resolve = original


def test_move_opportunity_errors_on_both_paths(
    demo_owner: GraphQLClient, other_owner: GraphQLClient, owner: GraphQLClient, tenant: Any
) -> None:
    """A stale version (CONFLICT), another tenant's id (NOT_FOUND), a member without deals:write
    (FORBIDDEN), a LOST stage without a reason (a user error): the same bytes and statements on both
    paths, and the opportunity unchanged."""
    opportunity, target, _ = _open_move(demo_owner)
    stale = {"input": {"id": opportunity["id"], "stageId": target, "version": opportunity["version"] - 1}}
    run = both(demo_owner, MOVE, stale)
    assert run.executed == 1 and [e["extensions"]["code"] for e in run.payload["errors"]] == ["CONFLICT"]
    run = both(other_owner, MOVE, {"input": {"id": opportunity["id"], "stageId": target}})
    assert run.payload["data"]["moveOpportunity"] == {
        "opportunity": None,
        "userErrors": [{"field": ["input", "id"], "code": "NOT_FOUND", "message": "No such opportunity"}],
    }
    viewer = add_member(owner, tenant, "viewer")
    run = both(viewer, MOVE, {"input": {"id": opportunity["id"], "stageId": target}})
    assert [e["extensions"]["code"] for e in run.payload["errors"]] == ["FORBIDDEN"]
    lost = next(
        s["id"] for s in demo_owner.data("{ pipelineStages { id kind } }")["pipelineStages"] if s["kind"] == "LOST"
    )
    run = both(demo_owner, MOVE, {"input": {"id": opportunity["id"], "stageId": lost}})
    assert run.payload["data"]["moveOpportunity"] == {
        "opportunity": None,
        "userErrors": [
            {"field": ["input", "reason"], "code": "REASON_REQUIRED", "message": "Say why the opportunity was lost"}
        ],
    }
    after = demo_owner.data(
        "query($id: ID!) { node(id: $id) { ... on Opportunity { version stage { id } } } }", {"id": opportunity["id"]}
    )
    assert after["node"] == {"version": opportunity["version"], "stage": opportunity["stage"]}


def test_a_directive_in_the_payload_is_completed_by_the_executor(demo_owner: GraphQLClient) -> None:
    # A directive in the payload's selection: not written directly, the same answer.
    skip = "mutation($input: CreateCustomerInput!, $x: Boolean!) { createCustomer(input: $input) { customer @skip(if: $x) { id } userErrors { code } } }"
    run = written(demo_owner, skip, {"input": {"name": _name()}, "x": True})
    assert run.fast == run.replayed and run.executed == 1
    assert run.payload["data"]["createCustomer"] == {"userErrors": []}


# --- errors: both paths, the same bytes and statements, nothing written ---------------------------


def test_bad_user_input_is_a_user_error_or_a_request_error(demo_owner: GraphQLClient) -> None:
    for variables in (
        {"input": {"name": _name(), "ownerId": "garbage"}},  # userErrors, nothing written
        {"input": {"name": ""}},
        {"input": {"name": _name(), "kind": "NOPE"}},  # variables that do not coerce
        {"input": {}},
        {},
    ):
        run = both(demo_owner, CREATE, variables)
        payload = run.payload
        if "errors" in payload:
            assert payload["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT" and "data" not in payload
        else:
            assert payload["data"]["createCustomer"]["customer"] is None
            assert payload["data"]["createCustomer"]["userErrors"]
            assert run.executed == 0


def test_a_stale_version_conflicts(demo_owner: GraphQLClient) -> None:
    customer = _customer(demo_owner)
    demo_owner.data(UPDATE, {"input": {"id": customer["id"], "version": customer["version"], "tier": "a"}})
    run = both(demo_owner, UPDATE, {"input": {"id": customer["id"], "version": customer["version"], "tier": "b"}})
    assert run.executed == 1 and run.payload["data"] is None
    assert [e["extensions"]["code"] for e in run.payload["errors"]] == ["CONFLICT"]
    assert run.payload["errors"][0]["path"] == ["updateCustomer"]


def test_a_missing_permission(demo_tenant: Any, graphql_engine: Any) -> None:
    rep = _client(demo_tenant, graphql_engine, "sales")
    stage = (
        'mutation { createPipelineStage(input: {name: "Mine", probability: "5", kind: OPEN}) { pipelineStage { id } } }'
    )
    run = both(rep, stage)
    assert run.executed == 1 and [e["extensions"]["code"] for e in run.payload["errors"]] == ["FORBIDDEN"]


def test_another_tenants_ids_find_nothing(demo_owner: GraphQLClient, other_owner: GraphQLClient) -> None:
    customer = _customer(demo_owner)
    run = both(other_owner, UPDATE, {"input": {"id": customer["id"], "version": customer["version"], "tier": "x"}})
    assert run.executed == 1 and [e["extensions"]["code"] for e in run.payload["errors"]] == ["NOT_FOUND"]
    # Unchanged for its tenant.
    again = demo_owner.data(UPDATE, {"input": {"id": customer["id"], "version": customer["version"], "tier": "y"}})
    assert again["updateCustomer"]["customer"]["version"] == customer["version"] + 1


def test_a_resolver_replaced_after_the_plan_is_called(demo_owner: GraphQLClient) -> None:
    """A payload field's resolver replaced after the schema was built: the executor calls it."""
    engine: GraphQLEngine = demo_owner.engine
    principal = engine.runtime.authenticate(f"Bearer {demo_owner.token}")
    prepared = engine.prepare(CREATE, None, principal)
    assert prepared.fast is not None and prepared.fast.fields[0].writer is not None
    customer_type = prepared.schema.get_type("Customer")
    name = customer_type.fields["name"]  # type: ignore[union-attr]
    original = name.resolve
    name.resolve = lambda source, info, **kwargs: "replaced"
    try:
        run = written(demo_owner, CREATE, {"input": {"name": _name()}})
    finally:
        name.resolve = original
        engine._prepared.items.clear()
    assert run.fast == run.replayed and run.executed == 1
    assert run.payload["data"]["createCustomer"]["customer"]["name"] == "replaced"


def test_the_plan_of_a_mutation(demo_owner: GraphQLClient) -> None:
    engine: GraphQLEngine = demo_owner.engine
    principal = engine.runtime.authenticate(f"Bearer {demo_owner.token}")
    for query, writes in ((CREATE, True), (UPDATE, True), (SHAPES, True), (MOVE, True)):
        prepared = engine.prepare(query, None, principal)
        assert prepared.fast is not None
        (root,) = prepared.fast.fields
        assert root.direct is not None and (root.writer is not None) is writes, query
    # Subscriptions and root __typename stay with the executor.
    assert engine.prepare("mutation { __typename }", None, principal).fast is None
