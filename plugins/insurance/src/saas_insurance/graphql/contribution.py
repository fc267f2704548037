"""The plugin's GraphQL contribution: types, root fields, `Customer.policies` / `Customer.claims`, `node(id)`.

`node(id)` of a policy or claim is one compiled statement with the same visibility as the lists
(readers see the records of the customers they see); a rating table is read through its service.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from saas.plugin_api import CompiledNode, GraphQLContribution, NotFoundError, RequestContext
from saas_insurance.graphql import types
from saas_insurance.graphql.mutations import InsuranceMutations
from saas_insurance.graphql.queries import InsuranceQueries, visibility_condition
from saas_insurance.graphql.sql import CLAIM, CUSTOMER_FIELDS, POLICY
from saas_insurance.models import RatingTable
from saas_insurance.rules import READ
from saas_insurance.service.common import get_claim, get_policy


async def load_policy(context: RequestContext, raw_id: uuid.UUID) -> Any:
    try:
        return types.Policy.from_model(await context.read(get_policy, context.require_principal(), raw_id))
    except NotFoundError:
        return None


async def load_claim(context: RequestContext, raw_id: uuid.UUID) -> Any:
    try:
        return types.Claim.from_model(await context.read(get_claim, context.require_principal(), raw_id))
    except NotFoundError:
        return None


def _table(session: Any, principal: Any, raw_id: uuid.UUID) -> RatingTable | None:
    from saas.plugin_api import require

    require(principal.permissions, READ)
    return session.scalars(select(RatingTable).where(RatingTable.id == raw_id)).first()


async def load_rating_table(context: RequestContext, raw_id: uuid.UUID) -> Any:
    row = await context.read(_table, context.require_principal(), raw_id)
    return types.RatingTable.from_model(row) if row is not None else None


contribution = GraphQLContribution(
    types=types.TYPES,
    queries=(InsuranceQueries,),
    mutations=(InsuranceMutations,),
    type_fields={"Customer": (types.InsCustomerFields,)},
    sql_fields={"Customer": CUSTOMER_FIELDS},
    nodes={"InsRatingTable": load_rating_table},
    compiled_nodes={
        "InsPolicy": CompiledNode(POLICY, visibility_condition, load_policy),
        "InsClaim": CompiledNode(CLAIM, visibility_condition, load_claim),
    },
)
