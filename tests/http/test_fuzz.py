"""Schemathesis fuzzes every query and mutation over HTTP as a tenant owner: never a 5xx or an internal error.

The schema is introspected from the running application (in process, through ASGI) with the
owner's credential and every shipped plugin enabled, so plugin fields are fuzzed too. Generated
`ID`s are often ids of real objects of the tenant, so that mutations get past the lookup, and
generated text is often one of the inputs that broke the API before (NUL, huge exponents).
The run is bounded (about `REQUESTS` requests in all, shared between the operations by how
many input values each takes) and derandomized: the same examples every run, so CI is stable
and a failure reproduces.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import graphql
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes
from starlette.applications import Starlette

from saas.plugin_api.testing import GraphQLClient, enable_plugin

REQUESTS = 300
PLUGINS = ("manufacturing", "automotive", "loyalty")
NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
# Inputs that broke the API once, and their relatives.
AWKWARD_TEXT = [
    "\x00",
    "a\x00b",
    "owner@example.com\x00",
    "1e400",
    "-1e400",
    "NaN",
    "Infinity",
    "999999999999999999999999999999",
    "",
    " ",
    "\u202e\ufeff",
    "x" * 5_000,
    "' OR 1=1 --",
    "%_\\",
]


def _json_node(value: Any) -> graphql.ValueNode:
    """A JSON value written as a GraphQL literal (how the `JSON` scalar arrives in a document)."""
    if isinstance(value, dict):
        fields = [
            graphql.ObjectFieldNode(name=graphql.NameNode(value=key), value=_json_node(inner))
            for key, inner in value.items()
        ]
        return nodes.Object(fields)
    if isinstance(value, list):
        return nodes.List([_json_node(inner) for inner in value])
    if isinstance(value, bool):
        return nodes.Boolean(value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, float):
        return nodes.Float(value)
    if value is None:
        return graphql.NullValueNode()
    return nodes.String(value)


TEXT = st.one_of(st.text(max_size=30), st.sampled_from(AWKWARD_TEXT))
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NAME, inner, max_size=3),
    max_leaves=12,
)
DECIMALS = st.one_of(st.decimals(allow_nan=True, allow_infinity=True).map(str), TEXT)


def register_scalars(known_ids: list[str]) -> None:
    """Strategies for our custom scalars, and for `String` and `ID` to reach past the first checks."""
    schemathesis.graphql.scalar("JSON", JSON_VALUES.map(_json_node))
    schemathesis.graphql.scalar("Decimal", DECIMALS.map(nodes.String))
    schemathesis.graphql.scalar("String", TEXT.map(nodes.String))
    schemathesis.graphql.scalar("ID", st.one_of(st.sampled_from(known_ids), TEXT).map(nodes.String))


def problems_of(response: Any) -> list[str]:
    """What is wrong with one answer: a 5xx, or an error the server did not expect."""
    found = []
    if response.status_code >= 500:
        found.append(f"status {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        return [*found, "body is not JSON"]
    for error in body.get("errors") or []:
        if (error.get("extensions") or {}).get("code") == "INTERNAL_SERVER_ERROR":
            found.append(f"INTERNAL_SERVER_ERROR at {error.get('path')}")
    return found


def seed_objects(owner: GraphQLClient) -> list[str]:
    """A customer with a contact, a product and the plugins' first objects; their global ids."""
    customer = owner.data('mutation { createCustomer(input: {name: "Fuzz Ltd"}) { customer { id } } }')
    customer_id = customer["createCustomer"]["customer"]["id"]
    contact = owner.data(
        'mutation($c: ID!) { createContact(input: {customerId: $c, name: "Pat"}) { contact { id } } }',
        {"c": customer_id},
    )
    product = owner.data(
        'mutation { createProduct(input: {sku: "FZ-1", name: "Fuzz", unitPrice: "2.50"}) { product { id } } }'
    )
    me = owner.data("{ me { member { id } } warehouses { edges { node { id } } } }")
    supplier = owner.data(
        'mutation { createSupplier(input: {code: "FZ", name: "Fuzz Parts", jitWindowMinutes: 60}) { supplier { id } } }'
    )
    return [
        customer_id,
        contact["createContact"]["contact"]["id"],
        product["createProduct"]["product"]["id"],
        me["me"]["member"]["id"],
        *(edge["node"]["id"] for edge in me["warehouses"]["edges"]),
        supplier["createSupplier"]["supplier"]["id"],
    ]


@pytest.fixture
def fuzzed_owner(owner: GraphQLClient) -> GraphQLClient:
    """The owner of a tenant that enabled every shipped plugin."""
    for plugin in PLUGINS:
        enable_plugin(owner, plugin)
    return owner


def input_values(operation: Any) -> int:
    """How many input values (arguments and input fields, nested once) an operation takes."""
    field = operation.definition.raw  # the GraphQLField
    count = 0
    for argument in field.args.values():
        named = graphql.get_named_type(argument.type)
        count += len(named.fields) if isinstance(named, graphql.GraphQLInputObjectType) else 1
    return count


def examples_per_operation(operations: list[Any]) -> dict[str, int]:
    """`REQUESTS` shared by input values; every operation gets at least one example."""
    weights = {operation.label: 1 + input_values(operation) for operation in operations}
    total = sum(weights.values())
    return {label: max(1, REQUESTS * weight // total) for label, weight in weights.items()}


def fuzz(operation: Any, examples: int, send: Callable[[Any], Any], failures: list[str]) -> int:
    """Send `examples` generated cases of one operation; returns how many were sent."""
    sent = 0

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],  # no shrinking: every failing case is collected instead
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        nonlocal sent
        sent += 1
        response = send(case)
        for problem in problems_of(response):
            failures.append(f"{operation.label}: {problem}\n    {case.body[:1_000]!r}\n    {response.text[:500]}")

    run()
    return sent


def test_no_generated_request_gets_a_server_error(app: Starlette, fuzzed_owner: GraphQLClient) -> None:
    register_scalars(seed_objects(fuzzed_owner))
    headers = {"Authorization": f"Bearer {fuzzed_owner.token}"}
    schema = schemathesis.graphql.from_asgi("/graphql", app, headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    names = {operation.definition.field_name for operation in operations}
    assert {"createCustomer", "login", "recordStockMovement", "placeOrder"} <= names
    budget = examples_per_operation(operations)
    failures: list[str] = []
    sent = 0
    for operation in operations:
        sent += fuzz(operation, budget[operation.label], lambda case: case.call(headers=headers), failures)
    assert len(operations) <= sent <= REQUESTS + len(operations)
    assert not failures, f"{len(failures)} of {sent} requests failed:\n" + "\n".join(failures[:20])
