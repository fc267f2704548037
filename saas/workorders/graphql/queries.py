"""Work order reads: the calendar list and `node(id)` compiled into one SQL statement each."""

from __future__ import annotations

import uuid

import strawberry
from strawberry.types import Info

from saas.auth.permissions import WORK_ORDERS_READ, require
from saas.db.conditions import SqlCondition
from saas.schema.compiled import compiled_page
from saas.schema.context import RequestContext
from saas.workorders import models, rules
from saas.workorders.graphql.loaders import work_order_loader
from saas.workorders.graphql.sql import WORK_ORDER, WORK_ORDER_SORT
from saas.workorders.graphql.types import WorkOrder, WorkOrderConnection, WorkOrderFilterInput


def work_order_condition(context: RequestContext) -> SqlCondition:
    principal = context.require_principal()
    require(principal.permissions, WORK_ORDERS_READ)
    return rules.work_order_conditions(principal, "r")


async def load_work_order(context: RequestContext, raw_id: uuid.UUID) -> WorkOrder | None:
    return await work_order_loader(context).load(raw_id)


@strawberry.type
class WorkOrderQueries:
    @strawberry.field(
        description="Work orders by start time; with technicianId, from and to: that technician's calendar "
        "(the work orders overlapping the window). Keyset-paged."
    )
    async def work_orders(
        self,
        info: Info[RequestContext, None],
        first: int | None = 20,
        after: str | None = None,
        filter: WorkOrderFilterInput | None = None,
    ) -> WorkOrderConnection:
        condition = work_order_condition(info.context)
        if filter is not None:
            filter.to_rule().apply(condition, "r")
        return await compiled_page(  # type: ignore[no-any-return]
            info, WORK_ORDER, models.WorkOrder, WorkOrder.from_model, condition, WORK_ORDER_SORT, first, after
        )
