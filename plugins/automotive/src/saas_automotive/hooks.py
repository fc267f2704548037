"""The plugin's hook implementations: what it contributes to the host (entry point `automotive`)."""

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
    decode_id,
    hookimpl,
    on_commit,
)
from saas_automotive import NAME, __version__, events
from saas_automotive.settings import AutomotiveSettings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@hookimpl
def saas_plugin_meta() -> PluginMeta:
    return PluginMeta(
        name=NAME,
        version=__version__,
        title="Automotive",
        api_version="1.6",
        description="Vehicles with VIN checks and service history, JIT supplier call-offs with supplier keys, "
        "freight tracking with live ETAs, and service and sales reminders.",
    )


@hookimpl
def saas_migrations_dir() -> Path:
    return MIGRATIONS


@hookimpl
def saas_graphql() -> GraphQLContribution:
    from saas_automotive.graphql.contribution import contribution

    return contribution


@hookimpl
def saas_permissions() -> list[PermissionSpec]:
    from saas_automotive.rules import PERMISSIONS

    return PERMISSIONS


@hookimpl
def saas_jobs() -> list[Any]:
    from saas_automotive.jobs import JOBS

    return JOBS


@hookimpl
def saas_periodic_jobs() -> list[PeriodicJob]:
    from saas_automotive.jobs import PERIODIC_JOBS

    return PERIODIC_JOBS


@hookimpl
def saas_event_types() -> list[str]:
    return list(events.EVENT_TYPES)


@hookimpl
def saas_settings_model() -> type:
    return AutomotiveSettings


@hookimpl
def saas_handle_event(context: PluginContext, event: DomainEvent) -> None:
    """A call-off recorded in the outbox is sent to its supplier once the dispatch commits
    (`automotive.send_call_off`, retried with backoff)."""
    if event.type != events.CALL_OFF_CREATED:
        return
    from saas_automotive.jobs import send_call_off

    call_off_id = str(decode_id(event.payload["callOff"]["id"], "AutoCallOff"))
    tenant_id = context.tenant_id
    on_commit(context.session, lambda: send_call_off.send(tenant_id, call_off_id))


@hookimpl
def saas_demo(context: PluginContext, demo: DemoContext) -> None:
    from saas_automotive.demo import seed

    seed(demo)
