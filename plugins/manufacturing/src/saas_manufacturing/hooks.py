"""The plugin's hook implementations: what it contributes to the host (entry point `manufacturing`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from saas.plugin_api import (
    DemoContext,
    DomainEvent,
    GraphQLContribution,
    PeriodicJob,
    PermissionSpec,
    PluginContext,
    PluginMeta,
    Principal,
    hookimpl,
)
from saas_manufacturing import NAME, __version__, events
from saas_manufacturing.settings import ManufacturingSettings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@hookimpl
def saas_plugin_meta() -> PluginMeta:
    return PluginMeta(
        name=NAME,
        version=__version__,
        title="Manufacturing",
        api_version="1.6",
        description="Real-time inventory with a stock ledger, customer self-service ordering with atomic "
        "reservations, and direct shipments with pluggable carriers.",
    )


@hookimpl
def saas_migrations_dir() -> Path:
    return MIGRATIONS


@hookimpl
def saas_graphql() -> GraphQLContribution:
    from saas_manufacturing.graphql.contribution import contribution

    return contribution


@hookimpl
def saas_permissions() -> list[PermissionSpec]:
    from saas_manufacturing.rules import PERMISSIONS

    return PERMISSIONS


@hookimpl
def saas_jobs() -> list[Any]:
    from saas_manufacturing.jobs import JOBS

    return JOBS


@hookimpl
def saas_periodic_jobs() -> list[PeriodicJob]:
    from saas_manufacturing.jobs import PERIODIC_JOBS

    return PERIODIC_JOBS


@hookimpl
def saas_event_types() -> list[str]:
    return list(events.EVENT_TYPES)


@hookimpl
def saas_settings_model() -> type:
    return ManufacturingSettings


@hookimpl
def saas_on_enable(context: PluginContext, settings: dict[str, Any]) -> None:
    """A default warehouse, so that orders can be placed at once (kept when there is one)."""
    from saas_manufacturing.service.warehouses import ensure_default_warehouse

    clean = ManufacturingSettings.model_validate(settings)
    ensure_default_warehouse(context.session, clean.default_warehouse_name)


@hookimpl
def saas_demo(context: PluginContext, demo: DemoContext) -> None:
    """Opening stock of the demo products in the default warehouse, and a couple of orders."""
    from saas_manufacturing.demo import seed_demo

    seed_demo(demo)


@hookimpl
def saas_handle_event(context: PluginContext, event: DomainEvent) -> None:
    """A received return's goods go back in stock (once per event, however often it is delivered)."""
    from saas_manufacturing.service.returns import RETURN_RECEIVED, restock_return

    if event.type == RETURN_RECEIVED:
        settings = ManufacturingSettings.model_validate(context.settings)
        restock_return(context.session, event, settings.default_warehouse_name)


# The scope key of the portal tokens this plugin issued before portal access moved into the core.
LEGACY_PORTAL_SCOPE = "mfg_portal_access"


@hookimpl
def saas_check_scoped_token(context: PluginContext, principal: Principal) -> bool | None:
    """Portal tokens the plugin issued before portal access moved into the core are refused
    everywhere (their access records were copied, but such a token would no longer answer to
    their revocation); the core's portal tokens are the core's business."""
    if principal.scoped(LEGACY_PORTAL_SCOPE) is not None:
        return False
    return None
