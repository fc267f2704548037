"""Pipeline and after-sale reads: each compiled into one SQL statement (see saas/schema/compiler.py).

A selection with a field computed in Python (a plugin's, or a relation that needs the caller's
visibility such as `Contract.opportunity`) goes through the resolvers instead: the same rows in
the same order, a constant number of statements per nested level.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import orjson
import strawberry
from strawberry.types import Info

from saas.auth.permissions import DEALS_READ, require
from saas.customers.rules import SqlCondition
from saas.deals import models, rules, service
from saas.deals.graphql import loaders
from saas.deals.graphql.sql import INVOICE, INVOICE_SORT, OPPORTUNITY, OPPORTUNITY_SORT, PIPELINE_STAGE
from saas.deals.graphql.types import (
    DealSettings,
    Invoice,
    InvoiceConnection,
    InvoiceFilterInput,
    Opportunity,
    OpportunityConnection,
    OpportunityFilterInput,
    PipelineStage,
)
from saas.schema import compiler
from saas.schema.context import RequestContext, fetch_compiled
from saas.schema.nodes import compiled_connection, single_object
from saas.schema.relay import decode_id


def _selection(info: Info) -> Any:
    return compiler.merged_selection(list(info._raw_info.field_nodes))


def read_condition(context: RequestContext, conditions: Callable[[Any, str], SqlCondition]) -> SqlCondition:
    """The caller's condition over alias `r`, once they hold `deals:read`."""
    principal = context.require_principal()
    require(principal.permissions, DEALS_READ)
    return conditions(principal, "r")


def _stage_list_sql(selection: Any, state: compiler.CompileState, condition: SqlCondition) -> str:
    element = compiler.object_json(PIPELINE_STAGE, "r", selection, state)
    return (
        f"SELECT COALESCE((SELECT '[' || string_agg({element}, ',' ORDER BY r.position, r.created_at) || ']'"
        f" FROM pipeline_stages r WHERE {compiler.tenant_where('r', condition)}), '[]')"
    )


async def pipeline_stages(info: Info[RequestContext, None]) -> Any:
    """The stages as compiled JSON; on the tenant's first read, its default stages are made first."""
    context = info.context
    condition = read_condition(context, rules.stage_conditions)
    raw = info._raw_info
    try:
        sql = compiler.compile_cached(
            raw,
            ("PipelineStage", tuple(condition.parts)),
            lambda: _stage_list_sql(_selection(info), compiler.state_from(raw), condition),
        )
    except compiler.NotCompilable:
        rows = await context.write(service.list_stages, context.require_principal())
        return [PipelineStage.from_model(row) for row in rows]
    json_text = await fetch_compiled(context, sql, condition.params)
    if json_text in (None, "[]"):
        await context.write(lambda session: service.ensure_pipeline(session))
        json_text = await fetch_compiled(context, sql, condition.params)
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
        return await compiled_connection(  # type: ignore[no-any-return]
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
        return await compiled_connection(  # type: ignore[no-any-return]
            info, INVOICE, models.Invoice, Invoice.from_model, condition, INVOICE_SORT, first, after
        )

    @strawberry.field(description="The tenant's after-sale settings (who approves invoices).")
    async def deal_settings(self, info: Info[RequestContext, None]) -> DealSettings:
        context = info.context
        row = await context.write(service.get_settings, context.require_principal())
        return DealSettings.from_model(row)
