"""Return mutations: thin wrappers over saas/returns/service.py."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import strawberry
from strawberry.types import Info

from saas.returns import service
from saas.returns.graphql.types import ReturnRequest
from saas.schema.common import Payload, referenced_id, run_mutation
from saas.schema.context import RequestContext


@strawberry.input
class ReturnLineInput:
    order_line_id: strawberry.ID
    quantity: int


@strawberry.input
class CreateReturnRequestInput:
    order_id: strawberry.ID
    lines: list[ReturnLineInput]
    reason: str


@strawberry.input
class ApproveReturnInput:
    id: strawberry.ID


@strawberry.input
class RejectReturnInput:
    id: strawberry.ID
    reason: str


@strawberry.input
class ReceiveReturnInput:
    id: strawberry.ID


@strawberry.input
class RefundReturnInput:
    id: strawberry.ID
    amount: Decimal = strawberry.field(description="In the order's currency; at most the return's value.")


@strawberry.type
class ReturnRequestPayload(Payload):
    return_request: ReturnRequest | None = None


def _result(row: Any) -> dict[str, Any]:
    return {"return_request": ReturnRequest.from_model(row)}


async def _change(info: Info[RequestContext, None], raw: strawberry.ID, work: Any, *args: Any) -> ReturnRequestPayload:
    async def run() -> dict[str, Any]:
        raw_id = referenced_id(raw, "ReturnRequest", "id")
        return _result(await info.context.write(work, info.context.require_principal(), raw_id, *args))

    return await run_mutation(run, ReturnRequestPayload)  # type: ignore[no-any-return]


@strawberry.type
class ReturnMutations:
    @strawberry.mutation(
        description="A REQUESTED return of order lines: each at most ordered minus already requested "
        "(QUANTITY_EXCEEDED), also under concurrent requests."
    )
    async def create_return_request(
        self, info: Info[RequestContext, None], input: CreateReturnRequestInput
    ) -> ReturnRequestPayload:
        async def run() -> dict[str, Any]:
            data = {
                "order_id": referenced_id(input.order_id, "Order", "orderId"),
                "reason": input.reason,
                "lines": [
                    {
                        "order_line_id": referenced_id(line.order_line_id, "OrderLine", "lines", index, "orderLineId"),
                        "quantity": line.quantity,
                    }
                    for index, line in enumerate(input.lines)
                ],
            }
            return _result(
                await info.context.write(service.create_return_request, info.context.require_principal(), data)
            )

        return await run_mutation(run, ReturnRequestPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="REQUESTED → APPROVED; otherwise INVALID_TRANSITION.")
    async def approve_return(self, info: Info[RequestContext, None], input: ApproveReturnInput) -> ReturnRequestPayload:
        return await _change(info, input.id, service.approve_return)

    @strawberry.mutation(description="REQUESTED or APPROVED → REJECTED, with a reason; its quantities are freed.")
    async def reject_return(self, info: Info[RequestContext, None], input: RejectReturnInput) -> ReturnRequestPayload:
        return await _change(info, input.id, service.reject_return, input.reason)

    @strawberry.mutation(description="APPROVED → RECEIVED: the goods are back (event `return.received`).")
    async def receive_return(self, info: Info[RequestContext, None], input: ReceiveReturnInput) -> ReturnRequestPayload:
        return await _change(info, input.id, service.receive_return)

    @strawberry.mutation(
        description="RECEIVED → REFUNDED with the amount refunded: above zero, at most the return's value "
        "(REFUND_EXCEEDED)."
    )
    async def refund_return(self, info: Info[RequestContext, None], input: RefundReturnInput) -> ReturnRequestPayload:
        return await _change(info, input.id, service.refund_return, input.amount)
