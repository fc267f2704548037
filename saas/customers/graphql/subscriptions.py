"""Customer subscriptions: changes streamed live to the tenant's clients."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry
from strawberry.types import Info

from saas.auth.permissions import CUSTOMERS_READ, require
from saas.customers.rules import customer_visible_to
from saas.customers.service import TOPIC
from saas.realtime import COMMITTED_AT, listen
from saas.schema.context import RequestContext
from saas.schema.relay import to_global_id


@strawberry.type(description="A change of a customer or one of its contacts.")
class CustomerEvent:
    kind: str = strawberry.field(description="customer.created, customer.updated, customer.deleted, contact.created, …")
    customer_id: strawberry.ID
    contact_id: strawberry.ID | None
    committed_at: datetime | None = strawberry.field(
        description="When the change was committed (UTC, to the microsecond). "
        "Null only for a change announced by a server of an earlier version."
    )


@strawberry.type
class CustomerSubscriptions:
    @strawberry.subscription(description="Every change of the tenant's customers and contacts, as it happens.")
    async def customer_events(self, info: Info[RequestContext, None]) -> AsyncGenerator[CustomerEvent, None]:
        principal = info.context.require_principal()
        require(principal.permissions, CUSTOMERS_READ)
        async for message in listen(info.context.runtime.redis_url, principal.tenant_id, TOPIC):
            if not customer_visible_to(principal, message.get("owner_id")):
                continue
            contact = message.get("contact_id")
            committed = message.get(COMMITTED_AT)
            yield CustomerEvent(
                kind=message["kind"],
                customer_id=strawberry.ID(to_global_id("Customer", message["customer_id"])),
                contact_id=strawberry.ID(to_global_id("Contact", contact)) if contact else None,
                committed_at=datetime.fromisoformat(committed) if committed else None,
            )
