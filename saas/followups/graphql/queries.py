"""Follow-up reads: the caller's agenda, and the fields follow-ups add to `Customer` (timeline, tasks)."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry
from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from saas.auth.permissions import CUSTOMERS_READ, require
from saas.customers.graphql.types import Customer
from saas.customers.rules import SqlCondition
from saas.db.paging import Page
from saas.followups import service
from saas.followups.graphql.loaders import activity_loader, customer_tasks_loader, handover_loader, task_loader
from saas.followups.graphql.types import Agenda, Task, TimelineConnection, TimelineEntry
from saas.followups.rules import activity_condition, handover_condition, task_condition
from saas.followups.timeline import TIMELINE_KEY, TimelineRow, timeline_pages
from saas.schema.connections import connection, page_arguments
from saas.schema.context import RequestContext
from saas.schema.relay import to_global_id


def _agenda(session: Session, principal: Any) -> Agenda:
    lists = service.agenda(session, principal)
    return Agenda(**{name: [Task.from_model(row) for row in rows] for name, rows in lists.items()})


@strawberry.type
class FollowUpQueries:
    @strawberry.field(description="The caller's open tasks: overdue, due today (UTC) and upcoming, soonest first.")
    async def my_agenda(self, info: Info[RequestContext, None]) -> Agenda:
        context = info.context
        return await context.read(_agenda, context.require_principal())


def _entry(row: TimelineRow) -> TimelineEntry:
    return TimelineEntry(
        kind=row.kind,
        occurred_at=row.occurred_at,
        summary=row.summary,
        record_id=strawberry.ID(to_global_id(row.record_type, row.id)),
        actor_id=row.actor_id,
    )


def _timeline_loader(
    context: RequestContext, limit: int, after: list[Any] | None
) -> DataLoader[uuid.UUID, Page[TimelineRow]]:
    """One statement for the timelines of every customer on the page that asks for the same page."""
    from saas.schema.loaders import request_loader

    principal = context.require_principal()

    def batch(session: Session, customer_ids: list[uuid.UUID]) -> dict[uuid.UUID, Page[TimelineRow]]:
        return timeline_pages(session, principal, customer_ids, limit, after)

    name = f"followups.timeline:{limit}:{after!r}"
    return request_loader(context, name, batch, missing=lambda: Page([], False))


@strawberry.type
class CustomerFollowUpFields:
    """Fields follow-ups add to `Customer` (the customer is `self`)."""

    @strawberry.field(
        description="Activities, tasks, handovers, pool returns and opportunities' stage changes, newest first."
    )
    async def timeline(
        self, info: Info[RequestContext, None], first: int | None = 20, after: str | None = None
    ) -> TimelineConnection:
        context = info.context
        require(context.require_principal().permissions, CUSTOMERS_READ)
        limit, position = page_arguments(first, after, TIMELINE_KEY, context.runtime.settings.max_page_size)
        customer: Customer = self  # type: ignore[assignment]
        page = await _timeline_loader(context, limit, position).load(customer.raw_id)
        return connection(page, _entry, lambda row: row.key, has_previous_page=after is not None)  # type: ignore[no-any-return]

    @strawberry.field(description="Its tasks the caller sees: open ones by due time, then done ones (at most 100).")
    async def tasks(self, info: Info[RequestContext, None]) -> list[Task]:
        customer: Customer = self  # type: ignore[assignment]
        return await customer_tasks_loader(info.context).load(customer.raw_id)


def _condition(context: RequestContext, rule: Any, alias: str = "r") -> SqlCondition:
    principal = context.require_principal()
    require(principal.permissions, CUSTOMERS_READ)
    return rule(principal, alias)  # type: ignore[no-any-return]


def activity_node_condition(context: RequestContext) -> SqlCondition:
    return _condition(context, activity_condition)


def task_node_condition(context: RequestContext) -> SqlCondition:
    return _condition(context, task_condition)


def handover_node_condition(context: RequestContext) -> SqlCondition:
    return _condition(context, handover_condition)


async def load_activity(context: RequestContext, raw_id: uuid.UUID) -> Any:
    return await activity_loader(context).load(raw_id)


async def load_task(context: RequestContext, raw_id: uuid.UUID) -> Any:
    return await task_loader(context).load(raw_id)


async def load_handover(context: RequestContext, raw_id: uuid.UUID) -> Any:
    return await handover_loader(context).load(raw_id)
