"""The plugin's hook implementations: what it contributes to the host (entry point `insurance`)."""

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
from saas_insurance import NAME, __version__, events
from saas_insurance.settings import InsuranceSettings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@hookimpl
def saas_plugin_meta() -> PluginMeta:
    return PluginMeta(
        name=NAME,
        version=__version__,
        title="Insurance",
        api_version="1.6",
        description="Policies and renewals, quotes rated by credibility, claims with race-safe payments, "
        "loss statistics, renewal risk (rules or a per-tenant logistic regression) and cross-sell leads.",
    )


@hookimpl
def saas_migrations_dir() -> Path:
    return MIGRATIONS


@hookimpl
def saas_graphql() -> GraphQLContribution:
    from saas_insurance.graphql.contribution import contribution

    return contribution


@hookimpl
def saas_permissions() -> list[PermissionSpec]:
    from saas_insurance.rules import PERMISSIONS

    return PERMISSIONS


@hookimpl
def saas_jobs() -> list[Any]:
    from saas_insurance.jobs import JOBS

    return JOBS


@hookimpl
def saas_periodic_jobs() -> list[PeriodicJob]:
    from saas_insurance.jobs import PERIODIC_JOBS

    return PERIODIC_JOBS


@hookimpl
def saas_event_types() -> list[str]:
    return list(events.EVENT_TYPES)


@hookimpl
def saas_settings_model() -> type:
    return InsuranceSettings


@hookimpl
def saas_on_enable(context: PluginContext, settings: dict[str, Any]) -> None:
    """Version 1 of every line's rating table (kept when the tenant has its own)."""
    from saas_insurance.service.rating import ensure_default_tables

    ensure_default_tables(context.session)


@hookimpl
def saas_demo(context: PluginContext, demo: DemoContext) -> None:
    """Several years of policies, renewals and claims on the demo customers (`demo.py`)."""
    from saas_insurance.demo import seed

    seed(demo)
