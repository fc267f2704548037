"""List filters of opportunities and invoices, as SQL conditions added to the visibility rule."""

from __future__ import annotations

import strawberry

from saas.customers.rules import SqlCondition
from saas.deals.models import InvoiceStatus, OpportunityStatus
from saas.schema.relay import decode_id


@strawberry.input(description="All given conditions must hold.")
class OpportunityFilterInput:
    customer_id: strawberry.ID | None = None
    owner_id: strawberry.ID | None = strawberry.field(default=None, description="A Member id.")
    stage_id: strawberry.ID | None = None
    status: OpportunityStatus | None = None

    def apply(self, condition: SqlCondition, alias: str) -> None:
        if self.customer_id is not None:
            condition.add(
                f"{alias}.customer_id = :f_customer_id", f_customer_id=decode_id(self.customer_id, "Customer")
            )
        if self.owner_id is not None:
            condition.add(f"{alias}.owner_id = :f_owner_id", f_owner_id=decode_id(self.owner_id, "Member"))
        if self.stage_id is not None:
            condition.add(f"{alias}.stage_id = :f_stage_id", f_stage_id=decode_id(self.stage_id, "PipelineStage"))
        if self.status is not None:
            condition.add(f"{alias}.status = :f_status", f_status=OpportunityStatus(self.status).value)


@strawberry.input(description="All given conditions must hold.")
class InvoiceFilterInput:
    customer_id: strawberry.ID | None = None
    contract_id: strawberry.ID | None = None
    status: InvoiceStatus | None = None

    def apply(self, condition: SqlCondition, alias: str) -> None:
        if self.customer_id is not None:
            condition.add(
                f"{alias}.customer_id = :f_customer_id", f_customer_id=decode_id(self.customer_id, "Customer")
            )
        if self.contract_id is not None:
            condition.add(
                f"{alias}.contract_id = :f_contract_id", f_contract_id=decode_id(self.contract_id, "Contract")
            )
        if self.status is not None:
            condition.add(f"{alias}.status = :f_status", f_status=InvoiceStatus(self.status).value)
