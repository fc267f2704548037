"""Ticket reads: the list and single tickets compiled into one SQL statement each; the set-up lists."""

from __future__ import annotations

import uuid

import strawberry
from strawberry.types import Info

from saas.auth.permissions import TICKETS_READ, require
from saas.customers.graphql.types import Customer
from saas.db.conditions import SqlCondition
from saas.schema.compiled import compiled_page
from saas.schema.context import RequestContext
from saas.schema.nodes import single_object
from saas.schema.relay import decode_id
from saas.tickets import models, service
from saas.tickets.graphql.loaders import comment_loader, customer_tickets, rule_loader, ticket_loader
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


@strawberry.type
class CustomerTicketFields:
    """Fields tickets add to `Customer` (the customer is `self`)."""

    @strawberry.field(
        description="Its tickets the caller sees, newest first (keyset-paged; `first` at most 100); "
        "empty without `tickets:read`."
    )
    async def tickets(
        self,
        info: Info[RequestContext, None],
        first: int | None = 20,
        after: str | None = None,
        filter: TicketFilterInput | None = None,
    ) -> TicketConnection:
        customer: Customer = self  # type: ignore[assignment]
        flt = filter.to_rule() if filter else None
        return await customer_tickets(info.context, customer.raw_id, first, after, flt)


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
        condition = ticket_conditions(principal, "r", filter.to_rule() if filter else None)
        return await compiled_page(  # type: ignore[no-any-return]
            info, TICKET, models.Ticket, Ticket.from_model, condition, TICKET_SORT, first, after
        )

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
