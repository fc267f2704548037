"""GraphQL types of the portal: a contact's access."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import strawberry
from strawberry.types import Info

from saas.customers.graphql.loaders import customer_of
from saas.customers.graphql.types import Contact, Customer
from saas.portal import models
from saas.schema.common import Node
from saas.schema.connections import CountedConnection
from saas.schema.context import RequestContext
from saas.schema.relay import to_global_id


@strawberry.type(description="A contact's access to the customer portal, limited to the contact's customer.")
class PortalAccess(Node):
    created_by: str = strawberry.field(description="Who gave it (member e-mail or API key).")
    expires_at: datetime
    revoked_at: datetime | None
    created_at: datetime
    active: bool = strawberry.field(description="Neither revoked nor expired.")
    customer_id: strawberry.Private[uuid.UUID]
    contact_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def customer(self, info: Info[RequestContext, None]) -> Customer | None:
        return await customer_of(info.context, self.customer_id)

    @strawberry.field
    async def contact(self, info: Info[RequestContext, None]) -> Contact | None:
        from saas.customers.graphql.loaders import contact_by_id_loader

        return await contact_by_id_loader(info.context).load(self.contact_id)

    @classmethod
    def from_model(cls, row: models.PortalAccess) -> PortalAccess:
        return cls(
            id=strawberry.ID(to_global_id("PortalAccess", row.id)),
            created_by=row.created_by,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            created_at=row.created_at,
            active=row.revoked_at is None and row.expires_at > datetime.now(UTC),
            customer_id=row.customer_id,
            contact_id=row.contact_id,
        )


PortalAccessConnection = CountedConnection[PortalAccess]
