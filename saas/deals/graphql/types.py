"""GraphQL types of the pipeline and the after-sale records (the ORM path builds them from rows).

Compiled reads (saas/deals/graphql/sql.py) write the same fields from SQL; nested objects and
lists here resolve through the request's loaders (saas/deals/graphql/loaders.py), so a page of
parents costs one statement per nested level.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Annotated, Protocol, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from saas.accounts.graphql.loaders import member_of
from saas.auth.permissions import Role
from saas.custom_fields.graphql.types import CustomFieldFilterInput
from saas.custom_fields.rules import custom_field_condition, custom_field_filter
from saas.customers.graphql.loaders import customer_of
from saas.customers.rules import SqlCondition
from saas.deals import models
from saas.deals.models import InvoiceStatus, OpportunityStatus, StageKind
from saas.money import CENT
from saas.schema.common import Node
from saas.schema.connections import CountedConnection
from saas.schema.context import RequestContext
from saas.schema.payload_writer import held
from saas.schema.relay import decode_id, to_global_id
from saas.sensitive.rules import shown_custom_fields

if TYPE_CHECKING:
    from saas.accounts.graphql.types import Member
    from saas.customers.graphql.types import Customer
    from saas.products.graphql.types import Product

strawberry.enum(StageKind, name="StageKind")
strawberry.enum(OpportunityStatus, name="OpportunityStatus")
strawberry.enum(InvoiceStatus, name="InvoiceStatus")

CustomerRef = Annotated["Customer", strawberry.lazy("saas.customers.graphql.types")]
MemberRef = Annotated["Member", strawberry.lazy("saas.accounts.graphql.types")]
ProductRef = Annotated["Product", strawberry.lazy("saas.products.graphql.types")]


def weighted_amount(amount: Decimal, probability: Decimal) -> Decimal:
    """amount x probability (a percentage), to the cent, half up: the SQL's `weighted_amount_sql`."""
    return (amount * probability / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def _today() -> date:
    return datetime.now(UTC).date()


class AfterSaleRecord(Protocol):
    """What the after-sale records (contracts, orders, plans, invoices) share: their customer and contract."""

    customer_id: uuid.UUID
    contract_id: uuid.UUID


async def customer_of_record(root: strawberry.Parent[AfterSaleRecord], info: Info[RequestContext, None]) -> CustomerRef:
    """The record's customer (visible: the record is visible with it)."""
    return await customer_of(info.context, root.customer_id)  # type: ignore[return-value]


async def contract_of_record(root: strawberry.Parent[AfterSaleRecord], info: Info[RequestContext, None]) -> Contract:
    """The contract a payment plan or an invoice is under."""
    from saas.deals.graphql.loaders import contract_loader

    return await contract_loader(info.context).load(root.contract_id)  # type: ignore[return-value]


@strawberry.type(description="A step of the tenant's pipeline; an opportunity's status is its stage's kind.")
class PipelineStage(Node):
    name: str
    probability: Decimal = strawberry.field(description='Percent, 0 to 100 with two decimals, e.g. "10.00".')
    kind: StageKind
    position: int = strawberry.field(description="Stages are listed by position, then by creation.")
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, row: models.PipelineStage) -> PipelineStage:
        return cls(
            id=strawberry.ID(to_global_id("PipelineStage", row.id)),
            name=row.name,
            probability=row.probability,
            kind=StageKind(row.kind),
            position=row.position,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type(description="One move of an opportunity between stages (the first entry has no `fromStage`).")
class StageChange(Node):
    changed_at: datetime
    reason: str | None
    from_stage_id: strawberry.Private[uuid.UUID | None]
    to_stage_id: strawberry.Private[uuid.UUID]
    changed_by_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field
    async def from_stage(self, info: Info[RequestContext, None]) -> PipelineStage | None:
        from saas.deals.graphql.loaders import stage_loader

        return None if self.from_stage_id is None else await stage_loader(info.context).load(self.from_stage_id)

    @strawberry.field
    async def to_stage(self, info: Info[RequestContext, None]) -> PipelineStage:
        from saas.deals.graphql.loaders import stage_loader

        return await stage_loader(info.context).load(self.to_stage_id)  # type: ignore[return-value]

    @strawberry.field(description="The member who moved it (null for an API key).")
    async def changed_by(self, info: Info[RequestContext, None]) -> MemberRef | None:
        return await member_of(info.context, self.changed_by_id)

    @classmethod
    def from_model(cls, row: models.StageChange) -> StageChange:
        return cls(
            id=strawberry.ID(to_global_id("StageChange", row.id)),
            changed_at=row.changed_at,
            reason=row.reason,
            from_stage_id=row.from_stage_id,
            to_stage_id=row.to_stage_id,
            changed_by_id=row.changed_by_id,
        )


@strawberry.type(description="A possible sale to a customer, moving through the pipeline's stages.")
class Opportunity(Node):
    name: str
    amount: Decimal
    currency: str = strawberry.field(description="ISO 4217, e.g. EUR.")
    expected_close_on: date | None
    status: OpportunityStatus = strawberry.field(description="The kind of its stage.")
    closed_at: datetime | None = strawberry.field(description="When it reached a WON or LOST stage.")
    custom_fields: JSON = strawberry.field(description="The tenant's custom fields of opportunities, by key.")
    version: int = strawberry.field(description="Pass it back to updates; a stale one fails with CONFLICT.")
    created_at: datetime
    updated_at: datetime
    raw_id: strawberry.Private[uuid.UUID]
    customer_id: strawberry.Private[uuid.UUID]
    owner_id: strawberry.Private[uuid.UUID | None]
    stage_id: strawberry.Private[uuid.UUID]
    # The stage a write read with the row (a move reads its target stage in its statement).
    held_stage: strawberry.Private[PipelineStage | None] = None

    @strawberry.field(description="amount x the stage's probability, to the cent (half up).")
    async def weighted_amount(self, info: Info[RequestContext, None]) -> Decimal:
        from saas.deals.graphql.loaders import stage_loader

        # The stage the object holds is its own (a write sets `held_stage` only to the stage of
        # `stage_id`), so `stage` and this field answer from the same stage.
        stage = self.held_stage
        if stage is None:
            stage = await stage_loader(info.context).load(self.stage_id)
        assert stage is not None
        return weighted_amount(self.amount, stage.probability)

    @strawberry.field
    @held("held_stage")
    async def stage(self, info: Info[RequestContext, None]) -> PipelineStage:
        from saas.deals.graphql.loaders import stage_loader

        return await stage_loader(info.context).load(self.stage_id)  # type: ignore[return-value]

    @strawberry.field(description="Whoever sees the opportunity sees whom it is with.")
    async def customer(self, info: Info[RequestContext, None]) -> CustomerRef:
        from saas.deals.graphql.loaders import any_customer_loader

        return await any_customer_loader(info.context).load(self.customer_id)  # type: ignore[return-value]

    @strawberry.field
    async def owner(self, info: Info[RequestContext, None]) -> MemberRef | None:
        return await member_of(info.context, self.owner_id)

    @strawberry.field(description="Every stage change, oldest first.")
    async def stage_history(self, info: Info[RequestContext, None]) -> list[StageChange]:
        from saas.deals.graphql.loaders import stage_history_loader

        return await stage_history_loader(info.context).load(self.raw_id)

    @classmethod
    def from_model(cls, row: models.Opportunity) -> Opportunity:
        return cls(
            id=strawberry.ID(to_global_id("Opportunity", row.id)),
            name=row.name,
            amount=row.amount,
            currency=row.currency,
            expected_close_on=row.expected_close_on,
            status=OpportunityStatus(row.status),
            closed_at=row.closed_at,
            custom_fields=cast(JSON, shown_custom_fields(row.custom_fields)),
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            raw_id=row.id,
            customer_id=row.customer_id,
            owner_id=row.owner_id,
            stage_id=row.stage_id,
        )


@strawberry.type(description="A signed agreement from a won opportunity.")
class Contract(Node):
    number: str = strawberry.field(description="Unique within the tenant.")
    amount: Decimal
    currency: str
    starts_on: date
    ends_on: date | None
    created_at: datetime
    raw_id: strawberry.Private[uuid.UUID]
    customer_id: strawberry.Private[uuid.UUID]
    opportunity_id: strawberry.Private[uuid.UUID]

    @strawberry.field(
        description="The amounts of its invoices that are requested, approved or issued (rejected ones free theirs)."
    )
    async def invoiced_amount(self, info: Info[RequestContext, None]) -> Decimal:
        from saas.deals.graphql.loaders import invoiced_amount_loader

        return await invoiced_amount_loader(info.context).load(self.raw_id)

    @strawberry.field(description="amount - invoicedAmount: what invoice requests may still ask for.")
    async def uninvoiced_amount(self, info: Info[RequestContext, None]) -> Decimal:
        from saas.deals.graphql.loaders import invoiced_amount_loader

        return self.amount - await invoiced_amount_loader(info.context).load(self.raw_id)

    customer = strawberry.field(resolver=customer_of_record)

    @strawberry.field(description="The won opportunity; null when the caller does not see it (another rep's).")
    async def opportunity(self, info: Info[RequestContext, None]) -> Opportunity | None:
        from saas.deals.graphql.loaders import opportunity_loader

        return await opportunity_loader(info.context).load(self.opportunity_id)

    @classmethod
    def from_model(cls, row: models.Contract) -> Contract:
        return cls(
            id=strawberry.ID(to_global_id("Contract", row.id)),
            number=row.number,
            amount=row.amount,
            currency=row.currency,
            starts_on=row.starts_on,
            ends_on=row.ends_on,
            created_at=row.created_at,
            raw_id=row.id,
            customer_id=row.customer_id,
            opportunity_id=row.opportunity_id,
        )


@strawberry.type(description="A product on an order: quantity x unit price.")
class OrderLine(Node):
    position: int
    quantity: int
    unit_price: Decimal
    amount: Decimal = strawberry.field(description="quantity x unitPrice.")
    product_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def product(self, info: Info[RequestContext, None]) -> ProductRef:
        from saas.deals.graphql.loaders import product_loader

        return await product_loader(info.context).load(self.product_id)  # type: ignore[return-value]

    @classmethod
    def from_model(cls, row: models.OrderLine) -> OrderLine:
        return cls(
            id=strawberry.ID(to_global_id("OrderLine", row.id)),
            position=row.position,
            quantity=row.quantity,
            unit_price=row.unit_price,
            amount=row.amount,
            product_id=row.product_id,
        )


@strawberry.type(description="Products ordered by a customer, optionally under a contract.")
class Order(Node):
    currency: str
    total: Decimal = strawberry.field(description="The sum of the lines' amounts.")
    created_at: datetime
    raw_id: strawberry.Private[uuid.UUID]
    customer_id: strawberry.Private[uuid.UUID]
    contract_id: strawberry.Private[uuid.UUID | None]

    customer = strawberry.field(resolver=customer_of_record)

    @strawberry.field
    async def contract(self, info: Info[RequestContext, None]) -> Contract | None:
        from saas.deals.graphql.loaders import contract_loader

        return None if self.contract_id is None else await contract_loader(info.context).load(self.contract_id)

    @strawberry.field
    async def lines(self, info: Info[RequestContext, None]) -> list[OrderLine]:
        from saas.deals.graphql.loaders import order_lines_loader

        return await order_lines_loader(info.context).load(self.raw_id)

    @classmethod
    def from_model(cls, row: models.Order) -> Order:
        return cls(
            id=strawberry.ID(to_global_id("Order", row.id)),
            currency=row.currency,
            total=row.total,
            created_at=row.created_at,
            raw_id=row.id,
            customer_id=row.customer_id,
            contract_id=row.contract_id,
        )


@strawberry.type(description="Money received towards an installment.")
class Payment(Node):
    amount: Decimal
    received_on: date
    created_at: datetime
    installment_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The installment it pays, with what it has received since.")
    async def installment(self, info: Info[RequestContext, None]) -> Installment:
        from saas.deals.graphql.loaders import installment_loader

        return await installment_loader(info.context).load(self.installment_id)  # type: ignore[return-value]

    @classmethod
    def from_model(cls, row: models.Payment) -> Payment:
        return cls(
            id=strawberry.ID(to_global_id("Payment", row.id)),
            amount=row.amount,
            received_on=row.received_on,
            created_at=row.created_at,
            installment_id=row.installment_id,
        )


@strawberry.type(description="One due date and amount of a payment plan.")
class Installment(Node):
    position: int
    due_on: date
    amount: Decimal
    received_amount: Decimal = strawberry.field(description="The sum of its payments.")
    outstanding_amount: Decimal = strawberry.field(description="amount - receivedAmount.")
    overdue: bool = strawberry.field(description="Past its due date (before today, UTC) and not fully paid.")
    raw_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="Oldest first.")
    async def payments(self, info: Info[RequestContext, None]) -> list[Payment]:
        from saas.deals.graphql.loaders import payments_loader

        return await payments_loader(info.context).load(self.raw_id)

    @classmethod
    def from_model(cls, row: models.Installment) -> Installment:
        return cls(
            id=strawberry.ID(to_global_id("Installment", row.id)),
            position=row.position,
            due_on=row.due_on,
            amount=row.amount,
            received_amount=row.received_amount,
            outstanding_amount=row.amount - row.received_amount,
            overdue=row.due_on < _today() and row.received_amount < row.amount,
            raw_id=row.id,
        )


