"""Root mutation fields of the plugin: one `input`, a payload with `userErrors` (the core's conventions).

Every body runs in `run_mutation`: ids named in the input become `userErrors` (`referenced_id`),
and the service runs in its own transaction (`context.write`), so a refused input writes nothing.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from saas.plugin_api import Payload, RequestContext, referenced_id, require, run_mutation
from saas_insurance.graphql import types
from saas_insurance.models import Line
from saas_insurance.rules import MODEL_MANAGE
from saas_insurance.service import claims, policies, rating, training

# -- inputs -------------------------------------------------------------------------------------


@strawberry.input(name="InsRatingFactorInput")
class RatingFactorInput:
    name: str
    level: str
    relativity: Decimal


@strawberry.input(name="InsSetRatingTableInput")
class SetRatingTableInput:
    line: Line
    base_frequency: Decimal = strawberry.field(description="Claims per exposure-year, above 0.")
    base_severity: Decimal = strawberry.field(
        description="Cost of a claim as a share of the sum insured, above 0, at most 1."
    )
    expense_loading: Decimal
    profit_loading: Decimal = strawberry.field(description="expenseLoading + profitLoading must be below 1.")
    full_credibility_claims: int | None = strawberry.field(default=None, description="Default 1082.")
    factors: list[RatingFactorInput]


@strawberry.input(name="InsIssuePolicyInput")
class IssuePolicyInput:
    customer_id: strawberry.ID
    line: Line
    sum_insured: Decimal
    starts_on: date
    ends_on: date = strawberry.field(description="The day cover ends (not covered); a term is at most 5 years.")
    rating_factors: JSON | None = None
    premium: Decimal | None = strawberry.field(default=None, description="Default: the quote's.")


@strawberry.input(name="InsRenewPolicyInput")
class RenewPolicyInput:
    id: strawberry.ID


@strawberry.input(name="InsCancelPolicyInput")
class CancelPolicyInput:
    id: strawberry.ID
    reason: str


@strawberry.input(name="InsReportClaimInput")
class ReportClaimInput:
    policy_id: strawberry.ID
    occurred_on: date = strawberry.field(
        description="Inside the policy's term (OUTSIDE_TERM otherwise), not in the future."
    )
    cause: str
    region: str
    description: str
    estimated_amount: Decimal | None = strawberry.field(default=None, description="The first reserve.")


@strawberry.input(name="InsSetClaimReserveInput")
class SetClaimReserveInput:
    id: strawberry.ID
    reserve: Decimal


@strawberry.input(name="InsApproveClaimInput")
class ApproveClaimInput:
    id: strawberry.ID


@strawberry.input(name="InsDenyClaimInput")
class DenyClaimInput:
    id: strawberry.ID
    reason: str


@strawberry.input(name="InsPayClaimInput")
class PayClaimInput:
    id: strawberry.ID
    amount: Decimal


@strawberry.input(name="InsCloseClaimInput")
class CloseClaimInput:
    id: strawberry.ID


# -- payloads -----------------------------------------------------------------------------------


@strawberry.type(name="InsSetRatingTablePayload")
class SetRatingTablePayload(Payload):
    rating_table: types.RatingTable | None = None


@strawberry.type(name="InsPolicyPayload", description="The policy after the change.")
class PolicyPayload(Payload):
    policy: types.Policy | None = None


@strawberry.type(name="InsClaimPayload", description="The claim after the change.")
class ClaimPayload(Payload):
    claim: types.Claim | None = None


@strawberry.type(name="InsTrainChurnModelPayload")
class TrainChurnModelPayload(Payload):
    queued: bool = strawberry.field(default=False, description="The training job was enqueued.")
    outcomes: int | None = strawberry.field(default=None, description="Past renewal outcomes it will learn from.")


async def _policy(info: Info[RequestContext, None], work: Any, *args: Any) -> PolicyPayload:
    context = info.context
    principal = context.require_principal()

    async def run() -> dict[str, Any]:
        row = await context.write(work, principal, *(arg() if callable(arg) else arg for arg in args))
        return {"policy": types.Policy.from_model(row)}

    return await run_mutation(run, PolicyPayload)  # type: ignore[no-any-return]


async def _claim(info: Info[RequestContext, None], work: Any, raw_id: strawberry.ID, *args: Any) -> ClaimPayload:
    context = info.context
    principal = context.require_principal()

    async def run() -> dict[str, Any]:
        claim_id = referenced_id(raw_id, "InsClaim", "id")
        row = await context.write(work, principal, claim_id, *args)
        return {"claim": types.Claim.from_model(row)}

    return await run_mutation(run, ClaimPayload)  # type: ignore[no-any-return]


def _outcomes(session: Any, principal: Any) -> int:
    require(principal.permissions, MODEL_MANAGE)
    return len(training.count_outcomes(session, principal.tenant_id))


@strawberry.type
class InsuranceMutations:
    @strawberry.mutation(description="Publish a new version of a line's rating table; policies keep theirs.")
    async def set_rating_table(
        self, info: Info[RequestContext, None], input: SetRatingTableInput
    ) -> SetRatingTablePayload:
        context = info.context
        principal = context.require_principal()
        data = {
            "line": input.line.value,
            "base_frequency": input.base_frequency,
            "base_severity": input.base_severity,
            "expense_loading": input.expense_loading,
            "profit_loading": input.profit_loading,
            "full_credibility_claims": input.full_credibility_claims,
            "factors": [{"name": f.name, "level": f.level, "relativity": f.relativity} for f in input.factors],
        }

        async def run() -> dict[str, Any]:
            row = await context.write(rating.set_rating_table, principal, data)
            return {"rating_table": types.RatingTable.from_model(row)}

        return await run_mutation(run, SetRatingTablePayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Issue a policy to a visible customer; without a premium, the quoted one.")
    async def issue_policy(self, info: Info[RequestContext, None], input: IssuePolicyInput) -> PolicyPayload:
        def data() -> dict[str, Any]:
            return {
                "customer_id": referenced_id(input.customer_id, "Customer", "customerId"),
                "line": input.line.value,
                "sum_insured": input.sum_insured,
                "starts_on": input.starts_on,
                "ends_on": input.ends_on,
                "rating_factors": input.rating_factors,
                "premium": input.premium,
            }

        return await _policy(info, policies.issue_policy, data)

    @strawberry.mutation(description="Renew a policy for its next term, re-rated; the old one is linked from the new.")
    async def renew_policy(self, info: Info[RequestContext, None], input: RenewPolicyInput) -> PolicyPayload:
        return await _policy(info, policies.renew_policy, lambda: referenced_id(input.id, "InsPolicy", "id"))

    @strawberry.mutation(description="Cancel an active policy today, with a reason.")
    async def cancel_policy(self, info: Info[RequestContext, None], input: CancelPolicyInput) -> PolicyPayload:
        return await _policy(
            info, policies.cancel_policy, lambda: referenced_id(input.id, "InsPolicy", "id"), input.reason
        )

    @strawberry.mutation(description="First notice of loss on a policy.")
    async def report_claim(self, info: Info[RequestContext, None], input: ReportClaimInput) -> ClaimPayload:
        context = info.context
        principal = context.require_principal()

        async def run() -> dict[str, Any]:
            data = {
                "policy_id": referenced_id(input.policy_id, "InsPolicy", "policyId"),
                "occurred_on": input.occurred_on,
                "cause": input.cause,
                "region": input.region,
                "description": input.description,
                "estimated_amount": input.estimated_amount,
            }
            row = await context.write(claims.report_claim, principal, data)
            return {"claim": types.Claim.from_model(row)}

        return await run_mutation(run, ClaimPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Set what is still expected to be paid on an open claim.")
    async def set_claim_reserve(self, info: Info[RequestContext, None], input: SetClaimReserveInput) -> ClaimPayload:
        return await _claim(info, claims.set_reserve, input.id, input.reserve)

    @strawberry.mutation(description="Approve a reported claim: it may be paid.")
    async def approve_claim(self, info: Info[RequestContext, None], input: ApproveClaimInput) -> ClaimPayload:
        return await _claim(info, claims.approve_claim, input.id)

    @strawberry.mutation(description="Deny a reported claim, with a reason.")
    async def deny_claim(self, info: Info[RequestContext, None], input: DenyClaimInput) -> ClaimPayload:
        return await _claim(info, claims.deny_claim, input.id, input.reason)

    @strawberry.mutation(
        description="Pay on an approved claim; all payments on the policy stay within its sum insured."
    )
    async def pay_claim(self, info: Info[RequestContext, None], input: PayClaimInput) -> ClaimPayload:
        return await _claim(info, claims.pay_claim, input.id, input.amount)

    @strawberry.mutation(description="Close a decided claim.")
    async def close_claim(self, info: Info[RequestContext, None], input: CloseClaimInput) -> ClaimPayload:
        return await _claim(info, claims.close_claim, input.id)

    @strawberry.mutation(
        description="Enqueue training of the tenant's churn model (at least 200 past renewal outcomes)."
    )
    async def train_churn_model(self, info: Info[RequestContext, None]) -> TrainChurnModelPayload:
        from saas_insurance.jobs import train_churn_model

        context = info.context
        principal = context.require_principal()

        async def run() -> dict[str, Any]:
            outcomes = await context.read(_outcomes, principal)
            train_churn_model.send(principal.tenant_id)
            return {"queued": True, "outcomes": outcomes}

        return await run_mutation(run, TrainChurnModelPayload)  # type: ignore[no-any-return]
