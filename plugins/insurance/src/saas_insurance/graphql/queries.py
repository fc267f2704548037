"""Root query fields of the plugin: thin wrappers over the services (the lists are Relay connections)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from saas.plugin_api import (
    BadUserInputError,
    CountedConnection,
    RequestContext,
    SortKey,
    SqlCondition,
    compiled_list,
    compiled_page,
    decode_id,
    page_arguments,
    require,
)
from saas_insurance import models
from saas_insurance.graphql import sql, types
from saas_insurance.models import ClaimStatus, Line, PolicyStatus
from saas_insurance.rules import READ
from saas_insurance.service import churn, claims, policies, rating, statistics
from saas_insurance.service.common import settings, today, visible_customers_sql

NEWEST_FIRST = ("timestamptz", "uuid")
# The lists' keyset: newest first, as the services' `keyset_page` on (created_at, id).
NEWEST_FIRST_SORT = SortKey(("created_at", "id"), NEWEST_FIRST, descending=True)

T = TypeVar("T")


async def read(info: Info[RequestContext, None], work: Callable[..., T], *args: Any) -> T:
    """The service `work(session, principal, *args)` on the request's read session. A query has no
    `userErrors`: the services refuse a query's bad input with `BAD_USER_INPUT`, naming the field."""
    return await info.context.read(work, info.context.require_principal(), *args)


def visibility_condition(context: RequestContext) -> SqlCondition:
    """The compiled reads' condition over the row alias `r`: readers see rows of visible customers."""
    principal = context.require_principal()
    require(principal.permissions, READ)
    sql, params = visible_customers_sql(principal)
    condition = SqlCondition()
    condition.add(f"r.customer_id IN ({sql})", **params)
    return condition


def policy_condition(context: RequestContext, flt: policies.PolicyFilter) -> SqlCondition:
    """`policies.list_policies`' rows as a compiled read's condition (alias `r`)."""
    condition = visibility_condition(context)
    if flt.expiring_within_days is not None and not 0 <= flt.expiring_within_days <= 3650:
        raise BadUserInputError("filter.expiringWithinDays: must be 0 to 3650")
    condition.given("r.customer_id", "filter_customer_id", flt.customer_id)
    condition.given("r.line", "filter_line", flt.line)
    condition.given("r.status", "filter_status", flt.status)
    if flt.expiring_within_days is not None:
        on = today()
        condition.add(
            "r.status = :filter_active AND r.ends_on >= :filter_on AND r.ends_on <= :filter_until",
            filter_active=PolicyStatus.ACTIVE.value,
            filter_on=on,
            filter_until=on + timedelta(days=flt.expiring_within_days),
        )
    return condition


def claim_condition(context: RequestContext, flt: claims.ClaimFilter) -> SqlCondition:
    """`claims.list_claims`' rows as a compiled read's condition (alias `r`)."""
    condition = visibility_condition(context)
    condition.given("r.policy_id", "filter_policy_id", flt.policy_id)
    condition.given("r.customer_id", "filter_customer_id", flt.customer_id)
    condition.given("r.status", "filter_status", flt.status)
    condition.given("r.occurred_on", "filter_from", flt.occurred_from, op=">=")
    condition.given("r.occurred_on", "filter_to", flt.occurred_to, op="<=")
    return condition


@strawberry.input(name="InsPolicyFilterInput", description="All given conditions must hold.")
class PolicyFilterInput:
    customer_id: strawberry.ID | None = None
    line: Line | None = None
    status: PolicyStatus | None = None
    expiring_within_days: int | None = strawberry.field(
        default=None, description="ACTIVE policies whose term ends within this many days from today."
    )

    def to_filter(self) -> policies.PolicyFilter:
        return policies.PolicyFilter(
            customer_id=decode_id(self.customer_id, "Customer") if self.customer_id else None,
            line=self.line.value if self.line else None,
            status=self.status.value if self.status else None,
            expiring_within_days=self.expiring_within_days,
        )


@strawberry.input(name="InsClaimFilterInput", description="All given conditions must hold; from/to bound occurredOn.")
class ClaimFilterInput:
    policy_id: strawberry.ID | None = None
    customer_id: strawberry.ID | None = None
    status: ClaimStatus | None = None
    from_: date | None = strawberry.field(default=None, name="from")
    to: date | None = None

    def to_filter(self) -> claims.ClaimFilter:
        return claims.ClaimFilter(
            policy_id=decode_id(self.policy_id, "InsPolicy") if self.policy_id else None,
            customer_id=decode_id(self.customer_id, "Customer") if self.customer_id else None,
            status=self.status.value if self.status else None,
            occurred_from=self.from_,
            occurred_to=self.to,
        )


