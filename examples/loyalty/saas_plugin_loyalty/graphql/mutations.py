"""Loyalty's mutation: award or redeem points (input failures come back as `userErrors`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from saas.plugin_api import (
    Payload,
    RequestContext,
    referenced_id,
    run_mutation,
)
from strawberry.types import Info

from saas_plugin_loyalty import service
from saas_plugin_loyalty.graphql.types import LoyaltyEntry


@strawberry.input
class LoyaltyAdjustPointsInput:
    customer_id: strawberry.ID
    points: int = strawberry.field(description="Positive to award, negative to redeem (never below zero).")
    reason: str
    expires_at: datetime | None = strawberry.field(default=None, description="When awarded points expire.")


@strawberry.type
class LoyaltyAdjustPointsPayload(Payload):
    entry: LoyaltyEntry | None = None
    balance: int | None = strawberry.field(default=None, description="The customer's balance afterwards.")


@strawberry.type
class LoyaltyMutations:
    @strawberry.mutation(description="Award or redeem a customer's points (permission loyalty:adjust).")
    async def loyalty_adjust_points(
        self, info: Info[RequestContext, None], input: LoyaltyAdjustPointsInput
    ) -> LoyaltyAdjustPointsPayload:
        context = info.context
        principal = context.require_principal()

        async def run() -> dict[str, Any]:
            customer_id = referenced_id(input.customer_id, "Customer", "customerId")
            entry, balance = await context.write(
                service.adjust_points, principal, customer_id, input.points, input.reason, input.expires_at
            )
            return {"entry": LoyaltyEntry.from_model(entry), "balance": balance}

        return await run_mutation(run, LoyaltyAdjustPointsPayload)  # type: ignore[no-any-return]
