"""The hooks a plugin may implement: the contract partners depend on.

Every hook is optional except `saas_plugin_meta`. Each is called once per plugin when the
process starts (the host records who contributed what), except `saas_handle_event`,
`saas_on_enable`, `saas_demo`, `saas_check_scoped_token` and `saas_tenant_deleted`, which are called per tenant, only for the
plugins that tenant enabled; `saas_permissions` is called at start and again per tenant, for
the enabled plugins, whenever a member's permissions are worked out. The host calls every hook
through pluggy (`saas.plugin_host.host`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from saas.auth.principal import Principal
    from saas.plugin_host.contributions import (
        AutomationAction,
        AutomationCondition,
        DemoContext,
        DomainEvent,
        GraphQLContribution,
        PeriodicJob,
        PermissionSpec,
        PluginContext,
        PluginMeta,
    )

PROJECT = "saas"
hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec
def saas_plugin_meta() -> PluginMeta:  # type: ignore[empty-body]
    """Required. Name, version, title, description, required plugins and the plugin API version it targets."""


@hookspec
def saas_migrations_dir() -> Path:  # type: ignore[empty-body]
    """A folder of Alembic revisions forming the plugin's own branch (labelled with its name)."""


@hookspec
def saas_graphql() -> GraphQLContribution:  # type: ignore[empty-body]
    """Types, queries, mutations, subscriptions and fields on core types (e.g. `Customer`)."""


@hookspec
def saas_permissions() -> list[PermissionSpec]:  # type: ignore[empty-body]
    """Permission strings the plugin checks, with the roles that hold them by default."""


@hookspec
def saas_jobs() -> list[Any]:  # type: ignore[empty-body]
    """Background jobs declared with `saas.plugin_api.tenant_job` (run by `saas worker`)."""


@hookspec
def saas_periodic_jobs() -> list[PeriodicJob]:  # type: ignore[empty-body]
    """Jobs `saas scheduler` runs every `interval`, once per tenant that enabled the plugin."""


@hookspec
def saas_event_types() -> list[str]:  # type: ignore[empty-body]
    """The domain event types the plugin emits; tenants that enabled it may subscribe webhooks to them."""


@hookspec
def saas_settings_model() -> type:  # type: ignore[empty-body]
    """A pydantic model validating the plugin's per-tenant settings."""


@hookspec
def saas_on_enable(context: PluginContext, settings: dict[str, Any]) -> None:
    """A tenant enabled the plugin (also when enabling again): create defaults, idempotently."""


@hookspec
def saas_demo(context: PluginContext, demo: DemoContext) -> None:
    """`saas demo` enabled the plugin on the demo tenant: add the plugin's demo data."""


@hookspec
def saas_handle_event(context: PluginContext, event: DomainEvent) -> None:
    """A domain event of a tenant that enabled the plugin, after its transaction committed."""


@hookspec
def saas_check_scoped_token(context: PluginContext, principal: Principal) -> bool | None:
    """A scoped token of the tenant is used (checked again at most once per credential cache
    window, 5 s): return False to refuse it everywhere with UNAUTHENTICATED, e.g. when the
    access it stands for was revoked; None (or True) for tokens that are not yours."""


@hookspec
def saas_automation() -> list[AutomationAction | AutomationCondition]:  # type: ignore[empty-body]
    """Actions and condition operators that automation rules may use, named `<plugin>.<name>`;
    a tenant's rules may use them while the tenant has the plugin enabled."""


@hookspec
def saas_tenant_deleted(tenant_id: Any) -> None:
    """A deleted tenant's grace period is over and its rows are about to be erased (every
    installed plugin is called, enabled for the tenant or not): remove what the plugin keeps
    about the tenant outside the database (files, remote accounts). The core then deletes the
    tenant's rows of every table, the plugin's included. Raising stops the erasure; it is tried
    again at the next run."""
