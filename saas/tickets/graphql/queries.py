"""Ticket reads: the list and single tickets compiled into one SQL statement each; the set-up lists."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import strawberry
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from strawberry.types import Info

from saas.auth.permissions import TICKETS_READ, require
from saas.db.conditions import SqlCondition
from saas.db.paging import Page
from saas.schema import compiler
from saas.schema.connections import connection
from saas.schema.context import RequestContext, fetch_compiled
from saas.schema.nodes import single_object
from saas.schema.relay import decode_cursor, decode_id, page_size
from saas.tenancy.session import TENANT_PARAM
from saas.tickets import models, service
from saas.tickets.graphql.loaders import comment_loader, rule_loader, ticket_loader
from saas.tickets.graphql.sql import TICKET, TICKET_SORT
from saas.tickets.graphql.types import (
    AgentSkills,
    ClassificationRule,
    SlaPolicy,
    Ticket,
    TicketComment,
    TicketConnection,
    TicketFilterInput,
    TicketTypeInfo,
)
from saas.tickets.rules import ticket_conditions, ticket_visibility


def _selection(info: Info) -> Any:
    return compiler.merged_selection(list(info._raw_info.field_nodes))


def ticket_condition(context: RequestContext, alias: str = "r") -> SqlCondition:
    """Visibility of one ticket (`node(id)`, `ticket(id)`), once the caller may read tickets."""
    principal = context.require_principal()
    require(principal.permissions, TICKETS_READ)
    condition = SqlCondition()
    ticket_visibility(principal, alias, condition)
    return condition


def rule_condition(context: RequestContext, alias: str = "r") -> SqlCondition:
    """Every rule of the tenant for staff who read tickets; none for portal tokens."""
    principal = context.require_principal()
    require(principal.permissions, TICKETS_READ)
    condition = SqlCondition()
    if principal.scope:
        condition.add("FALSE")
    return condition


async def load_ticket(context: RequestContext, raw_id: uuid.UUID) -> Ticket | None:
    return await ticket_loader(context).load(raw_id)


async def load_comment(context: RequestContext, raw_id: uuid.UUID) -> TicketComment | None:
    require(context.require_principal().permissions, TICKETS_READ)
    return await comment_loader(context).load(raw_id)


async def load_rule(context: RequestContext, raw_id: uuid.UUID) -> ClassificationRule | None:
    if context.require_principal().scope:
        return None
    return await rule_loader(context).load(raw_id)


def _ticket_page(
    session: Session, condition: SqlCondition, params: dict[str, Any], has_after: bool
) -> TicketConnection:
    """The resolver path, for selections with fields computed in Python (comments): same rows, same order."""
    sort = TICKET_SORT
    where = compiler.tenant_where("r", condition) + (f" AND {sort.after_sql('r')}" if has_after else "")
    page_sql = f"SELECT r.id FROM tickets r WHERE {where} ORDER BY {sort.order_sql('r')} LIMIT :limit"
    ids = [row[0] for row in session.execute(text(page_sql), params)]
    rows = {row.id: row for row in session.scalars(select(models.Ticket).where(models.Ticket.id.in_(ids)))}
    total = session.execute(
        text(f"SELECT count(*) FROM tickets r WHERE {compiler.tenant_where('r', condition)}"), params
    ).scalar_one()
    return connection(  # type: ignore[no-any-return]
        Page.of([rows[i] for i in ids], params["first"], total),
        Ticket.from_model,
        lambda row: [getattr(row, c) for c in sort.columns],
        has_previous_page=has_after,
    )


@strawberry.type
class TicketQueries:
    @strawberry.field(
        description="Tickets visible to the caller, newest first, as a Relay connection (keyset-paged; `first` at most 100)."
    )
    async def tickets(
        self,
        info: Info[RequestContext, None],
        first: int | None = 20,
        after: str | None = None,
        filter: TicketFilterInput | None = None,
    ) -> TicketConnection:
        context = info.context
        principal = context.require_principal()
        require(principal.permissions, TICKETS_READ)
        limit = page_size(first, context.runtime.settings.max_page_size)
        condition = ticket_conditions(principal, "r", filter.to_rule() if filter else None)
        params: dict[str, Any] = {
            **condition.params,
            "first": limit,
            "limit": limit + 1,
            "has_previous": after is not None,
            TENANT_PARAM: principal.tenant_id,  # for the resolver path; `fetch_json` binds it for the compiled one
        }
        if after is not None:
            for index, value in enumerate(decode_cursor(after, TICKET_SORT.casts)):
                params[f"after_{index}"] = value
        raw = info._raw_info
        try:
            sql, bound = compiler.compile_read(
                raw,
                ("Ticket", tuple(condition.parts), after is not None),
                lambda state: compiler.connection_sql(
                    TICKET, _selection(info), state, condition, TICKET_SORT, after is not None
                ),
            )
        except compiler.NotCompilable:
            return await context.read(_ticket_page, condition, params, after is not None)
        json_text = await fetch_compiled(context, sql, {**params, **bound})
        assert json_text is not None  # a list or connection statement always returns one row
        return orjson.Fragment(json_text)  # type: ignore[return-value]

    @strawberry.field(description="One ticket; NOT_FOUND if it does not exist or is not visible.")
    async def ticket(self, info: Info[RequestContext, None], id: strawberry.ID) -> Ticket:
        raw_id = decode_id(id, "Ticket")
        return await single_object(info, TICKET, raw_id, ticket_condition(info.context), load_ticket)  # type: ignore[no-any-return]

    @strawberry.field(description="The tenant's ticket types by key (the defaults until changed).")
    async def ticket_types(self, info: Info[RequestContext, None]) -> list[TicketTypeInfo]:
        rows = await info.context.read(service.list_ticket_types, info.context.require_principal())
        return [TicketTypeInfo.from_model(row) for row in rows]

    @strawberry.field(description="The classification rules in the order they are tried (staff only).")
    async def classification_rules(self, info: Info[RequestContext, None]) -> list[ClassificationRule]:
        rows = await info.context.read(service.list_rules, info.context.require_principal())
        return [ClassificationRule.from_model(row) for row in rows]

    @strawberry.field(description="The SLA policies by type and priority.")
    async def sla_policies(self, info: Info[RequestContext, None]) -> list[SlaPolicy]:
        rows = await info.context.read(service.list_sla_policies, info.context.require_principal())
        return [SlaPolicy.from_model(row) for row in rows]

    @strawberry.field(description="Members' skills for auto-dispatch (staff only).")
    async def agent_skills(self, info: Info[RequestContext, None]) -> list[AgentSkills]:
        rows = await info.context.read(service.list_agent_skills, info.context.require_principal())
        return [AgentSkills.from_model(row) for row in rows]
