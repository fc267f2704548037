"""The accounts domain's GraphQL, contributed the way a plugin's is: roots, types and `node(id)` reads."""

from __future__ import annotations

import uuid

from saas.accounts.graphql.loaders import member_loader
from saas.accounts.graphql.mutations import AccountMutations
from saas.accounts.graphql.queries import AccountQueries
from saas.accounts.graphql.sql import API_KEY, MEMBER
from saas.accounts.graphql.types import ApiKey, Invitation, Member
from saas.accounts.invitations import get_invitation
from saas.accounts.models import ApiKey as ApiKeyRow
from saas.auth.permissions import API_KEYS_MANAGE, MEMBERS_READ
from saas.plugin_host.contributions import CompiledNode, GraphQLContribution
from saas.schema.context import RequestContext
from saas.schema.nodes import permission_condition


async def _load_member(context: RequestContext, raw_id: uuid.UUID) -> Member | None:
    return await member_loader(context).load(raw_id)


async def _load_api_key(context: RequestContext, raw_id: uuid.UUID) -> ApiKey | None:
    row = await context.read(lambda session: session.get(ApiKeyRow, (context.require_principal().tenant_id, raw_id)))
    return ApiKey.from_model(row) if row is not None else None


async def _load_invitation(context: RequestContext, raw_id: uuid.UUID) -> Invitation:
    row = await context.read(get_invitation, context.require_principal(), raw_id)
    return Invitation.from_model(row)


contribution = GraphQLContribution(
    types=(Member, ApiKey),
    queries=(AccountQueries,),
    mutations=(AccountMutations,),
    compiled_nodes={
        "Member": CompiledNode(MEMBER, lambda context: permission_condition(context, MEMBERS_READ), _load_member),
        "ApiKey": CompiledNode(API_KEY, lambda context: permission_condition(context, API_KEYS_MANAGE), _load_api_key),
    },
    nodes={"Invitation": _load_invitation},
)