@strawberry.input(name="InsStatisticsFilterInput", description="The period (days included) and line to count.")
class StatisticsFilterInput:
    line: Line | None = None
    from_: date | None = strawberry.field(default=None, name="from", description="Default: the first policy's start.")
    to: date | None = strawberry.field(default=None, description="Default: today.")


@strawberry.input(name="InsQuoteInput")
class QuoteInput:
    line: Line
    sum_insured: Decimal
    rating_factors: JSON | None = None


@strawberry.input(name="InsRenewalRiskFilterInput")
class RenewalRiskFilterInput:
    expiring_within_days: int | None = strawberry.field(
        default=None, description="Default: the tenant's renewalHorizonDays setting."
    )


def _quote(session: Any, principal: Any, line: str, sum_insured: Decimal, factors: Any) -> types.Quote:
    result = rating.quote(session, principal, line, sum_insured, factors)
    return types.Quote.from_result(result, settings(session).currency)


def _churn_model(session: Any, principal: Any) -> types.ChurnModel:
    require(principal.permissions, READ)
    return types.ChurnModel.from_model(churn.current_model(session))


@strawberry.type
class InsuranceQueries:
    @strawberry.field(description="Policies of visible customers, newest first.")
    async def policies(
        self,
        info: Info[RequestContext, None],
        first: int | None = 20,
        after: str | None = None,
        filter: PolicyFilterInput | None = None,
    ) -> CountedConnection[types.Policy]:
        flt = filter.to_filter() if filter else policies.PolicyFilter()
        condition = policy_condition(info.context, flt)
        return await compiled_page(  # type: ignore[no-any-return]
            info, sql.POLICY, models.Policy, types.Policy.from_model, condition, NEWEST_FIRST_SORT, first, after
        )

    @strawberry.field(description="Claims of visible customers, newest first.")
    async def claims(
        self,
        info: Info[RequestContext, None],
        first: int | None = 20,
        after: str | None = None,
        filter: ClaimFilterInput | None = None,
    ) -> CountedConnection[types.Claim]:
        flt = filter.to_filter() if filter else claims.ClaimFilter()
        condition = claim_condition(info.context, flt)
        return await compiled_page(  # type: ignore[no-any-return]
            info, sql.CLAIM, models.Claim, types.Claim.from_model, condition, NEWEST_FIRST_SORT, first, after
        )

    @strawberry.field(description="Exposure, claims, frequency, severity, incurred, earned premium and loss ratio.")
    async def claim_statistics(
        self,
        info: Info[RequestContext, None],
        group_by: list[types.StatisticsDimension],
        filter: StatisticsFilterInput | None = None,
    ) -> list[types.StatisticsRow]:
        flt = filter or StatisticsFilterInput()
        rows = await read(
            info,
            statistics.statistics,
            [d.value for d in group_by],
            flt.line.value if flt.line else None,
            flt.from_,
            flt.to,
        )
        return [types.StatisticsRow.from_result(row) for row in rows]

    @strawberry.field(description="A premium for a cover with the line's current rating table; changes nothing.")
    async def insurance_quote(self, info: Info[RequestContext, None], input: QuoteInput) -> types.Quote:
        return await read(info, _quote, input.line.value, input.sum_insured, input.rating_factors)

    @strawberry.field(description="Every version of the rating tables, by line, newest version first.")
    async def rating_tables(
        self, info: Info[RequestContext, None], line: Line | None = None
    ) -> list[types.RatingTable]:
        principal = info.context.require_principal()
        require(principal.permissions, READ)
        condition = SqlCondition()
        condition.given("r.line", "filter_line", line, convert=lambda v: v.value)

        async def resolved() -> list[types.RatingTable]:
            rows = await read(info, rating.list_tables, line.value if line else None)
            return [types.RatingTable.from_model(row) for row in rows]

        # `list_tables`' rows in its order (by line, newest version first), as one compiled statement.
        return await compiled_list(info, sql.RATING_TABLE, condition, "r.line, r.version DESC", resolved)  # type: ignore[no-any-return]

    @strawberry.field(description="Active policies expiring soon, riskiest first, scored now.")
    async def renewal_risks(
        self, info: Info[RequestContext, None], first: int | None = 20, filter: RenewalRiskFilterInput | None = None
    ) -> list[types.RenewalRisk]:
        within = filter.expiring_within_days if filter else None
        if within is not None and not 0 <= within <= 3650:
            raise BadUserInputError("expiringWithinDays must be 0 to 3650")
        size, _ = page_arguments(first, None, NEWEST_FIRST, info.context.runtime.settings.max_page_size)
        found = await read(info, churn.renewal_risks, within, size)
        return [types.RenewalRisk.from_risk(risk) for _, risk in found]

    @strawberry.field(description="How renewal risks are scored: RULES until a model is trained.")
    async def churn_model(self, info: Info[RequestContext, None]) -> types.ChurnModel | None:
        return await read(info, _churn_model)
