"""GraphQL types of follow-ups: activities, tasks, handovers, timeline entries and the agenda."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from strawberry.types import Info

from saas.accounts.graphql.loaders import member_of
from saas.accounts.graphql.types import Member
from saas.customers.graphql.loaders import customer_of
from saas.customers.graphql.types import Customer
from saas.followups import models
from saas.followups.models import ActivityKind, HandoverKind
from saas.schema.common import Node
from saas.schema.connections import Connection
from saas.schema.context import RequestContext
from saas.schema.relay import to_global_id

strawberry.enum(ActivityKind, name="ActivityKind")
strawberry.enum(HandoverKind, name="HandoverKind")


@strawberry.type(description="A call, e-mail, meeting, visit or note about a customer, contact, lead or opportunity.")
class Activity(Node):
    kind: ActivityKind
    summary: str
    occurred_at: datetime
    created_at: datetime
    subject_id: strawberry.ID = strawberry.field(description="The customer, contact, lead or opportunity.")
    customer_id: strawberry.Private[uuid.UUID | None]
    actor_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="The customer whose timeline shows it (null for a lead, or when not visible).")
    async def customer(self, info: Info[RequestContext, None]) -> Customer | None:
        return await customer_of(info.context, self.customer_id)

    @strawberry.field(description="Who logged it.")
    async def actor(self, info: Info[RequestContext, None]) -> Member | None:
        return await member_of(info.context, self.actor_id)

    @classmethod
    def from_model(cls, row: models.Activity) -> Activity:
        return cls(
            id=strawberry.ID(to_global_id("Activity", row.id)),
            kind=ActivityKind(row.kind),
            summary=row.summary,
            occurred_at=row.occurred_at,
            created_at=row.created_at,
            subject_id=strawberry.ID(to_global_id(row.subject_type, row.subject_id)),
            customer_id=row.customer_id,
            actor_id=row.actor_id,
        )


@strawberry.type(description="Something a member must do about a subject by `dueAt`.")
class Task(Node):
    title: str
    due_at: datetime
    remind_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    subject_id: strawberry.ID = strawberry.field(description="The customer, contact, lead or opportunity.")
    customer_id: strawberry.Private[uuid.UUID | None]
    assignee_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def assignee(self, info: Info[RequestContext, None]) -> Member | None:
        return await member_of(info.context, self.assignee_id)

    @strawberry.field(description="The customer the subject belongs to (null for a lead, or when not visible).")
    async def customer(self, info: Info[RequestContext, None]) -> Customer | None:
        return await customer_of(info.context, self.customer_id)

    @classmethod
    def from_model(cls, row: models.Task) -> Task:
        return cls(
            id=strawberry.ID(to_global_id("Task", row.id)),
            title=row.title,
            due_at=row.due_at,
            remind_at=row.remind_at,
            completed_at=row.completed_at,
            created_at=row.created_at,
            subject_id=strawberry.ID(to_global_id(row.subject_type, row.subject_id)),
            customer_id=row.customer_id,
            assignee_id=row.assignee_id,
        )


@strawberry.type(description="A customer changing hands: a transfer, a return to the public pool, a claim from it.")
class CustomerHandover(Node):
    kind: HandoverKind
    note: str | None
    occurred_at: datetime
    customer_id: strawberry.Private[uuid.UUID]
    from_member_id: strawberry.Private[uuid.UUID | None]
    to_member_id: strawberry.Private[uuid.UUID | None]
    actor_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field
    async def customer(self, info: Info[RequestContext, None]) -> Customer | None:
        return await customer_of(info.context, self.customer_id)

    @strawberry.field(description="The owner before (null: it was in the pool).")
    async def from_member(self, info: Info[RequestContext, None]) -> Member | None:
        return await member_of(info.context, self.from_member_id)

    @strawberry.field(description="The owner after (null: it went to the pool).")
    async def to_member(self, info: Info[RequestContext, None]) -> Member | None:
        return await member_of(info.context, self.to_member_id)

    @strawberry.field(description="Who made the change (null: the public pool job).")
    async def actor(self, info: Info[RequestContext, None]) -> Member | None:
        return await member_of(info.context, self.actor_id)

    @classmethod
    def from_model(cls, row: models.CustomerHandover) -> CustomerHandover:
        return cls(
            id=strawberry.ID(to_global_id("CustomerHandover", row.id)),
            kind=HandoverKind(row.kind),
            note=row.note,
            occurred_at=row.occurred_at,
            customer_id=row.customer_id,
            from_member_id=row.from_member_id,
            to_member_id=row.to_member_id,
            actor_id=row.actor_id,
        )


@strawberry.type(
    description="One line of a customer's timeline. `recordId` is the Node it stands for (an Activity, a Task, "
    "a CustomerHandover, …): read it with node(id)."
)
class TimelineEntry:
    kind: str = strawberry.field(
        description="ACTIVITY, TASK_CREATED, TASK_COMPLETED, TRANSFER, POOL_RETURN, CLAIM, STAGE_CHANGE (a StageChange of an "
        "opportunity), TICKET_OPENED, TICKET_COMMENTED (a TicketComment), TICKET_RESOLVED, or a kind a plugin writes, "
        "prefixed with its name (INS_CLAIM_REPORTED)."
    )
    occurred_at: datetime
    summary: str | None
    record_id: strawberry.ID
    actor_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field
    async def actor(self, info: Info[RequestContext, None]) -> Member | None:
        return await member_of(info.context, self.actor_id)


TimelineConnection = Connection[TimelineEntry]


@strawberry.type(description="The caller's open tasks: due before now, due later today (UTC), due after today.")
class Agenda:
    overdue: list[Task]
    today: list[Task]
    upcoming: list[Task]
