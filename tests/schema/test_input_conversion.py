"""`saas.schema.input_conversion` answers what strawberry's `convert_argument` answers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from graphql import GraphQLSchema
from strawberry.types.arguments import convert_argument
from strawberry.types.unset import UNSET

from saas.schema.fast_path import STRAWBERRY_DEFINITION
from saas.schema.input_conversion import InputObject, converter_of


def _arguments(schema: GraphQLSchema) -> list[tuple[str, Any]]:
    """(root field.argument, strawberry argument) of every root field of the schema."""
    found = []
    for root in (schema.query_type, schema.mutation_type):
        assert root is not None
        for name, field in root.fields.items():
            strawberry_field = (field.extensions or {}).get(STRAWBERRY_DEFINITION)
            if strawberry_field is None or strawberry_field.base_resolver is None:
                continue
            found.extend((f"{name}.{argument.python_name}", argument) for argument in strawberry_field.arguments)
    return found


def _both(schema: GraphQLSchema, type_: Any, value: Any) -> tuple[Any, Any]:
    converter = schema._strawberry_schema.schema_converter  # type: ignore[attr-defined]
    config, registry = converter.config, converter.scalar_registry
    ours = converter_of(type_, config, registry)(value, None, ("input",))
    theirs = convert_argument(value, type_, registry, config, None, path=("input",))
    return ours, theirs


def test_every_root_argument_converts_alike(graphql_engine: Any) -> None:
    schema: GraphQLSchema = graphql_engine.full_schema
    arguments = _arguments(schema)
    assert any(name == "createCustomer.input" for name, _ in arguments)
    inputs = 0
    for name, argument in arguments:
        for value in (None, UNSET):
            ours, theirs = _both(schema, argument.type, value)
            assert ours == theirs, name
        converter = schema._strawberry_schema.schema_converter  # type: ignore[attr-defined]
        convert = converter_of(argument.type, converter.config, converter.scalar_registry)
        if isinstance(convert, InputObject):
            inputs += 1
            # Every field left out, then every field given as null: the same input object.
            for value in ({}, {graphql_name: None for graphql_name, _, _ in convert.fields}):
                ours, theirs = _both(schema, argument.type, value)
                assert type(ours) is type(theirs) and ours == theirs, name
    assert inputs > 50


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("createCustomer", {"name": "A", "tags": ["x", "y"], "kind": None, "customFields": {"k": [1]}}),
        ("updateCustomer", {"id": "Q3VzdG9tZXI6MQ==", "version": 3, "tags": [], "notes": None}),
        (
            "createOrder",
            {"customerId": "x", "lines": [{"productId": "p", "quantity": 2, "unitPrice": Decimal("1.50")}]},
        ),
    ],
)
def test_values_convert_alike(graphql_engine: Any, field: str, value: dict[str, Any]) -> None:
    schema: GraphQLSchema = graphql_engine.full_schema
    (argument,) = (argument for name, argument in _arguments(schema) if name == f"{field}.input")
    ours, theirs = _both(schema, argument.type, value)
    assert type(ours) is type(theirs) and ours == theirs
    # Lists are copies, as strawberry copies them (graphql-core shares a default between requests).
    for key in ("tags",):
        if isinstance(value.get(key), list):
            assert getattr(ours, key) == value[key] and getattr(ours, key) is not value[key]
