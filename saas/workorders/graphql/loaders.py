"""DataLoaders of the ORM path: work orders by id, those visible with their customer."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from strawberry.dataloader import DataLoader

from saas.deals.graphql.loaders import by_id
from saas.schema.context import RequestContext
from saas.workorders import models, rules

if TYPE_CHECKING:
    from saas.workorders.graphql.types import WorkOrder


def work_order_loader(context: RequestContext) -> DataLoader[uuid.UUID, WorkOrder | None]:
    from saas.workorders.graphql.types import WorkOrder

    return by_id(context, "work_orders", models.WorkOrder, WorkOrder.from_model, rules.work_order_conditions)
