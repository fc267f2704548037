"""GraphQL types of work orders (the ORM path builds them from rows)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from saas.accounts.graphql.loaders import member_of
from saas.accounts.graphql.types import Member
from saas.customers.graphql.loaders import customer_of
from saas.errors import BadUserInputError
from saas.schema.common import Node
from saas.schema.connections import CountedConnection
from saas.schema.context import RequestContext
from saas.schema.relay import decode_id, to_global_id
from saas.workorders import models
from saas.workorders.models import WorkOrderKind, WorkOrderStatus
from saas.workorders.rules import WorkOrderFilter

if TYPE_CHECKING:
    from saas.customers.graphql.types import Customer
    from saas.tickets.graphql.types import Ticket

CustomerRef = Annotated["Customer", strawberry.lazy("saas.customers.graphql.types")]

strawberry.enum(WorkOrderKind, name="WorkOrderKind", description="What the technician goes to do.")
strawberry.enum(
    WorkOrderStatus, name="WorkOrderStatus", description="SCHEDULED → COMPLETED (hours worked) or CANCELLED."
)


@strawberry.type(description="A technician's visit to a customer: on-site testing, installation, a demo or a repair.")
class WorkOrder(Node):
    kind: WorkOrderKind
    status: WorkOrderStatus
    starts_at: datetime
    ends_at: datetime
    hours_worked: Decimal | None = strawberry.field(description='Set on completion, e.g. "2.50".')
    report: str | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    created_at: datetime
    customer_id: strawberry.Private[uuid.UUID]
    technician_id: strawberry.Private[uuid.UUID]
    ticket_id: strawberry.Private[uuid.UUID | None] = None

    @strawberry.field(description="The ticket it serves; null when none or not visible.")
    async def ticket(
        self, info: Info[RequestContext, None]
    ) -> Annotated[Ticket, strawberry.lazy("saas.tickets.graphql.types")] | None:
        from saas.tickets.graphql.loaders import linked_ticket

        return await linked_ticket(info.context, self.ticket_id)

    @strawberry.field
    async def customer(self, info: Info[RequestContext, None]) -> CustomerRef | None:
        return await customer_of(info.context, self.customer_id)

    @strawberry.field
    async def technician(self, info: Info[RequestContext, None]) -> Member | None:
        return await member_of(info.context, self.technician_id)

    @classmethod
    def from_model(cls, row: models.WorkOrder) -> WorkOrder:
        return cls(
            id=strawberry.ID(to_global_id("WorkOrder", row.id)),
            kind=WorkOrderKind(row.kind),
            status=WorkOrderStatus(row.status),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            hours_worked=row.hours_worked,
            report=row.report,
            completed_at=row.completed_at,
            cancelled_at=row.cancelled_at,
            created_at=row.created_at,
            customer_id=row.customer_id,
            technician_id=row.technician_id,
            ticket_id=row.ticket_id,
        )


WorkOrderConnection = CountedConnection[WorkOrder]


@strawberry.input(description="All given conditions must hold; `from`/`to`: work orders overlapping the window.")
class WorkOrderFilterInput:
    technician_id: strawberry.ID | None = None
    customer_id: strawberry.ID | None = None
    from_: datetime | None = strawberry.field(default=None, name="from", description="Ending after this.")
    to: datetime | None = strawberry.field(default=None, description="Starting before this.")
    status: WorkOrderStatus | None = None

    def to_rule(self) -> WorkOrderFilter:
        if self.from_ is not None and self.to is not None and self.to <= self.from_:
            raise BadUserInputError("filter.to must be after filter.from", argument="filter")
        return WorkOrderFilter(
            technician_id=decode_id(self.technician_id, "Member") if self.technician_id else None,
            customer_id=decode_id(self.customer_id, "Customer") if self.customer_id else None,
            ends_after=self.from_,
            starts_before=self.to,
            status=self.status,
        )
