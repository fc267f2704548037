"""Follow-up mutations: thin wrappers over saas/followups/service.py and saas/followups/pool.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from saas.customers.graphql.types import Customer
from saas.followups import pool, service
from saas.followups.graphql.types import Activity, Task
from saas.followups.models import ActivityKind
from saas.schema.common import Payload, provided, referenced_id, referenced_ids, run_mutation, write_mutation
from saas.schema.context import RequestContext


@strawberry.input
class LogActivityInput:
    subject_id: strawberry.ID = strawberry.field(description="A Customer, Contact, Lead or Opportunity.")
    kind: ActivityKind
    summary: str
    occurred_at: datetime | None = strawberry.field(default=strawberry.UNSET, description="Defaults to now.")


@strawberry.input
class CreateTaskInput:
    subject_id: strawberry.ID = strawberry.field(description="A Customer, Contact, Lead or Opportunity.")
    title: str
    due_at: datetime
    remind_at: datetime | None = strawberry.UNSET
    assignee_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="A Member; the caller by default (sales reps: only themselves)."
    )


@strawberry.input
class CompleteTaskInput:
    id: strawberry.ID


@strawberry.input
class ClaimCustomersInput:
    ids: list[strawberry.ID]


@strawberry.input
class TransferCustomersInput:
    ids: list[strawberry.ID]
    to_member_id: strawberry.ID
    note: str | None = None


@strawberry.type
class LogActivityPayload(Payload):
    activity: Activity | None = None


@strawberry.type
class CreateTaskPayload(Payload):
    task: Task | None = None


@strawberry.type
class CompleteTaskPayload(Payload):
    task: Task | None = None


@strawberry.type
class ClaimCustomersPayload(Payload):
    customers: list[Customer] | None = None


@strawberry.type
class TransferCustomersPayload(Payload):
    customers: list[Customer] | None = None
    tasks: list[Task] | None = strawberry.field(default=None, description="The open tasks that moved with them.")


@strawberry.type
class FollowUpMutations:
    @strawberry.mutation(description="Records a call, e-mail, meeting, visit or note; the customer was contacted then.")
    async def log_activity(self, info: Info[RequestContext, None], input: LogActivityInput) -> LogActivityPayload:
        return await write_mutation(  # type: ignore[no-any-return]
            info.context, LogActivityPayload, lambda row: {"activity": Activity.from_model(row)},
            service.log_activity, provided(input),
        )  # fmt: skip

    @strawberry.mutation
    async def create_task(self, info: Info[RequestContext, None], input: CreateTaskInput) -> CreateTaskPayload:
        context = info.context

        async def run() -> dict[str, Any]:
            data = provided(input)
            if "assignee_id" in data:
                data["assignee_id"] = referenced_id(data["assignee_id"], "Member", "assigneeId")
            row = await context.write(service.create_task, context.require_principal(), data)
            return {"task": Task.from_model(row)}

        return await run_mutation(run, CreateTaskPayload)  # type: ignore[no-any-return]

    @strawberry.mutation
    async def complete_task(self, info: Info[RequestContext, None], input: CompleteTaskInput) -> CompleteTaskPayload:
        context = info.context

        async def run() -> dict[str, Any]:
            task_id = referenced_id(input.id, "Task", "id")
            row = await context.write(service.complete_task, context.require_principal(), task_id)
            return {"task": Task.from_model(row)}

        return await run_mutation(run, CompleteTaskPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Takes customers from the public pool: all or none, within the claim cap.")
    async def claim_customers(
        self, info: Info[RequestContext, None], input: ClaimCustomersInput
    ) -> ClaimCustomersPayload:
        context = info.context

        async def run() -> dict[str, Any]:
            ids = referenced_ids(input.ids, "Customer", "ids")
            rows = await context.write(pool.claim_customers, context.require_principal(), ids)
            return {"customers": [Customer.from_model(row) for row in rows]}

        return await run_mutation(run, ClaimCustomersPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Moves customers and their open tasks to another member; records the handover.")
    async def transfer_customers(
        self, info: Info[RequestContext, None], input: TransferCustomersInput
    ) -> TransferCustomersPayload:
        context = info.context

        async def run() -> dict[str, Any]:
            ids = referenced_ids(input.ids, "Customer", "ids")
            to_member = referenced_id(input.to_member_id, "Member", "toMemberId")
            rows, tasks = await context.write(
                pool.transfer_customers, context.require_principal(), ids, to_member, input.note
            )
            return {
                "customers": [Customer.from_model(row) for row in rows],
                "tasks": [Task.from_model(task) for task in tasks],
            }

        return await run_mutation(run, TransferCustomersPayload)  # type: ignore[no-any-return]