@strawberry.type(description="How a contract's amount is collected: installments that add up to it.")
class PaymentPlan(Node):
    currency: str
    total: Decimal = strawberry.field(description="The contract's amount: the sum of the installments.")
    created_at: datetime
    raw_id: strawberry.Private[uuid.UUID]
    customer_id: strawberry.Private[uuid.UUID]
    contract_id: strawberry.Private[uuid.UUID]

    contract = strawberry.field(resolver=contract_of_record)

    customer = strawberry.field(resolver=customer_of_record)

    @strawberry.field(description="By due date.")
    async def installments(self, info: Info[RequestContext, None]) -> list[Installment]:
        from saas.deals.graphql.loaders import installments_loader

        return await installments_loader(info.context).load(self.raw_id)

    @classmethod
    def from_model(cls, row: models.PaymentPlan) -> PaymentPlan:
        return cls(
            id=strawberry.ID(to_global_id("PaymentPlan", row.id)),
            currency=row.currency,
            total=row.total,
            created_at=row.created_at,
            raw_id=row.id,
            customer_id=row.customer_id,
            contract_id=row.contract_id,
        )


@strawberry.type(description="An invoice request: REQUESTED → APPROVED → ISSUED, or REJECTED.")
class Invoice(Node):
    amount: Decimal
    currency: str
    status: InvoiceStatus
    number: str | None = strawberry.field(description="Given when issued; unique within the tenant.")
    requested_at: datetime
    decided_at: datetime | None = strawberry.field(description="When it was approved or rejected.")
    rejection_reason: str | None
    issued_at: datetime | None
    version: int
    customer_id: strawberry.Private[uuid.UUID]
    contract_id: strawberry.Private[uuid.UUID]
    requested_by_id: strawberry.Private[uuid.UUID | None]
    decided_by_id: strawberry.Private[uuid.UUID | None]

    contract = strawberry.field(resolver=contract_of_record)

    customer = strawberry.field(resolver=customer_of_record)

    @strawberry.field
    async def requested_by(self, info: Info[RequestContext, None]) -> MemberRef | None:
        return await member_of(info.context, self.requested_by_id)

    @strawberry.field
    async def decided_by(self, info: Info[RequestContext, None]) -> MemberRef | None:
        return await member_of(info.context, self.decided_by_id)

    @classmethod
    def from_model(cls, row: models.Invoice) -> Invoice:
        return cls(
            id=strawberry.ID(to_global_id("Invoice", row.id)),
            amount=row.amount,
            currency=row.currency,
            status=InvoiceStatus(row.status),
            number=row.number,
            requested_at=row.requested_at,
            decided_at=row.decided_at,
            rejection_reason=row.rejection_reason,
            issued_at=row.issued_at,
            version=row.version,
            customer_id=row.customer_id,
            contract_id=row.contract_id,
            requested_by_id=row.requested_by_id,
            decided_by_id=row.decided_by_id,
        )


