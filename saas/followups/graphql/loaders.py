"""DataLoaders of follow-ups: by id for `node(id)` fallbacks, and per customer for nested lists."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import Integer, bindparam, column, select, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader

from saas.auth.permissions import CUSTOMERS_READ, require
from saas.followups import models
from saas.followups.graphql.types import Activity, CustomerHandover, Task
from saas.followups.rules import activity_condition, handover_condition, task_condition
from saas.schema.context import RequestContext
from saas.schema.loaders import request_loader

# A customer's `tasks` lists its open tasks and the most recently completed ones, at most this many.
CUSTOMER_TASKS_LIMIT = 100


def _by_id(context: RequestContext, name: str, model: Any, condition_of: Any, to_type: Any) -> DataLoader[Any, Any]:
    principal = context.require_principal()
    require(principal.permissions, CUSTOMERS_READ)

    def batch(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
        condition = condition_of(principal, model.__tablename__)
        rows = session.scalars(select(model).where(model.id.in_(ids), text(condition.sql)).params(**condition.params))
        return {row.id: to_type(row) for row in rows}

    return request_loader(context, name, batch)


def activity_loader(context: RequestContext) -> DataLoader[uuid.UUID, Activity | None]:
    return _by_id(context, "followups.activities", models.Activity, activity_condition, Activity.from_model)


def task_loader(context: RequestContext) -> DataLoader[uuid.UUID, Task | None]:
    return _by_id(context, "followups.tasks", models.Task, task_condition, Task.from_model)


def handover_loader(context: RequestContext) -> DataLoader[uuid.UUID, CustomerHandover | None]:
    return _by_id(
        context, "followups.handovers", models.CustomerHandover, handover_condition, CustomerHandover.from_model
    )


def customer_tasks_loader(context: RequestContext) -> DataLoader[uuid.UUID, list[Task]]:
    """Each customer's tasks the caller sees: open ones by due time, then done ones, newest first."""
    principal = context.require_principal()

    def batch(session: Session, customer_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Task]]:
        condition = task_condition(principal, "t")
        ranked = (
            "SELECT t.id, row_number() OVER (PARTITION BY t.customer_id ORDER BY t.completed_at DESC NULLS FIRST, "
            f"t.due_at, t.id) AS n FROM tasks t WHERE t.customer_id = ANY(:customer_ids) AND {condition.sql}"
        )
        ranks = (
            text(ranked)
            .bindparams(
                bindparam("customer_ids", value=customer_ids, type_=ARRAY(UUID(as_uuid=True))), **condition.params
            )
            .columns(column("id", UUID(as_uuid=True)), column("n", Integer))
            .subquery("ranked")
        )
        rows = session.execute(
            select(models.Task, ranks.c.n)
            .join(ranks, ranks.c.id == models.Task.id)
            .where(ranks.c.n <= CUSTOMER_TASKS_LIMIT)
            .order_by(ranks.c.n)
        )
        by_customer: dict[uuid.UUID, list[Task]] = defaultdict(list)
        for row, _ in rows:
            assert row.customer_id is not None
            by_customer[row.customer_id].append(Task.from_model(row))
        return by_customer

    return request_loader(context, "followups.customer_tasks", batch, missing=list)
