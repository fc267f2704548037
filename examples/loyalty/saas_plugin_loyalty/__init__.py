"""Loyalty points per customer: an example third-party plugin for the saas CRM.

It implements every hook of the plugin API (docs/plugins.md): a ledger table and its
migration, a query and a mutation, `Customer.loyaltyPoints`, two permissions, an hourly
expiry job, welcome points on `customer.created`, its own event type, validated settings,
default tiers on enable, and an automation action and condition operator. It imports nothing
from `saas` but `saas.plugin_api`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from saas.plugin_api import (
    AutomationAction,
    AutomationCondition,
    DemoContext,
    DomainEvent,
    GraphQLContribution,
    PeriodicJob,
    PermissionSpec,
    PluginContext,
    PluginMeta,
    decode_id,
    hookimpl,
)

from saas_plugin_loyalty import service
from saas_plugin_loyalty.automation import AWARD_POINTS, POINTS_AT_LEAST
from saas_plugin_loyalty.graphql.contribution import contribution
from saas_plugin_loyalty.jobs import EXPIRE_HOURLY, expire_points
from saas_plugin_loyalty.rules import PERMISSIONS
from saas_plugin_loyalty.settings import LoyaltySettings

NAME = "loyalty"
# The plugin API version this plugin is written for; the host refuses it if it cannot provide it.
API_VERSION = "1.4"
# Tenants whose erasure this process was told of (`saas_tenant_deleted`). The plugin keeps nothing
# outside the database, so it only notes them; a plugin with files or remote accounts removes them.
erased_tenants: set[Any] = set()


@hookimpl
def saas_plugin_meta() -> PluginMeta:
    return PluginMeta(
        name=NAME,
        version="1.0.0",
        title="Loyalty points",
        api_version=API_VERSION,
        description="Points per customer: welcome points, awards and redemptions, expiry, tiers.",
    )


@hookimpl
def saas_migrations_dir() -> Path:
    return Path(__file__).parent / "migrations" / "versions"


@hookimpl
def saas_graphql() -> GraphQLContribution:
    return contribution


@hookimpl
def saas_permissions() -> list[PermissionSpec]:
    return PERMISSIONS


@hookimpl
def saas_jobs() -> list[Any]:
    return [expire_points]


@hookimpl
def saas_periodic_jobs() -> list[PeriodicJob]:
    return [EXPIRE_HOURLY]


@hookimpl
def saas_event_types() -> list[str]:
    return [service.POINTS_ADJUSTED]


@hookimpl
def saas_settings_model() -> type:
    return LoyaltySettings


@hookimpl
def saas_on_enable(context: PluginContext, settings: dict[str, Any]) -> None:
    service.seed_default_tiers(context.session, context.tenant_id)


@hookimpl
def saas_demo(context: PluginContext, demo: DemoContext) -> None:
    """Points for a few demo customers, as if they had bought something."""
    for customer_id in demo.rng.sample(demo.customer_ids, min(5, len(demo.customer_ids))):
        service.adjust_points(demo.session, demo.owner, customer_id, demo.rng.randrange(50, 500), "Demo purchase")


@hookimpl
def saas_handle_event(context: PluginContext, event: DomainEvent) -> None:
    if event.type == "customer.created":  # payload: {"customer": {"id": "<global id>", ...}}, as the API's
        points = LoyaltySettings.model_validate(context.settings).welcome_points
        customer_id = decode_id(event.payload["customer"]["id"], "Customer")
        service.award_welcome_points(context.session, context.tenant_id, customer_id, points, event.id)


@hookimpl
def saas_automation() -> list[AutomationAction | AutomationCondition]:
    """Automation rules of tenants with loyalty enabled may award points and test balances."""
    return [AWARD_POINTS, POINTS_AT_LEAST]


@hookimpl
def saas_tenant_deleted(tenant_id: Any) -> None:
    erased_tenants.add(tenant_id)
