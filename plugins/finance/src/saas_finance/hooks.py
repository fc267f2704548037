"""The plugin's hook implementations: what it contributes to the host (entry point `finance`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from saas.plugin_api import (
    DemoContext,
    GraphQLContribution,
    PeriodicJob,
    PermissionSpec,
    PluginContext,
    PluginMeta,
    hookimpl,
)
from saas_finance import NAME, __version__, events
from saas_finance.settings import FinanceSettings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@hookimpl
def saas_plugin_meta() -> PluginMeta:
    return PluginMeta(
        name=NAME,
        version=__version__,
        title="Finance",
        api_version="1.6",
        description="Instruments with real-time quotes, customers' accounts with an append-only transaction "
        "ledger, portfolio analysis with returns and risk, and rebalancing toward target allocations.",
    )


@hookimpl
def saas_migrations_dir() -> Path:
    return MIGRATIONS


@hookimpl
def saas_graphql() -> GraphQLContribution:
    from saas_finance.graphql.contribution import contribution

    return contribution


@hookimpl
def saas_permissions() -> list[PermissionSpec]:
    from saas_finance.rules import PERMISSIONS

    return PERMISSIONS


@hookimpl
def saas_jobs() -> list[Any]:
    from saas_finance.jobs import JOBS

    return JOBS


@hookimpl
def saas_periodic_jobs() -> list[PeriodicJob]:
    from saas_finance.jobs import PERIODIC_JOBS

    return PERIODIC_JOBS


@hookimpl
def saas_event_types() -> list[str]:
    return list(events.EVENT_TYPES)


@hookimpl
def saas_settings_model() -> type:
    return FinanceSettings


@hookimpl
def saas_demo(context: PluginContext, demo: DemoContext) -> None:
    """Instruments with a year of daily prices, accounts of a few customers with their transactions."""
    from saas_finance.demo import seed

    seed(demo)
