"""`node(id)`: finds the contribution (core domain or enabled plugin) that declares the id's type and reads it.

Every `Node` type is declared by exactly one contribution (`GraphQLContribution.nodes` or
`compiled_nodes`); the core domains declare theirs the way plugins do, so this module holds
no domain's tables, loaders or tenant conditions.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import strawberry
from strawberry.types import Info

from saas.auth.permissions import require
from saas.customers.rules import SqlCondition
from saas.errors import NotFoundError
from saas.plugin_host.contributions import GraphQLContribution
from saas.schema.context import RequestContext
from saas.customers.graphql.queries import single_object
from saas.schema.relay import from_global_id


def tenant_condition(context: RequestContext, permission: str) -> SqlCondition:
    """The caller's tenant's rows (`r.tenant_id = :tenant_id`), once the caller holds `permission`."""
    principal = context.require_principal()
    require(principal.permissions, permission)
    condition = SqlCondition()
    condition.add("r.tenant_id = :tenant_id", tenant_id=principal.tenant_id)
    return condition


async def resolve_node(
    info: Info[RequestContext, None], id: strawberry.ID, contributions: Iterable[GraphQLContribution]
) -> Any:
    """The object of `id` as its contribution reads it; NOT_FOUND for an unknown type, a malformed
    id, or an object that is missing or not visible to the caller (another tenant's included: every
    loader reads through the tenant-bound session, and every compiled condition names the tenant)."""
    type_name, raw_id = from_global_id(id)
    found = await _read(info, type_name, raw_id, contributions)
    if found is None:
        raise NotFoundError("Not found", id=id)
    return found


async def _read(
    info: Info[RequestContext, None],
    type_name: str,
    raw_id: uuid.UUID,
    contributions: Iterable[GraphQLContribution],
) -> Any:
    for contribution in contributions:
        compiled = contribution.compiled_nodes.get(type_name)
        if compiled is not None:
            condition = compiled.condition(info.context)
            return await single_object(info, compiled.sql_type, raw_id, condition, compiled.fallback)
        loader = contribution.nodes.get(type_name)
        if loader is not None:
            return await loader(info.context, raw_id)
    return None
