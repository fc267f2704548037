"""Pipeline and after-sale reads: each compiled into one SQL statement (see saas/schema/compiler.py).

A selection with a field computed in Python (a plugin's without a SQL mapping) goes through the
resolvers instead (`saas/schema/compiled.py`): the same rows in the same order, a constant number
of statements per nested level.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import orjson
import strawberry
from strawberry.types import Info

from saas.auth.permissions import DEALS_READ, require
from saas.customers.graphql.types import Customer
from saas.customers.rules import SqlCondition
from saas.deals import models, rules, service
from saas.deals.graphql import loaders
from saas.deals.graphql.sql import INVOICE, INVOICE_SORT, OPPORTUNITY, OPPORTUNITY_SORT, PIPELINE_STAGE
from saas.deals.graphql.types import (
    Contract,
    DealSettings,
    Invoice,
    InvoiceConnection,
    InvoiceFilterInput,
    Opportunity,
    OpportunityConnection,
    OpportunityFilterInput,
    Order,
    PaymentPlan,
    PipelineStage,
)
from saas.schema import compiler
from saas.schema.compiled import compiled_page, selection_of
from saas.schema.context import RequestContext, fetch_compiled
from saas.schema.nodes import single_object
from saas.schema.relay import decode_id


def read_condition(context: RequestContext, conditions: Callable[[Any, str], SqlCondition]) -> SqlCondition:
    """The caller's condition over alias `r`, once they hold `deals:read`."""
    principal = context.require_principal()
    require(principal.permissions, DEALS_READ)
    return conditions(principal, "r")


async def pipeline_stages(info: Info[RequestContext, None]) -> Any:
    """The stages as compiled JSON; on the tenant's first read, its default stages are made first."""
    context = info.context
    condition = read_condition(context, rules.stage_conditions)
    order = "r.position, r.created_at"
    raw = info._raw_info
    try:
        sql, bound = compiler.compile_read(
            raw,
            ("PipelineStage", tuple(condition.parts), order),
            lambda state: compiler.list_sql(PIPELINE_STAGE, selection_of(raw), state, condition, order),
        )
    except compiler.NotCompilable:
        rows = await context.write(service.list_stages, context.require_principal())
        return [PipelineStage.from_model(row) for row in rows]
    params = {**condition.params, **bound}
    json_text = await fetch_compiled(context, sql, params)
    if json_text in (None, "[]"):
        await context.write(lambda session: service.ensure_pipeline(session))
        json_text = await fetch_compiled(context, sql, params)
    return orjson.Fragment(json_text or "[]")


def opportunity_condition(context: RequestContext) -> SqlCondition:
    return read_condition(context, rules.opportunity_conditions)


def stage_condition(context: RequestContext) -> SqlCondition:
    return read_condition(context, rules.stage_conditions)


def stage_change_condition(context: RequestContext) -> SqlCondition:
    return read_condition(context, rules.stage_change_conditions)


def customer_record_condition(context: RequestContext) -> SqlCondition:
    return read_condition(context, rules.customer_record_conditions)


def installment_condition(context: RequestContext) -> SqlCondition:
    return read_condition(context, rules.installment_conditions)


def payment_condition(context: RequestContext) -> SqlCondition:
    return read_condition(context, rules.payment_conditions)


def order_line_condition(context: RequestContext) -> SqlCondition:
    return read_condition(context, rules.order_line_conditions)


async def load_opportunity(context: RequestContext, raw_id: uuid.UUID) -> Opportunity | None:
    return await loaders.opportunity_loader(context).load(raw_id)


async def load_invoice(context: RequestContext, raw_id: uuid.UUID) -> Invoice | None:
    return await loaders.invoice_loader(context).load(raw_id)


@strawberry.type
class DealQueries:
    @strawberry.field(description="The tenant's pipeline stages by position (defaults made on first use).")
    async def pipeline_stages(self, info: Info[RequestContext, None]) -> list[PipelineStage]:
        return await pipeline_stages(info)  # type: ignore[no-any-return]

    @strawberry.field(
        description="Opportunities visible to the caller (sales reps: their own), newest first; keyset-paged."
    )
    async def opportunities(
        self,
        info: Info[RequestContext, None],
        first: int | None = 20,
        after: str | None = None,
        filter: OpportunityFilterInput | None = None,
    ) -> OpportunityConnection:
        condition = opportunity_condition(info.context)
        if filter is not None:
            filter.apply(condition, "r")
        return await compiled_page(  # type: ignore[no-any-return]
            info, OPPORTUNITY, models.Opportunity, Opportunity.from_model, condition, OPPORTUNITY_SORT, first, after
        )

    @strawberry.field(description="One opportunity; NOT_FOUND if it does not exist or is not visible.")
    async def opportunity(self, info: Info[RequestContext, None], id: strawberry.ID) -> Opportunity:
        raw_id = decode_id(id, "Opportunity")
        return await single_object(  # type: ignore[no-any-return]
            info, OPPORTUNITY, raw_id, opportunity_condition(info.context), load_opportunity
        )

    @strawberry.field(
        description="Invoices of the customers the caller sees, newest request first; e.g. those awaiting approval."
    )
    async def invoices(
        self,
        info: Info[RequestContext, None],
        first: int | None = 20,
        after: str | None = None,
        filter: InvoiceFilterInput | None = None,
    ) -> InvoiceConnection:
        condition = customer_record_condition(info.context)
        if filter is not None:
            filter.apply(condition, "r")
        return await compiled_page(  # type: ignore[no-any-return]
            info, INVOICE, models.Invoice, Invoice.from_model, condition, INVOICE_SORT, first, after
        )

    @strawberry.field(description="The tenant's after-sale settings (who approves invoices).")
    async def deal_settings(self, info: Info[RequestContext, None]) -> DealSettings:
        context = info.context
        row = await context.write(service.get_settings, context.require_principal())
        return DealSettings.from_model(row)


@strawberry.type
class CustomerDealFields:
    """Fields deals add to `Customer` (the customer is `self`); compiled by `CUSTOMER_DEAL_FIELDS`."""

    @strawberry.field(description="Its opportunities that the caller sees (sales reps: their own), newest first.")
    async def opportunities(
        self, info: Info[RequestContext, None], customer: strawberry.Parent[Customer]
    ) -> list[Opportunity]:
        return await loaders.customer_opportunities_loader(info.context).load(customer.raw_id)

    @strawberry.field(description="Newest first.")
    async def contracts(
        self, info: Info[RequestContext, None], customer: strawberry.Parent[Customer]
    ) -> list[Contract]:
        return await loaders.customer_contracts_loader(info.context).load(customer.raw_id)

    @strawberry.field(description="Newest first.")
    async def orders(self, info: Info[RequestContext, None], customer: strawberry.Parent[Customer]) -> list[Order]:
        return await loaders.customer_orders_loader(info.context).load(customer.raw_id)

    @strawberry.field(description="Newest first.")
    async def payment_plans(
        self, info: Info[RequestContext, None], customer: strawberry.Parent[Customer]
    ) -> list[PaymentPlan]:
        return await loaders.customer_plans_loader(info.context).load(customer.raw_id)

    @strawberry.field(description="Newest request first.")
    async def invoices(self, info: Info[RequestContext, None], customer: strawberry.Parent[Customer]) -> list[Invoice]:
        return await loaders.customer_invoices_loader(info.context).load(customer.raw_id)
