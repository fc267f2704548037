"""Assembles the schema from the domains' queries, mutations and subscriptions."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

import strawberry
from graphql import print_schema
from strawberry.schema.config import StrawberryConfig
from strawberry.types import Info

from saas.auth.permissions import API_KEYS_MANAGE, MEMBERS_READ, require
from saas.customers.rules import SqlCondition
from saas.errors import NotFoundError
from saas.plugins.host import LoadedPlugin
from saas.schema.accounts.resolvers import AccountMutations, AccountQueries
from saas.schema.accounts.sql import API_KEY
from saas.schema.accounts.types import ApiKey
from saas.schema.common import Node
from saas.schema.compiler import SqlType
from saas.schema.composition import RootTypes, compose_schema
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
from saas.schema.plugins.resolvers import PluginMutations, PluginQueries
from saas.schema.relay import from_global_id
from saas.schema.scalars import SCALAR_MAP
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


@strawberry.type
class Query(CustomerQueries, AccountQueries, PluginQueries):
    @strawberry.field(description="Any object by its global id; NOT_FOUND when missing or not visible.")
    async def node(self, info: Info[RequestContext, None], id: strawberry.ID) -> Node:
        type_name, raw_id = from_global_id(id)
        if type_name not in NODE_TYPES:
            raise NotFoundError("Not found", id=id)
        sql_type, condition, fallback = NODE_TYPES[type_name]
        return await single_object(info, sql_type, raw_id, condition(info.context), fallback)  # type: ignore[no-any-return]


@strawberry.type
class Mutation(CustomerMutations, AccountMutations, PluginMutations):
    pass


@strawberry.type
class Subscription(CustomerSubscriptions):
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


def schema_sdl(plugins: Sequence[LoadedPlugin] = ()) -> str:
    """The schema as SDL; with no plugins, exactly what is checked in to `schema.graphql`."""
    return print_schema(build_schema(plugins)._schema).rstrip("\n") + "\n"
