"""The `ticketEvents` subscription: changes of the tickets the caller may see, as they happen."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from saas.auth.permissions import TICKETS_READ, require
from saas.realtime import listen
from saas.schema.context import RequestContext
from saas.schema.relay import to_global_id
from saas.tickets.changes import TOPIC
from saas.tickets.rules import ticket_visible_to


@strawberry.type(description="A change of a ticket.")
class TicketEvent:
    kind: str = strawberry.field(description="ticket.created, ticket.assigned, ticket.status_changed, …")
    ticket_id: strawberry.ID


@strawberry.type
class TicketSubscriptions:
    @strawberry.subscription(
        description="Every change of the tickets the caller may see (portal tokens: their customer's)."
    )
    async def ticket_events(self, info: Info[RequestContext, None]) -> AsyncGenerator[TicketEvent, None]:
        principal = info.context.require_principal()
        require(principal.permissions, TICKETS_READ)
        async for message in listen(info.context.runtime.redis_url, principal.tenant_id, TOPIC):
            if not ticket_visible_to(principal, message):
                continue
            yield TicketEvent(
                kind=message["kind"], ticket_id=strawberry.ID(to_global_id("Ticket", message["ticket_id"]))
            )