@strawberry.type(description="The tenant's settings of the after-sale processes.")
class DealSettings:
    invoice_approver_roles: list[Role] = strawberry.field(
        description="Members with one of these roles approve or reject invoice requests (not their own)."
    )

    @classmethod
    def from_model(cls, row: models.DealSettings) -> DealSettings:
        return cls(invoice_approver_roles=[Role(r) for r in row.invoice_approver_roles])


OpportunityConnection = CountedConnection[Opportunity]
InvoiceConnection = CountedConnection[Invoice]


# List filters of opportunities and invoices, as SQL conditions added to the visibility rule.
@strawberry.input(description="All given conditions must hold.")
class OpportunityFilterInput:
    customer_id: strawberry.ID | None = None
    owner_id: strawberry.ID | None = strawberry.field(default=None, description="A Member id.")
    stage_id: strawberry.ID | None = None
    status: OpportunityStatus | None = None
    custom_field: CustomFieldFilterInput | None = strawberry.field(
        default=None, description="Opportunities whose custom field `key` has the value `equals`."
    )

    def apply(self, condition: SqlCondition, alias: str) -> None:
        condition.given(
            f"{alias}.customer_id", "f_customer_id", self.customer_id, convert=lambda v: decode_id(v, "Customer")
        )
        condition.given(f"{alias}.owner_id", "f_owner_id", self.owner_id, convert=lambda v: decode_id(v, "Member"))
        condition.given(
            f"{alias}.stage_id", "f_stage_id", self.stage_id, convert=lambda v: decode_id(v, "PipelineStage")
        )
        condition.given(f"{alias}.status", "f_status", self.status, convert=lambda v: OpportunityStatus(v).value)
        if self.custom_field is not None:
            flt = custom_field_filter(self.custom_field.key, self.custom_field.equals)
            custom_field_condition(condition, alias, flt)


@strawberry.input(description="All given conditions must hold.")
class InvoiceFilterInput:
    customer_id: strawberry.ID | None = None
    contract_id: strawberry.ID | None = None
    status: InvoiceStatus | None = None

    def apply(self, condition: SqlCondition, alias: str) -> None:
        condition.given(
            f"{alias}.customer_id", "f_customer_id", self.customer_id, convert=lambda v: decode_id(v, "Customer")
        )
        condition.given(
            f"{alias}.contract_id", "f_contract_id", self.contract_id, convert=lambda v: decode_id(v, "Contract")
        )
        condition.given(f"{alias}.status", "f_status", self.status, convert=lambda v: InvoiceStatus(v).value)
