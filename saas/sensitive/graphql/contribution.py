"""The sensitive fields' GraphQL, contributed the way a plugin's is: roots and `node(id)` reads."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from saas.auth.permissions import CUSTOM_FIELDS_MANAGE, require
from saas.errors import NotFoundError
from saas.plugin_host.contributions import GraphQLContribution
from saas.schema.context import RequestContext
from saas.sensitive.graphql.mutations import SensitiveMutations
from saas.sensitive.graphql.queries import SensitiveQueries
from saas.sensitive.graphql.types import ReencryptRun, SensitiveCoreField
from saas.sensitive.models import ReencryptRun as RunRow


async def _load_run(context: RequestContext, raw_id: uuid.UUID) -> ReencryptRun:
    require(context.require_principal().permissions, CUSTOM_FIELDS_MANAGE)
    row = await context.read(lambda session: session.scalars(select(RunRow).where(RunRow.id == raw_id)).first())
    if row is None:
        raise NotFoundError("Re-encryption run not found", id=str(raw_id))
    return ReencryptRun.from_model(row)


contribution = GraphQLContribution(
    types=(SensitiveCoreField, ReencryptRun),
    queries=(SensitiveQueries,),
    mutations=(SensitiveMutations,),
    nodes={"ReencryptRun": _load_run},
)
