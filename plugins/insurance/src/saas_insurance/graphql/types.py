"""GraphQL types of the insurance plugin (all named `Ins…`), built from rows by `from_model`."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Protocol

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from saas.plugin_api import CustomerType, Node, RequestContext, customer_of, decode_id, to_global_id
from saas_insurance import models
from saas_insurance.graphql import loaders
from saas_insurance.models import ChurnModelKind, ClaimStatus, Line, PolicyStatus
from saas_insurance.service.churn import Risk
from saas_insurance.service.rating import Quote as QuoteResult
from saas_insurance.service.statistics import StatisticsRow as StatisticsResult


def ref(type_name: str, raw_id: uuid.UUID | str) -> strawberry.ID:
    return strawberry.ID(to_global_id(type_name, raw_id))


# The plugin's domain enums are its GraphQL enums, exposed once, here, under `Ins…` names.
strawberry.enum(Line, name="InsLine", description="A line of business.")
strawberry.enum(PolicyStatus, name="InsPolicyStatus", description="ACTIVE until the term ends (EXPIRED) or CANCELLED.")
strawberry.enum(ClaimStatus, name="InsClaimStatus", description="REPORTED, then APPROVED or DENIED, then CLOSED.")
strawberry.enum(ChurnModelKind, name="InsChurnModelKind", description="How renewal risks are scored.")


@strawberry.enum(name="InsStatisticsDimension", description="What claimStatistics groups by.")
class StatisticsDimension(Enum):
    LINE = "line"
    CAUSE = "cause"
    REGION = "region"
    YEAR = "year"


async def _customer(info: Info[RequestContext, None], customer_id: uuid.UUID) -> CustomerType | None:
    return await customer_of(info.context, customer_id)


@strawberry.type(name="InsRenewalRisk", description="How likely a policy is not to be renewed, and why.")
class RenewalRisk:
    score: Decimal = strawberry.field(description="0 to 1: the rule score, or the model's probability of not renewing.")
    reasons: list[str] = strawberry.field(description="The signals behind the score, strongest first for a model.")
    kind: ChurnModelKind
    raw_policy_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def policy(self, info: Info[RequestContext, None]) -> Policy | None:
        row = await loaders.policies(info.context).load(self.raw_policy_id)
        return Policy.from_model(row) if row is not None else None

    @classmethod
    def from_risk(cls, risk: Risk) -> RenewalRisk:
        return cls(score=risk.score, reasons=list(risk.reasons), kind=risk.kind, raw_policy_id=risk.policy_id)


@strawberry.type(name="InsPolicy", description="A customer's insurance policy for one term.")
class Policy(Node):
    number: str = strawberry.field(description="Unique within the tenant, e.g. POL-000042.")
    line: Line
    status: PolicyStatus
    premium: Decimal
    currency: str
    sum_insured: Decimal
    starts_on: date = strawberry.field(description="The first day of cover.")
    ends_on: date = strawberry.field(description="The day cover ends (not covered).")
    rating_factors: JSON = strawberry.field(
        description='The factor levels it was rated with, e.g. {"driverAge": "26-64"}.'
    )
    renewed_from_id: strawberry.ID | None = strawberry.field(description="The policy this one renews.")
    cancelled_on: date | None
    cancel_reason: str | None
    created_at: datetime
    updated_at: datetime
    raw_id: strawberry.Private[uuid.UUID]
    raw_customer_id: strawberry.Private[uuid.UUID]
    raw_rating_table_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def customer(self, info: Info[RequestContext, None]) -> CustomerType | None:
        return await _customer(info, self.raw_customer_id)

    @strawberry.field(description="The table version it was rated with.")
    async def rating_table(self, info: Info[RequestContext, None]) -> RatingTable | None:
        row = await loaders.rating_tables(info.context).load(self.raw_rating_table_id)
        return RatingTable.from_model(row) if row is not None else None

    @strawberry.field(description="Its risk of not being renewed, scored now; null unless ACTIVE.")
    async def renewal_risk(self, info: Info[RequestContext, None]) -> RenewalRisk | None:
        risk = await loaders.risks(info.context).load(self.raw_id)
        return RenewalRisk.from_risk(risk) if risk is not None else None

    @strawberry.field(description="Its claims, latest loss first.")
    async def claims(self, info: Info[RequestContext, None]) -> list[Claim]:
        rows = await loaders.claims_of_policies(info.context).load(self.raw_id)
        return [Claim.from_model(row) for row in rows]

    @classmethod
    def from_model(cls, row: models.Policy) -> Policy:
        return cls(
            id=ref("InsPolicy", row.id),
            number=row.number,
            line=Line(row.line),
            status=PolicyStatus(row.status),
            premium=row.premium,
            currency=row.currency,
            sum_insured=row.sum_insured,
            starts_on=row.starts_on,
            ends_on=row.ends_on,
            rating_factors=dict(row.rating_factors),
            renewed_from_id=ref("InsPolicy", row.renewed_from_id) if row.renewed_from_id else None,
            cancelled_on=row.cancelled_on,
            cancel_reason=row.cancel_reason,
            created_at=row.created_at,
            updated_at=row.updated_at,
            raw_id=row.id,
            raw_customer_id=row.customer_id,
            raw_rating_table_id=row.rating_table_id,
        )


@strawberry.type(name="InsClaim", description="A loss reported on a policy.")
class Claim(Node):
    number: str = strawberry.field(description="Unique within the tenant, e.g. CLM-000007.")
    occurred_on: date
    reported_on: date
    cause: str
    region: str
    description: str
    status: ClaimStatus
    reserve: Decimal = strawberry.field(description="What is still expected to be paid.")
    paid_amount: Decimal
    incurred: Decimal = strawberry.field(description="paidAmount + reserve.")
    decision_reason: str | None = strawberry.field(description="Why it was denied.")
    created_at: datetime
    updated_at: datetime
    raw_policy_id: strawberry.Private[uuid.UUID]
    raw_customer_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def policy(self, info: Info[RequestContext, None]) -> Policy | None:
        row = await loaders.policies(info.context).load(self.raw_policy_id)
        return Policy.from_model(row) if row is not None else None

    @strawberry.field
    async def customer(self, info: Info[RequestContext, None]) -> CustomerType | None:
        return await _customer(info, self.raw_customer_id)

    @classmethod
    def from_model(cls, row: models.Claim) -> Claim:
        return cls(
            id=ref("InsClaim", row.id),
            number=row.number,
            occurred_on=row.occurred_on,
            reported_on=row.reported_on,
            cause=row.cause,
            region=row.region,
            description=row.description,
            status=ClaimStatus(row.status),
            reserve=row.reserve,
            paid_amount=row.paid_amount,
            incurred=row.paid_amount + row.reserve,
            decision_reason=row.decision_reason,
            created_at=row.created_at,
            updated_at=row.updated_at,
            raw_policy_id=row.policy_id,
            raw_customer_id=row.customer_id,
        )


@strawberry.type(name="InsRatingFactor", description="One level of a rating factor and its relativity.")
class RatingFactor:
    name: str
    level: str
    relativity: Decimal


@strawberry.type(name="InsRatingTable", description="One version of a line's rating table.")
class RatingTable(Node):
    line: Line
    version: int
    base_frequency: Decimal = strawberry.field(description="Expected claims per exposure-year without experience.")
    base_severity: Decimal = strawberry.field(description="Expected cost of a claim as a share of the sum insured.")
    expense_loading: Decimal = strawberry.field(description="Share of the gross premium for expenses.")
    profit_loading: Decimal = strawberry.field(description="Share of the gross premium for profit.")
    full_credibility_claims: int = strawberry.field(description="Claims at which the tenant's experience counts fully.")
    factors: list[RatingFactor]
    created_at: datetime

    @classmethod
    def from_model(cls, row: models.RatingTable) -> RatingTable:
        return cls(
            id=ref("InsRatingTable", row.id),
            line=Line(row.line),
            version=row.version,
            base_frequency=row.base_frequency,
            base_severity=row.base_severity,
            expense_loading=row.expense_loading,
            profit_loading=row.profit_loading,
            full_credibility_claims=row.full_credibility_claims,
            factors=[
                RatingFactor(name=f["name"], level=f["level"], relativity=Decimal(f["relativity"])) for f in row.factors
            ],
            created_at=row.created_at,
        )


@strawberry.type(name="InsQuoteBreakdown", description="Each figure of the quote (docs/api.md, insuranceQuote).")
class QuoteBreakdown:
    base_frequency: Decimal
    observed_frequency: Decimal = strawberry.field(description="The tenant's claims per exposure-year in the line.")
    credibility: Decimal = strawberry.field(description="Z = min(1, sqrt(n / fullCredibilityClaims)).")
    blended_frequency: Decimal
    expected_severity: Decimal = strawberry.field(description="Blended like the frequency; a share of the sum insured.")
    relativity: Decimal = strawberry.field(description="The product of the factor relativities.")
    pure_premium: Decimal
    expense_loading: Decimal
    profit_loading: Decimal


@strawberry.type(name="InsQuote", description="A premium quoted with the line's current rating table.")
class Quote:
    premium: Decimal
    currency: str
    breakdown: QuoteBreakdown
    rating_table_version: int

    @classmethod
    def from_result(cls, result: QuoteResult, currency: str) -> Quote:
        breakdown = QuoteBreakdown(
            base_frequency=result.base_frequency,
            observed_frequency=result.observed_frequency,
            credibility=result.credibility,
            blended_frequency=result.blended_frequency,
            expected_severity=result.expected_severity,
            relativity=result.relativity,
            pure_premium=result.pure_premium,
            expense_loading=result.expense_loading,
            profit_loading=result.profit_loading,
        )
        return cls(
            premium=result.premium, currency=currency, breakdown=breakdown, rating_table_version=result.table.version
        )


@strawberry.type(name="InsStatisticsKey", description="The row's value of each grouped dimension (null: not grouped).")
class StatisticsKey:
    line: Line | None
    cause: str | None
    region: str | None
    year: int | None


@strawberry.type(name="InsStatisticsRow")
class StatisticsRow:
    key: StatisticsKey
    exposure_years: Decimal
    claim_count: int
    frequency: Decimal | None
    severity: Decimal | None
    incurred: Decimal
    earned_premium: Decimal
    loss_ratio: Decimal | None

    @classmethod
    def from_result(cls, row: StatisticsResult) -> StatisticsRow:
        key = StatisticsKey(
            line=Line(row.line) if row.line is not None else None, cause=row.cause, region=row.region, year=row.year
        )
        return cls(
            key=key,
            exposure_years=row.exposure_years,
            claim_count=row.claim_count,
            frequency=row.frequency,
            severity=row.severity,
            incurred=row.incurred,
            earned_premium=row.earned_premium,
            loss_ratio=row.loss_ratio,
        )


@strawberry.type(name="InsChurnModel", description="How the tenant's renewal risks are scored now.")
class ChurnModel:
    kind: ChurnModelKind
    trained_at: datetime | None
    samples: int | None = strawberry.field(description="Past renewal outcomes it was trained on.")
    auc: Decimal | None = strawberry.field(description="Area under the ROC curve on the held-out fifth.")

    @classmethod
    def from_model(cls, row: models.ChurnModel | None) -> ChurnModel:
        if row is None:
            return cls(kind=ChurnModelKind.RULES, trained_at=None, samples=None, auc=None)
        return cls(kind=ChurnModelKind.LOGISTIC_REGRESSION, trained_at=row.trained_at, samples=row.samples, auc=row.auc)


class CoreCustomer(Protocol):
    """What the plugin uses of the core's `Customer` object: its global id."""

    id: strawberry.ID


@strawberry.type
class InsCustomerFields:
    """Fields added to the core `Customer` type (`GraphQLContribution.type_fields`)."""

    @strawberry.field(description="The customer's policies, newest term first.")
    async def policies(
        self, info: Info[RequestContext, None], customer: strawberry.Parent[CoreCustomer]
    ) -> list[Policy]:
        rows = await loaders.policies_of_customers(info.context).load(decode_id(customer.id, "Customer"))
        return [Policy.from_model(row) for row in rows]

    @strawberry.field(description="The customer's claims history, latest loss first.")
    async def claims(self, info: Info[RequestContext, None], customer: strawberry.Parent[CoreCustomer]) -> list[Claim]:
        rows = await loaders.claims_of_customers(info.context).load(decode_id(customer.id, "Customer"))
        return [Claim.from_model(row) for row in rows]


TYPES: tuple[Any, ...] = (
    Policy,
    Claim,
    RatingTable,
    RatingFactor,
    Quote,
    QuoteBreakdown,
    StatisticsKey,
    StatisticsRow,
    RenewalRisk,
    ChurnModel,
)
