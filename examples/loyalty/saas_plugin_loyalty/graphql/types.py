"""Loyalty's GraphQL types, and the field it adds to the core `Customer` type."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import strawberry
from saas.plugin_api import Node, RequestContext, decode_id, to_global_id
from strawberry.types import Info

from saas_plugin_loyalty import models
from saas_plugin_loyalty.graphql.loaders import points_loader


@strawberry.type(description="A change of a customer's loyalty points: earned, redeemed or expired.")
class LoyaltyEntry(Node):
    customer_id: strawberry.ID
    points: int = strawberry.field(description="Positive when earned, negative when redeemed or expired.")
    reason: str
    expires_at: datetime | None
    created_at: datetime

    @classmethod
    def from_model(cls, row: models.LoyaltyEntry) -> LoyaltyEntry:
        return cls(
            id=strawberry.ID(to_global_id("LoyaltyEntry", row.id)),
            customer_id=strawberry.ID(to_global_id("Customer", row.customer_id)),
            points=row.points,
            reason=row.reason,
            expires_at=row.expires_at,
            created_at=row.created_at,
        )


@strawberry.type(description="A level customers reach with enough points.")
class LoyaltyTier:
    name: str
    min_points: int

    @classmethod
    def from_model(cls, row: models.LoyaltyTier) -> LoyaltyTier:
        return cls(name=row.name, min_points=row.min_points)


class CoreCustomer(Protocol):
    """What loyalty uses of the core's `Customer` object: its global id."""

    id: strawberry.ID


@strawberry.type
class LoyaltyCustomerFields:
    """Fields added to the core `Customer` type (`GraphQLContribution.type_fields`)."""

    @strawberry.field(description="The customer's loyalty points balance (0 before any were earned).")
    async def loyalty_points(self, info: Info[RequestContext, None], customer: strawberry.Parent[CoreCustomer]) -> int:
        return await points_loader(info.context).load(decode_id(customer.id, "Customer"))
