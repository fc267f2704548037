"""The custom fields domain's GraphQL, contributed the way a plugin's is: roots and `node(id)` reads."""

from __future__ import annotations

import uuid

from saas.custom_fields import service
from saas.custom_fields.graphql.mutations import CustomFieldMutations
from saas.custom_fields.graphql.queries import CustomFieldQueries
from saas.custom_fields.graphql.types import CustomFieldDefinition
from saas.plugin_host.contributions import GraphQLContribution
from saas.schema.context import RequestContext


async def _load_definition(context: RequestContext, raw_id: uuid.UUID) -> CustomFieldDefinition:
    row = await context.read(service.get_definition, context.require_principal(), raw_id)
    return CustomFieldDefinition.from_model(row)


contribution = GraphQLContribution(
    types=(CustomFieldDefinition,),
    queries=(CustomFieldQueries,),
    mutations=(CustomFieldMutations,),
    nodes={"CustomFieldDefinition": _load_definition},
)
