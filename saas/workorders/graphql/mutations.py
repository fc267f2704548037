"""Work order mutations: thin wrappers over saas/workorders/service.py."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.types import Info

from saas.schema.common import Payload, referenced_id, run_mutation
from saas.schema.context import RequestContext
from saas.workorders import service
from saas.workorders.graphql.types import WorkOrder
from saas.workorders.models import WorkOrderKind


@strawberry.input
class CreateWorkOrderInput:
    customer_id: strawberry.ID
    kind: WorkOrderKind
    technician_id: strawberry.ID = strawberry.field(description="A Member id.")
    starts_at: datetime
    ends_at: datetime
    ticket_id: strawberry.ID | None = strawberry.field(default=None, description="A ticket of the same customer.")


@strawberry.input
class CompleteWorkOrderInput:
    id: strawberry.ID
    hours_worked: Decimal
    report: str | None = None


@strawberry.input
class CancelWorkOrderInput:
    id: strawberry.ID


@strawberry.type
class WorkOrderPayload(Payload):
    work_order: WorkOrder | None = None


def _result(row: Any) -> dict[str, Any]:
    return {"work_order": WorkOrder.from_model(row)}


@strawberry.type
class WorkOrderMutations:
    @strawberry.mutation(
        description="A SCHEDULED work order; OVERLAP when the technician already has one at that time "
        "(also when booked at the same moment). The technician is notified."
    )
    async def create_work_order(
        self, info: Info[RequestContext, None], input: CreateWorkOrderInput
    ) -> WorkOrderPayload:
        async def run() -> dict[str, Any]:
            data = {
                "customer_id": referenced_id(input.customer_id, "Customer", "customerId"),
                "technician_id": referenced_id(input.technician_id, "Member", "technicianId"),
                "kind": WorkOrderKind(input.kind).value,
                "starts_at": input.starts_at,
                "ends_at": input.ends_at,
                "ticket_id": referenced_id(input.ticket_id, "Ticket", "ticketId"),
            }
            return _result(await info.context.write(service.create_work_order, info.context.require_principal(), data))

        return await run_mutation(run, WorkOrderPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="SCHEDULED → COMPLETED with the hours worked and a report.")
    async def complete_work_order(
        self, info: Info[RequestContext, None], input: CompleteWorkOrderInput
    ) -> WorkOrderPayload:
        async def run() -> dict[str, Any]:
            raw_id = referenced_id(input.id, "WorkOrder", "id")
            principal = info.context.require_principal()
            work = service.complete_work_order
            return _result(await info.context.write(work, principal, raw_id, input.hours_worked, input.report))

        return await run_mutation(run, WorkOrderPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="SCHEDULED → CANCELLED: the technician's slot is free again.")
    async def cancel_work_order(
        self, info: Info[RequestContext, None], input: CancelWorkOrderInput
    ) -> WorkOrderPayload:
        async def run() -> dict[str, Any]:
            raw_id = referenced_id(input.id, "WorkOrder", "id")
            return _result(
                await info.context.write(service.cancel_work_order, info.context.require_principal(), raw_id)
            )

        return await run_mutation(run, WorkOrderPayload)  # type: ignore[no-any-return]
