"""Lead, channel and sales settings reads: lists and single objects compiled into one SQL statement each."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import strawberry
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from strawberry.types import Info

from saas.auth.permissions import LEADS_READ, require
from saas.customers.rules import SqlCondition
from saas.db.paging import Page
from saas.leads import models, service
from saas.leads.graphql.loaders import channel_loader, lead_loader
from saas.leads.graphql.sql import CHANNEL, LEAD, LEAD_SORT
from saas.leads.graphql.types import Channel, Lead, LeadConnection, LeadFilterInput, SalesSettings
from saas.leads.rules import lead_conditions, lead_visibility
from saas.schema import compiler
from saas.schema.connections import connection
from saas.schema.context import RequestContext, fetch_compiled
from saas.schema.nodes import permission_condition, single_object
from saas.schema.relay import decode_cursor, decode_id, page_size
from saas.tenancy.session import TENANT_PARAM


def _selection(info: Info) -> Any:
    return compiler.merged_selection(list(info._raw_info.field_nodes))


def lead_condition(context: RequestContext, alias: str = "r") -> SqlCondition:
    """Visibility of one lead (`node(id)`, `lead(id)`), once the caller may read leads (the compiler
    adds the tenant)."""
    principal = context.require_principal()
    require(principal.permissions, LEADS_READ)
    condition = SqlCondition()
    lead_visibility(principal, alias, condition)
    return condition


def channel_condition(context: RequestContext) -> SqlCondition:
    """Every channel of the caller's tenant, once the caller may read leads."""
    return permission_condition(context, LEADS_READ)


async def load_lead(context: RequestContext, raw_id: uuid.UUID) -> Lead | None:
    return await lead_loader(context).load(raw_id)


async def load_channel(context: RequestContext, raw_id: uuid.UUID) -> Channel | None:
    return await channel_loader(context).load(raw_id)


def _lead_page(session: Session, condition: SqlCondition, params: dict[str, Any], has_after: bool) -> LeadConnection:
    """The resolver path, for selections with fields computed in Python: same rows, same order."""
    sort = LEAD_SORT
    where = compiler.tenant_where("r", condition) + (f" AND {sort.after_sql('r')}" if has_after else "")
    page_sql = f"SELECT r.id FROM leads r WHERE {where} ORDER BY {sort.order_sql('r')} LIMIT :limit"
    ids = [row[0] for row in session.execute(text(page_sql), params)]
    rows = {row.id: row for row in session.scalars(select(models.Lead).where(models.Lead.id.in_(ids)))}
    total = session.execute(
        text(f"SELECT count(*) FROM leads r WHERE {compiler.tenant_where('r', condition)}"), params
    ).scalar_one()
    return connection(  # type: ignore[no-any-return]
        Page.of([rows[i] for i in ids], params["first"], total),
        Lead.from_model,
        lambda row: [getattr(row, c) for c in sort.columns],
        has_previous_page=has_after,
    )


@strawberry.type
class LeadQueries:
    @strawberry.field(description="The tenant's lead channels, by name.")
    async def channels(self, info: Info[RequestContext, None]) -> list[Channel]:
        context = info.context
        condition = channel_condition(context)
        try:
            sql = compiler.compile_cached(
                info._raw_info,
                ("Channel", tuple(condition.parts)),
                lambda: compiler.list_sql(
                    CHANNEL, _selection(info), compiler.state_from(info._raw_info), condition, "lower(r.name), r.id"
                ),
            )
        except compiler.NotCompilable:
            rows = await context.read(
                lambda session: list(
                    session.scalars(select(models.Channel).order_by(models.Channel.name, models.Channel.id))
                )
            )
            return [Channel.from_model(row) for row in rows]
        json_text = await fetch_compiled(context, sql, condition.params)
        assert json_text is not None  # a list or connection statement always returns one row
        return orjson.Fragment(json_text)  # type: ignore[return-value]

    @strawberry.field(
        description="Leads visible to the caller, newest first, as a Relay connection (keyset-paged; `first` at most 100)."
    )
    async def leads(
        self,
        info: Info[RequestContext, None],
        first: int | None = 20,
        after: str | None = None,
        filter: LeadFilterInput | None = None,
    ) -> LeadConnection:
        context = info.context
        principal = context.require_principal()
        require(principal.permissions, LEADS_READ)
        limit = page_size(first, context.runtime.settings.max_page_size)
        condition = lead_conditions(principal, "r", filter.to_rule() if filter else None)
        params: dict[str, Any] = {
            **condition.params,
            "first": limit,
            "limit": limit + 1,
            "has_previous": after is not None,
            TENANT_PARAM: principal.tenant_id,  # for the resolver path; `fetch_json` binds it for the compiled one
        }
        if after is not None:
            for index, value in enumerate(decode_cursor(after, LEAD_SORT.casts)):
                params[f"after_{index}"] = value
        raw = info._raw_info
        try:
            sql = compiler.compile_cached(
                raw,
                ("Lead", tuple(condition.parts), after is not None),
                lambda: compiler.connection_sql(
                    LEAD, _selection(info), compiler.state_from(raw), condition, LEAD_SORT, after is not None
                ),
            )
        except compiler.NotCompilable:
            return await context.read(_lead_page, condition, params, after is not None)
        json_text = await fetch_compiled(context, sql, params)
        assert json_text is not None  # a list or connection statement always returns one row
        return orjson.Fragment(json_text)  # type: ignore[return-value]

    @strawberry.field(description="One lead; NOT_FOUND if it does not exist or is not visible.")
    async def lead(self, info: Info[RequestContext, None], id: strawberry.ID) -> Lead:
        raw_id = decode_id(id, "Lead")
        return await single_object(info, LEAD, raw_id, lead_condition(info.context), load_lead)  # type: ignore[no-any-return]

    @strawberry.field(description="The tenant's sales rules (defaults until an admin changes them).")
    async def sales_settings(self, info: Info[RequestContext, None]) -> SalesSettings:
        context = info.context
        values = await context.read(service.get_sales_settings, context.require_principal())
        return SalesSettings.from_values(values)
