"""GraphQL types of returns (the ORM path builds them from rows)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from saas.customers.graphql.loaders import customer_of
from saas.returns import models
from saas.returns.models import ReturnStatus
from saas.returns.rules import ReturnFilter
from saas.schema.common import Node
from saas.schema.connections import CountedConnection
from saas.schema.context import RequestContext
from saas.schema.relay import decode_id, to_global_id

if TYPE_CHECKING:
    from saas.customers.graphql.types import Customer
    from saas.deals.graphql.types import Order, OrderLine
    from saas.products.graphql.types import Product

CustomerRef = Annotated["Customer", strawberry.lazy("saas.customers.graphql.types")]
OrderRef = Annotated["Order", strawberry.lazy("saas.deals.graphql.types")]
OrderLineRef = Annotated["OrderLine", strawberry.lazy("saas.deals.graphql.types")]
ProductRef = Annotated["Product", strawberry.lazy("saas.products.graphql.types")]

strawberry.enum(
    ReturnStatus,
    name="ReturnStatus",
    description="REQUESTED → APPROVED → RECEIVED → REFUNDED; REQUESTED or APPROVED → REJECTED.",
)


@strawberry.type(description="How many of one order line come back, and what they were sold for.")
class ReturnLine(Node):
    position: int
    quantity: int
    amount: Decimal = strawberry.field(description="quantity x the order line's unit price.")
    order_line_id: strawberry.Private[uuid.UUID]
    product_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def order_line(self, info: Info[RequestContext, None]) -> OrderLineRef | None:
        from saas.deals.graphql.loaders import order_line_loader

        return await order_line_loader(info.context).load(self.order_line_id)

    @strawberry.field
    async def product(self, info: Info[RequestContext, None]) -> ProductRef:
        from saas.deals.graphql.loaders import product_loader

        return await product_loader(info.context).load(self.product_id)  # type: ignore[return-value]

    @classmethod
    def from_model(cls, row: models.ReturnLine) -> ReturnLine:
        return cls(
            id=strawberry.ID(to_global_id("ReturnLine", row.id)),
            position=row.position,
            quantity=row.quantity,
            amount=row.amount,
            order_line_id=row.order_line_id,
            product_id=row.product_id,
        )


@strawberry.type(description="Goods of one order coming back from the customer.")
class ReturnRequest(Node):
    status: ReturnStatus
    reason: str
    rejection_reason: str | None
    currency: str = strawberry.field(description="The order's (ISO 4217).")
    value: Decimal = strawberry.field(description="What the returned lines were sold for: the most a refund may be.")
    refunded_amount: Decimal | None
    approved_at: datetime | None
    received_at: datetime | None
    refunded_at: datetime | None
    rejected_at: datetime | None
    created_at: datetime
    updated_at: datetime
    raw_id: strawberry.Private[uuid.UUID]
    order_id: strawberry.Private[uuid.UUID]
    customer_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def order(self, info: Info[RequestContext, None]) -> OrderRef | None:
        from saas.deals.graphql.loaders import order_loader

        return await order_loader(info.context).load(self.order_id)

    @strawberry.field
    async def customer(self, info: Info[RequestContext, None]) -> CustomerRef | None:
        return await customer_of(info.context, self.customer_id)

    @strawberry.field
    async def lines(self, info: Info[RequestContext, None]) -> list[ReturnLine]:
        from saas.returns.graphql.loaders import return_lines_loader

        return await return_lines_loader(info.context).load(self.raw_id)

    @classmethod
    def from_model(cls, row: models.ReturnRequest) -> ReturnRequest:
        return cls(
            id=strawberry.ID(to_global_id("ReturnRequest", row.id)),
            status=ReturnStatus(row.status),
            reason=row.reason,
            rejection_reason=row.rejection_reason,
            currency=row.currency,
            value=row.value,
            refunded_amount=row.refunded_amount,
            approved_at=row.approved_at,
            received_at=row.received_at,
            refunded_at=row.refunded_at,
            rejected_at=row.rejected_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            raw_id=row.id,
            order_id=row.order_id,
            customer_id=row.customer_id,
        )


ReturnRequestConnection = CountedConnection[ReturnRequest]


@strawberry.input(description="All given conditions must hold.")
class ReturnFilterInput:
    status: ReturnStatus | None = None
    order_id: strawberry.ID | None = None
    customer_id: strawberry.ID | None = None

    def to_rule(self) -> ReturnFilter:
        return ReturnFilter(
            status=self.status,
            order_id=decode_id(self.order_id, "Order") if self.order_id else None,
            customer_id=decode_id(self.customer_id, "Customer") if self.customer_id else None,
        )
