"""Mutations of per-tenant plugin enablement: enable, change settings, disable."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from saas.plugin_host import enablement
from saas.plugin_host.graphql.types import Plugin
from saas.schema.common import Payload, write_mutation
from saas.schema.context import RequestContext


@strawberry.input
class EnablePluginInput:
    name: str
    settings: JSON | None = strawberry.field(
        default=None, description="Validated by the plugin; omitted: keep the stored ones."
    )


@strawberry.input
class UpdatePluginSettingsInput:
    name: str
    settings: JSON


@strawberry.input
class DisablePluginInput:
    name: str


@strawberry.type
class PluginPayload(Payload):
    plugin: Plugin | None = None


@strawberry.type
class EnablePluginPayload(PluginPayload):
    pass


@strawberry.type
class UpdatePluginSettingsPayload(PluginPayload):
    pass


@strawberry.type
class DisablePluginPayload(PluginPayload):
    pass


async def _change(info: Info[RequestContext, None], payload: type, work: Any, *args: Any) -> Any:
    context = info.context

    def result(status: Any) -> dict[str, Any]:
        # The tenant's schema and permissions change: credentials cached in this process go now.
        context.runtime.credentials.forget_tenant(context.require_principal().tenant_id)
        return {"plugin": Plugin.from_status(status)}

    return await write_mutation(context, payload, result, work, context.runtime.plugins, *args)


@strawberry.type
class PluginMutations:
    @strawberry.mutation(description="Owners and admins; checks the plugin's requirements and settings.")
    async def enable_plugin(self, info: Info[RequestContext, None], input: EnablePluginInput) -> EnablePluginPayload:
        return await _change(info, EnablePluginPayload, enablement.enable_plugin, input.name, input.settings)

    @strawberry.mutation
    async def update_plugin_settings(
        self, info: Info[RequestContext, None], input: UpdatePluginSettingsInput
    ) -> UpdatePluginSettingsPayload:
        return await _change(
            info, UpdatePluginSettingsPayload, enablement.update_plugin_settings, input.name, input.settings
        )

    @strawberry.mutation(description="The plugin's data is kept; enabling it again brings it back.")
    async def disable_plugin(self, info: Info[RequestContext, None], input: DisablePluginInput) -> DisablePluginPayload:
        return await _change(info, DisablePluginPayload, enablement.disable_plugin, input.name)
