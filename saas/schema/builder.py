"""Assembles the schema by composing contributions: the core domains' and the enabled plugins', alike.

Each core domain contributes its roots, types and `node(id)` reads through the same
`GraphQLContribution` a plugin returns (`saas/<domain>/graphql/contribution.py`); this module
holds no domain's loaders, node tables or tenant conditions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import strawberry
from graphql import print_schema
from strawberry.schema.config import StrawberryConfig
from strawberry.types import Info

from saas.accounts.graphql.contribution import contribution as accounts
from saas.automation.graphql.contribution import contribution as automation
from saas.campaigns.graphql.contribution import contribution as campaigns
from saas.custom_fields.graphql.contribution import contribution as custom_fields
from saas.customers.graphql.contribution import contribution as customers
from saas.deals.graphql.contribution import contribution as deals
from saas.exports.graphql.contribution import contribution as exports
from saas.followups.graphql.contribution import contribution as followups
from saas.imports.graphql.contribution import contribution as imports
from saas.jobs.graphql.contribution import contribution as jobs
from saas.knowledge.graphql.contribution import contribution as knowledge
from saas.leads.graphql.contribution import contribution as leads
from saas.notifications.graphql.contribution import contribution as notifications
from saas.plugin_host.contributions import GraphQLContribution
from saas.plugin_host.graphql.contribution import contribution as plugin_admin
from saas.plugin_host.host import LoadedPlugin, PluginHost
from saas.portal.graphql.contribution import contribution as portal
from saas.products.graphql.contribution import contribution as catalog
from saas.reports.graphql.contribution import contribution as reports
from saas.returns.graphql.contribution import contribution as returns
from saas.schema.common import Node
from saas.schema.composition import RootTypes, SchemaConflict, compose_schema
from saas.schema.context import RequestContext
from saas.schema.execution import PassthroughExecutor
from saas.schema.nodes import resolve_node
from saas.schema.scalars import SCALAR_MAP
from saas.sensitive.graphql.contribution import contribution as sensitive
from saas.teams.graphql.contribution import contribution as teams
from saas.tenant_data.graphql.contribution import contribution as tenant_data
from saas.tickets.graphql.contribution import contribution as tickets
from saas.webhooks.graphql.contribution import contribution as webhooks
from saas.workorders.graphql.contribution import contribution as workorders

# The core domains, in the order their fields appear in the schema.
CORE_CONTRIBUTIONS: tuple[GraphQLContribution, ...] = (
    customers,
    accounts,
    plugin_admin,
    jobs,
    catalog,
    webhooks,
    notifications,
    deals,
    custom_fields,
    leads,
    teams,
    reports,
    followups,
    knowledge,
    returns,
    workorders,
    portal,
    tickets,
    imports,
    automation,
    sensitive,
    tenant_data,
    exports,
    campaigns,
)


def _contributions(context: RequestContext) -> list[GraphQLContribution]:
    """The core's contributions, then those of the plugins the caller's tenant has enabled."""
    enabled = context.runtime.plugins.enabled(context.require_principal().plugins)
    return [*CORE_CONTRIBUTIONS, *(plugin.graphql for plugin in enabled)]


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global id; NOT_FOUND when missing or not visible.")
    async def node(self, info: Info[RequestContext, None], id: strawberry.ID) -> Node:
        return await resolve_node(info, id, _contributions(info.context))  # type: ignore[no-any-return]


def _root(name: str, classes: Sequence[type]) -> type:
    return strawberry.type(type(name, tuple(classes), {}))


Query = _root("Query", [*(q for c in CORE_CONTRIBUTIONS for q in c.queries), NodeQuery])
Mutation = _root("Mutation", [m for c in CORE_CONTRIBUTIONS for m in c.mutations])
Subscription = _root("Subscription", [s for c in CORE_CONTRIBUTIONS for s in c.subscriptions])

CORE_TYPES: tuple[type, ...] = tuple(t for c in CORE_CONTRIBUTIONS for t in c.types)
# Fields core domains add to other core domains' types (`GraphQLContribution.type_fields`, e.g.
# follow-ups' `Customer.timeline`), by type name; composed like plugins' `type_fields`.
CORE_TYPE_FIELDS: dict[str, tuple[type, ...]] = {
    name: tuple(k for c in CORE_CONTRIBUTIONS for k in c.type_fields.get(name, ()))
    for name in dict.fromkeys(name for c in CORE_CONTRIBUTIONS for name in c.type_fields)
}
# Their compiled-read SQL (`GraphQLContribution.sql_fields`), by type name, then field name.
CORE_SQL_FIELDS: dict[str, dict[str, Any]] = {
    name: {f: sql for c in CORE_CONTRIBUTIONS for f, sql in c.sql_fields.get(name, {}).items()}
    for name in dict.fromkeys(name for c in CORE_CONTRIBUTIONS for name in c.sql_fields)
}


def build_schema(plugins: Sequence[LoadedPlugin] = ()) -> strawberry.Schema:
    """The schema of the core and the given (enabled) plugins; conflicts fail naming both sides."""
    return compose_schema(
        roots=RootTypes(query=Query, mutation=Mutation, subscription=Subscription),
        core_types=CORE_TYPES,
        plugins=[(p.name, p.graphql) for p in plugins],
        core_type_fields=CORE_TYPE_FIELDS,
        core_sql_fields=CORE_SQL_FIELDS,
        execution_context_class=PassthroughExecutor,
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
    )


def checked_schema(host: PluginHost) -> strawberry.Schema:
    """The schema with every healthy plugin, as a server checks it at start: a plugin whose
    contribution conflicts with the core's or an earlier plugin's is marked broken and left out."""
    while True:
        try:
            return build_schema(host.healthy())
        except SchemaConflict as conflict:
            if not conflict.owners:
                raise
            host.mark_broken(conflict.owners[-1], str(conflict))


def schema_sdl(plugins: Sequence[LoadedPlugin] = ()) -> str:
    """The schema as SDL; with no plugins, exactly what is checked in to `schema.graphql`."""
    return print_schema(build_schema(plugins)._schema).rstrip("\n") + "\n"
