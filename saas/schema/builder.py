"""Assembles the schema from the domains' queries, mutations and subscriptions."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

import strawberry
from graphql import print_schema
from strawberry.schema.config import StrawberryConfig
from strawberry.types import Info

from saas.auth.permissions import API_KEYS_MANAGE, MEMBERS_READ, require
from saas.catalog import service as catalog_service
from saas.customers.rules import SqlCondition
from saas.errors import NotFoundError
from saas.plugins.host import LoadedPlugin, PluginHost
from saas.schema.accounts.resolvers import AccountMutations, AccountQueries
from saas.schema.accounts.sql import API_KEY
from saas.schema.accounts.types import ApiKey, Invitation
from saas.schema.catalog.mutations import CatalogMutations
from saas.schema.catalog.queries import CatalogQueries
from saas.schema.catalog.types import Product
from saas.schema.common import Node
from saas.schema.compiler import SqlType
from saas.schema.composition import RootTypes, SchemaConflict, compose_schema
from saas.schema.context import RequestContext
from saas.schema.customers.dataloaders import member_loader
from saas.schema.customers.mutations import CustomerMutations
from saas.schema.customers.queries import (
    CustomerQueries,
    Loader,
    contact_condition,
    customer_condition,
    load_contact,
    load_customer,
    single_object,
)
from saas.schema.customers.sql import CONTACT, CUSTOMER, MEMBER
from saas.schema.customers.subscriptions import CustomerSubscriptions
from saas.schema.customers.types import Contact, Customer, Member
from saas.schema.execution import PassthroughExecutor
from saas.schema.jobs.resolvers import JobMutations, JobQueries
from saas.schema.notifications.resolvers import NotificationMutations, NotificationQueries, NotificationSubscriptions
from saas.schema.plugins.resolvers import PluginMutations, PluginQueries
from saas.schema.relay import from_global_id
from saas.schema.scalars import SCALAR_MAP
from saas.schema.webhooks.mutations import WebhookMutations
from saas.schema.webhooks.queries import WebhookQueries
from saas.tenancy.invitations import get_invitation
from saas.tenancy.models import ApiKey as ApiKeyRow


def _tenant_condition(context: RequestContext, permission: str) -> SqlCondition:
    principal = context.require_principal()
    require(principal.permissions, permission)
    condition = SqlCondition()
    condition.add("r.tenant_id = :tenant_id", tenant_id=principal.tenant_id)
    return condition


async def _load_member(context: RequestContext, raw_id: uuid.UUID) -> Member | None:
    return await member_loader(context).load(raw_id)


async def _load_api_key(context: RequestContext, raw_id: uuid.UUID) -> ApiKey | None:
    row = await context.read(lambda session: session.get(ApiKeyRow, (context.require_principal().tenant_id, raw_id)))
    return ApiKey.from_model(row) if row is not None else None


NODE_TYPES: dict[str, tuple[SqlType, Callable[[RequestContext], SqlCondition], Loader]] = {
    "Customer": (CUSTOMER, customer_condition, load_customer),
    "Contact": (CONTACT, contact_condition, load_contact),
    "Member": (MEMBER, lambda context: _tenant_condition(context, MEMBERS_READ), _load_member),
    "ApiKey": (API_KEY, lambda context: _tenant_condition(context, API_KEYS_MANAGE), _load_api_key),
}


async def _load_product(context: RequestContext, raw_id: uuid.UUID) -> Product:
    return Product.from_model(await context.read(catalog_service.get_product, context.require_principal(), raw_id))


async def _load_invitation(context: RequestContext, raw_id: uuid.UUID) -> Invitation:
    row = await context.read(get_invitation, context.require_principal(), raw_id)
    return Invitation.from_model(row)


# Node types read through resolvers only (no SQL mapping for the compiler yet).
RESOLVED_NODE_TYPES: dict[str, Loader] = {"Product": _load_product, "Invitation": _load_invitation}


def _node_loader(context: RequestContext, type_name: str) -> Loader | None:
    if type_name in RESOLVED_NODE_TYPES:
        return RESOLVED_NODE_TYPES[type_name]
    for plugin in context.runtime.plugins.enabled(context.require_principal().plugins):
        if type_name in plugin.graphql.nodes:
            return plugin.graphql.nodes[type_name]
    return None


@strawberry.type
class Query(
    CustomerQueries, AccountQueries, PluginQueries, JobQueries, CatalogQueries, WebhookQueries, NotificationQueries
):
    @strawberry.field(description="Any object by its global id; NOT_FOUND when missing or not visible.")
    async def node(self, info: Info[RequestContext, None], id: strawberry.ID) -> Node:
        type_name, raw_id = from_global_id(id)
        if type_name in NODE_TYPES:
            sql_type, condition, fallback = NODE_TYPES[type_name]
            return await single_object(info, sql_type, raw_id, condition(info.context), fallback)  # type: ignore[no-any-return]
        loader = _node_loader(info.context, type_name)
        found = await loader(info.context, raw_id) if loader is not None else None
        if found is None:
            raise NotFoundError("Not found", id=id)
        return found  # type: ignore[no-any-return]


@strawberry.type
class Mutation(
    CustomerMutations,
    AccountMutations,
    PluginMutations,
    JobMutations,
    CatalogMutations,
    WebhookMutations,
    NotificationMutations,
):
    pass


@strawberry.type
class Subscription(CustomerSubscriptions, NotificationSubscriptions):
    pass


CORE_TYPES: tuple[type, ...] = (Customer, Contact, Member, ApiKey)


def build_schema(plugins: Sequence[LoadedPlugin] = ()) -> strawberry.Schema:
    """The schema of the core and the given (enabled) plugins; conflicts fail naming both sides."""
    return compose_schema(
        roots=RootTypes(query=Query, mutation=Mutation, subscription=Subscription),
        core_types=CORE_TYPES,
        plugins=[(p.name, p.graphql) for p in plugins],
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
