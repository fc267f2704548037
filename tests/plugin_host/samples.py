"""Test-only plugins assembled from hook functions: the host's checks need no installed packages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry

from saas.plugin_api import PLUGIN_API_VERSION, GraphQLContribution, PluginMeta, hookimpl


class SamplePlugin:
    """A plugin object named `name`; each keyword is a hook implementation (a plain function)."""

    def __init__(
        self,
        name: str,
        *,
        api_version: str = PLUGIN_API_VERSION,
        requires: tuple[str, ...] = (),
        **hooks: Callable[..., Any],
    ) -> None:
        self.name = name
        meta = PluginMeta(
            name=name, version="0.0.1", title=f"Sample {name}", api_version=api_version, requires=requires
        )
        self.saas_plugin_meta = hookimpl(lambda: meta)
        for hook, function in hooks.items():
            setattr(self, hook, hookimpl(function))


def query_field(field: str, value: str = "ok") -> type:
    """A class with one root field `field: String!` returning `value`."""

    def resolve() -> str:
        return value

    return strawberry.type(type(f"Query_{field}", (), {field: strawberry.field(resolver=resolve)}))


def customer_field(field: str, value: int = 1) -> type:
    """A class with one field `field: Int!` for the core `Customer` type."""

    def resolve() -> int:
        return value

    return strawberry.type(type(f"Customer_{field}", (), {field: strawberry.field(resolver=resolve)}))


def named_type(name: str, field: str = "label") -> type:
    """An object type called `name` with one `String!` field."""
    return strawberry.type(type(name, (), {"__annotations__": {field: str}}))


def graphql_plugin(name: str, **contribution: Any) -> SamplePlugin:
    """A plugin whose only contribution is GraphQL."""
    graphql = GraphQLContribution(**contribution)
    return SamplePlugin(name, saas_graphql=lambda: graphql)


# A plugin an entry point can name (`tests.plugin_host.samples:IMPORTABLE`).
IMPORTABLE = graphql_plugin("importable", queries=(query_field("importableHello"),))
