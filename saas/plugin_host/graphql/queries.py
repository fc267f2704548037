"""The installed plugins and their state for the caller's tenant."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from saas.plugin_host import enablement
from saas.plugin_host.graphql.types import Plugin
from saas.schema.context import RequestContext


@strawberry.type
class PluginQueries:
    @strawberry.field(description="Every installed plugin, broken ones with their problems.")
    async def plugins(self, info: Info[RequestContext, None]) -> list[Plugin]:
        context = info.context
        statuses = await context.read(enablement.list_plugins, context.require_principal(), context.runtime.plugins)
        return [Plugin.from_status(s) for s in statuses]
