"""Return reads: the list and `node(id)` compiled into one SQL statement each."""

from __future__ import annotations

import uuid

import strawberry
from strawberry.types import Info

from saas.auth.permissions import RETURNS_READ, require
from saas.db.conditions import SqlCondition
from saas.returns import models, rules
from saas.returns.graphql.loaders import return_line_loader, return_loader
from saas.returns.graphql.sql import RETURN_REQUEST, RETURN_SORT
from saas.returns.graphql.types import (
    ReturnFilterInput,
    ReturnLine,
    ReturnRequest,
    ReturnRequestConnection,
)
from saas.schema.compiled import compiled_page
from saas.schema.context import RequestContext


def return_condition(context: RequestContext) -> SqlCondition:
    principal = context.require_principal()
    require(principal.permissions, RETURNS_READ)
    return rules.return_conditions(principal, "r")


def return_line_condition(context: RequestContext) -> SqlCondition:
    principal = context.require_principal()
    require(principal.permissions, RETURNS_READ)
    return rules.return_line_conditions(principal, "r")


async def load_return(context: RequestContext, raw_id: uuid.UUID) -> ReturnRequest | None:
    return await return_loader(context).load(raw_id)


async def load_return_line(context: RequestContext, raw_id: uuid.UUID) -> ReturnLine | None:
    return await return_line_loader(context).load(raw_id)


@strawberry.type
class ReturnQueries:
    @strawberry.field(description="Returns of the customers the caller sees, newest first; keyset-paged.")
    async def return_requests(
        self,
        info: Info[RequestContext, None],
        first: int | None = 20,
        after: str | None = None,
        filter: ReturnFilterInput | None = None,
    ) -> ReturnRequestConnection:
        condition = return_condition(info.context)
        if filter is not None:
            filter.to_rule().apply(condition, "r")
        return await compiled_page(  # type: ignore[no-any-return]
            info, RETURN_REQUEST, models.ReturnRequest, ReturnRequest.from_model, condition, RETURN_SORT, first, after
        )
