"""Pipeline and after-sale mutations: thin wrappers over saas/deals/service."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from saas.auth.permissions import Role
from saas.deals import service
from saas.deals.graphql.types import (
    Contract,
    DealSettings,
    Invoice,
    Opportunity,
    Order,
    Payment,
    PaymentPlan,
    PipelineStage,
)
from saas.deals.models import StageKind
from saas.schema.common import Payload, provided, referenced_fields, referenced_id, write_mutation
from saas.schema.context import RequestContext


@strawberry.input
class CreatePipelineStageInput:
    name: str
    probability: Decimal = strawberry.field(description='Percent, 0 to 100, e.g. "25".')
    kind: StageKind
    position: int | None = strawberry.field(default=strawberry.UNSET, description="After the last stage when left out.")


@strawberry.input(description="Fields left out stay as they are; a stage's kind does not change.")
class UpdatePipelineStageInput:
    id: strawberry.ID
    version: int
    name: str | None = strawberry.UNSET
    probability: Decimal | None = strawberry.UNSET
    position: int | None = strawberry.UNSET


@strawberry.input
class UpdateDealSettingsInput:
    invoice_approver_roles: list[Role]


@strawberry.input
class CreateOpportunityInput:
    customer_id: strawberry.ID
    name: str
    amount: Decimal
    currency: str = strawberry.field(description="ISO 4217, e.g. EUR.")
    expected_close_on: date | None = None
    stage_id: strawberry.ID | None = strawberry.field(default=None, description="The first open stage when left out.")
    owner_id: strawberry.ID | None = strawberry.field(
        default=None, description="A Member id; the caller when left out (sales reps own what they create)."
    )
    custom_fields: JSON | None = strawberry.field(
        default=strawberry.UNSET, description="Values of the tenant's custom fields of opportunities, by key."
    )


@strawberry.input(description="Fields left out stay as they are; `version` must be the current one.")
class UpdateOpportunityInput:
    id: strawberry.ID
    version: int
    name: str | None = strawberry.UNSET
    amount: Decimal | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET
    expected_close_on: date | None = strawberry.UNSET
    owner_id: strawberry.ID | None = strawberry.UNSET
    custom_fields: JSON | None = strawberry.field(
        default=strawberry.UNSET, description="Keys given are set, a key set to null is cleared, the others stay."
    )


@strawberry.input
class MoveOpportunityInput:
    id: strawberry.ID
    stage_id: strawberry.ID
    reason: str | None = strawberry.field(default=None, description="Required when the stage is LOST.")
    version: int | None = strawberry.field(default=None, description="When given, a stale one fails with CONFLICT.")


@strawberry.input
class CreateContractInput:
    opportunity_id: strawberry.ID
    number: str
    amount: Decimal
    currency: str
    starts_on: date
    ends_on: date | None = None


@strawberry.input
class OrderLineInput:
    product_id: strawberry.ID
    quantity: int
    unit_price: Decimal | None = strawberry.field(default=None, description="The product's price when left out.")


@strawberry.input
class CreateOrderInput:
    customer_id: strawberry.ID
    contract_id: strawberry.ID | None = None
    lines: list[OrderLineInput]


@strawberry.input
class InstallmentInput:
    due_on: date
    amount: Decimal


@strawberry.input
class CreatePaymentPlanInput:
    contract_id: strawberry.ID
    installments: list[InstallmentInput] = strawberry.field(description="They must add up to the contract's amount.")


@strawberry.input
class RecordPaymentInput:
    installment_id: strawberry.ID
    amount: Decimal
    received_on: date


@strawberry.input
class RequestInvoiceInput:
    contract_id: strawberry.ID
    amount: Decimal = strawberry.field(description="At most the contract's uninvoicedAmount.")


@strawberry.input
class ApproveInvoiceInput:
    id: strawberry.ID
    version: int | None = None


@strawberry.input
class RejectInvoiceInput:
    id: strawberry.ID
    reason: str
    version: int | None = None


@strawberry.input
class IssueInvoiceInput:
    id: strawberry.ID
    number: str
    version: int | None = None


@strawberry.type
class PipelineStagePayload(Payload):
    pipeline_stage: PipelineStage | None = None


@strawberry.type
class CreatePipelineStagePayload(PipelineStagePayload):
    pass


@strawberry.type
class UpdatePipelineStagePayload(PipelineStagePayload):
    pass


@strawberry.type
class UpdateDealSettingsPayload(Payload):
    deal_settings: DealSettings | None = None


@strawberry.type
class OpportunityPayload(Payload):
    opportunity: Opportunity | None = None


@strawberry.type
class CreateOpportunityPayload(OpportunityPayload):
    pass


@strawberry.type
class UpdateOpportunityPayload(OpportunityPayload):
    pass


@strawberry.type
class MoveOpportunityPayload(OpportunityPayload):
    pass


@strawberry.type
class CreateContractPayload(Payload):
    contract: Contract | None = None


@strawberry.type
class CreateOrderPayload(Payload):
    order: Order | None = None


@strawberry.type
class CreatePaymentPlanPayload(Payload):
    payment_plan: PaymentPlan | None = None


@strawberry.type
class RecordPaymentPayload(Payload):
    payment: Payment | None = None


@strawberry.type
class InvoicePayload(Payload):
    invoice: Invoice | None = None


@strawberry.type
class RequestInvoicePayload(InvoicePayload):
    pass


@strawberry.type
class ApproveInvoicePayload(InvoicePayload):
    pass


@strawberry.type
class RejectInvoicePayload(InvoicePayload):
    pass


@strawberry.type
class IssueInvoicePayload(InvoicePayload):
    pass


def _opportunity(row: Any) -> dict[str, Any]:
    return {"opportunity": Opportunity.from_model(row)}


def _invoice(row: Any) -> dict[str, Any]:
    return {"invoice": Invoice.from_model(row)}


@strawberry.type
class DealMutations:
    @strawberry.mutation(description="A new pipeline stage (needs pipeline:manage); names are unique per tenant.")
    async def create_pipeline_stage(
        self, info: Info[RequestContext, None], input: CreatePipelineStageInput
    ) -> CreatePipelineStagePayload:
        return await write_mutation(
            info.context,
            CreatePipelineStagePayload,
            lambda row: {"pipeline_stage": PipelineStage.from_model(row)},
            service.create_stage,
            provided(input),
        )

    @strawberry.mutation(description="Renames a stage, changes its probability or position (needs pipeline:manage).")
    async def update_pipeline_stage(
        self, info: Info[RequestContext, None], input: UpdatePipelineStageInput
    ) -> UpdatePipelineStagePayload:
        return await write_mutation(
            info.context, UpdatePipelineStagePayload, lambda row: {"pipeline_stage": PipelineStage.from_model(row)},
            lambda session, principal: service.update_stage(
                session, principal, referenced_id(input.id, "PipelineStage", "id"), input.version,
                provided(input, skip=("id", "version")),
            ),
        )  # fmt: skip

    @strawberry.mutation(description="Which roles approve invoice requests (needs pipeline:manage).")
    async def update_deal_settings(
        self, info: Info[RequestContext, None], input: UpdateDealSettingsInput
    ) -> UpdateDealSettingsPayload:
        return await write_mutation(
            info.context,
            UpdateDealSettingsPayload,
            lambda row: {"deal_settings": DealSettings.from_model(row)},
            service.update_settings,
            provided(input),
        )

    @strawberry.mutation(
        description="A new opportunity of a customer the caller sees, with its first stage-history entry."
    )
    async def create_opportunity(
        self, info: Info[RequestContext, None], input: CreateOpportunityInput
    ) -> CreateOpportunityPayload:
        def work(session: Any, principal: Any) -> Any:
            data = referenced_fields(
                provided(input), customer_id="Customer", stage_id="PipelineStage", owner_id="Member"
            )
            return service.create_opportunity(session, principal, **data)

        return await write_mutation(info.context, CreateOpportunityPayload, _opportunity, work)

    @strawberry.mutation(description="Changes the given fields; fails with CONFLICT when `version` is stale.")
    async def update_opportunity(
        self, info: Info[RequestContext, None], input: UpdateOpportunityInput
    ) -> UpdateOpportunityPayload:
        return await write_mutation(
            info.context, UpdateOpportunityPayload, _opportunity,
            lambda session, principal: service.update_opportunity(
                session, principal, referenced_id(input.id, "Opportunity", "id"), input.version,
                referenced_fields(provided(input, skip=("id", "version")), owner_id="Member"),
            ),
        )  # fmt: skip

    @strawberry.mutation(description="Into another stage, recorded in stageHistory; a LOST stage needs a reason.")
    async def move_opportunity(
        self, info: Info[RequestContext, None], input: MoveOpportunityInput
    ) -> MoveOpportunityPayload:
        def work(session: Any, principal: Any) -> Any:
            return service.move_opportunity_to(
                session, principal, referenced_id(input.id, "Opportunity", "id"),
                referenced_id(input.stage_id, "PipelineStage", "stageId"), input.reason, input.version,
            )  # fmt: skip

        def result(moved: Any) -> dict[str, Any]:
            # The object the move's event payload was built from (the moved row's, as committed);
            # `stage { … }` and `weightedAmount` answered from the stage the move read, held by
            # it: nothing read again after the commit.
            opportunity = moved.shown
            if moved.opportunity.stage_id == moved.stage.id:  # what `stage` would load
                opportunity.held_stage = PipelineStage.from_model(moved.stage)
            return {"opportunity": opportunity}

        return await write_mutation(info.context, MoveOpportunityPayload, result, work)

    @strawberry.mutation(description="A contract for a WON opportunity; numbers are unique per tenant.")
    async def create_contract(
        self, info: Info[RequestContext, None], input: CreateContractInput
    ) -> CreateContractPayload:
        return await write_mutation(
            info.context, CreateContractPayload, lambda row: {"contract": Contract.from_model(row)},
            lambda session, principal: service.create_contract(
                session, principal, referenced_fields(provided(input), opportunity_id="Opportunity")
            ),
        )  # fmt: skip

    @strawberry.mutation(description="An order of catalog products; unit prices default to the products' prices.")
    async def create_order(self, info: Info[RequestContext, None], input: CreateOrderInput) -> CreateOrderPayload:
        def work(session: Any, principal: Any) -> Any:
            data = referenced_fields(provided(input, skip=("lines",)), customer_id="Customer", contract_id="Contract")
            data["lines"] = [
                {
                    "product_id": referenced_id(line.product_id, "Product", "lines", index, "productId"),
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                }
                for index, line in enumerate(input.lines)
            ]
            return service.create_order(session, principal, data)

        return await write_mutation(
            info.context, CreateOrderPayload, lambda row: {"order": Order.from_model(row)}, work
        )

    @strawberry.mutation(description="Installments of a contract's amount; they must add up to it exactly.")
    async def create_payment_plan(
        self, info: Info[RequestContext, None], input: CreatePaymentPlanInput
    ) -> CreatePaymentPlanPayload:
        def work(session: Any, principal: Any) -> Any:
            data = referenced_fields(provided(input, skip=("installments",)), contract_id="Contract")
            data["installments"] = [{"due_on": i.due_on, "amount": i.amount} for i in input.installments]
            return service.create_payment_plan(session, principal, data)

        return await write_mutation(
            info.context, CreatePaymentPlanPayload, lambda row: {"payment_plan": PaymentPlan.from_model(row)}, work
        )

    @strawberry.mutation(description="Money received for an installment; partial is fine, overpaying is refused.")
    async def record_payment(self, info: Info[RequestContext, None], input: RecordPaymentInput) -> RecordPaymentPayload:
        return await write_mutation(
            info.context, RecordPaymentPayload, lambda row: {"payment": Payment.from_model(row)},
            lambda session, principal: service.record_payment(
                session, principal, referenced_fields(provided(input), installment_id="Installment")
            ),
        )  # fmt: skip

    @strawberry.mutation(description="An invoice request for part or all of a contract's uninvoiced amount.")
    async def request_invoice(
        self, info: Info[RequestContext, None], input: RequestInvoiceInput
    ) -> RequestInvoicePayload:
        return await write_mutation(
            info.context, RequestInvoicePayload, _invoice,
            lambda session, principal: service.request_invoice(session, principal, referenced_fields(provided(input), contract_id="Contract")),
        )  # fmt: skip

    @strawberry.mutation(description="By a member whose role approves invoices, never the requester.")
    async def approve_invoice(
        self, info: Info[RequestContext, None], input: ApproveInvoiceInput
    ) -> ApproveInvoicePayload:
        return await write_mutation(
            info.context, ApproveInvoicePayload, _invoice,
            lambda session, principal: service.approve_invoice(
                session, principal, referenced_id(input.id, "Invoice", "id"), input.version
            ),
        )  # fmt: skip

    @strawberry.mutation(description="By a member whose role approves invoices, never the requester; frees the amount.")
    async def reject_invoice(self, info: Info[RequestContext, None], input: RejectInvoiceInput) -> RejectInvoicePayload:
        return await write_mutation(
            info.context, RejectInvoicePayload, _invoice,
            lambda session, principal: service.reject_invoice(
                session, principal, referenced_id(input.id, "Invoice", "id"), input.reason, input.version
            ),
        )  # fmt: skip

    @strawberry.mutation(description="An approved invoice gets its number (unique per tenant) and is issued.")
    async def issue_invoice(self, info: Info[RequestContext, None], input: IssueInvoiceInput) -> IssueInvoicePayload:
        return await write_mutation(
            info.context, IssueInvoicePayload, _invoice,
            lambda session, principal: service.issue_invoice(
                session, principal, referenced_id(input.id, "Invoice", "id"), input.number, input.version
            ),
        )  # fmt: skip
