"""Claims: first notice of loss inside the policy's term, reserve, approve or deny, pay, close.

    REPORTED ──approve──▶ APPROVED ──pay…──▶ APPROVED ──close──▶ CLOSED
        └──────deny (reason)──▶ DENIED ──close──▶ CLOSED

Payments never exceed the policy's sum insured, all claims of the policy together: a payment
locks the policy's row first (`SELECT … FOR UPDATE`), then sums what was paid on it, so two
concurrent payments on one policy (even on two of its claims) are serialised and the second sees
the first. A payment lowers the reserve by its amount (not below 0); `incurred` = paid + reserve.
Each change is on the customer's timeline and is a domain event.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saas.plugin_api import (
    Checker,
    NotFoundError,
    Page,
    Principal,
    UserErrorCode,
    add_timeline_entry,
    keyset_page,
    require,
    to_global_id,
)
from saas_insurance import events
from saas_insurance.errors import InsErrorCode, invalid
from saas_insurance.models import Claim, ClaimPayment, ClaimStatus, Policy
from saas_insurance.rules import CLAIMS_WRITE, READ
from saas_insurance.service.common import get_claim, get_policy, next_number, today, visible_claims
from saas_insurance.service.rating import CENT


@dataclass(frozen=True)
class ClaimFilter:
    policy_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    status: str | None = None
    occurred_from: date | None = None
    occurred_to: date | None = None


def _timeline(session: Session, principal: Principal, claim: Claim, kind: str, summary: str) -> None:
    add_timeline_entry(
        session,
        principal,
        customer_id=claim.customer_id,
        kind=kind,
        summary=summary[:500],
        subject_id=to_global_id("InsClaim", claim.id),
    )


def _amount(value: Any, field: str, *, positive: bool) -> Decimal:
    low = CENT if positive else Decimal(0)
    if not isinstance(value, Decimal) or not value.is_finite() or not low <= value <= Decimal("1e12"):
        raise invalid(["input", field], UserErrorCode.INVALID, f"{field} must be {low} to 1000000000000")
    if value != value.quantize(CENT):
        raise invalid(["input", field], UserErrorCode.INVALID, f"{field} has at most 2 decimal places")
    return value


def _paid_on_policy(session: Session, policy_id: uuid.UUID) -> Decimal:
    total = session.scalar(select(func.coalesce(func.sum(Claim.paid_amount), 0)).where(Claim.policy_id == policy_id))
    return Decimal(total or 0)


def _claim_for_change(session: Session, principal: Principal, claim_id: uuid.UUID) -> tuple[Claim, Policy]:
    """The claim and its policy, the policy's row locked first (the order every change takes)."""
    require(principal.permissions, CLAIMS_WRITE)
    try:
        claim = get_claim(session, principal, claim_id)
        policy = get_policy(session, principal, claim.policy_id, lock=True)
        session.refresh(claim, with_for_update=True)
    except NotFoundError:
        raise invalid(["input", "id"], UserErrorCode.NOT_FOUND, "No such claim") from None
    return claim, policy


def _require_status(claim: Claim, *allowed: ClaimStatus) -> None:
    if claim.status not in {s.value for s in allowed}:
        raise invalid(["input", "id"], InsErrorCode.INVALID_STATUS_TRANSITION, f"The claim is {claim.status}")


def report_claim(session: Session, principal: Principal, data: dict[str, Any], *, on: date | None = None) -> Claim:
    """First notice of loss on a visible policy; `occurredOn` must lie in its term (OUTSIDE_TERM)."""
    require(principal.permissions, CLAIMS_WRITE)
    on = on or today()
    check = Checker(data)
    check.text("cause", required=True, max_length=100)
    check.text("region", required=True, max_length=100)
    check.text("description", required=True, max_length=5000)
    clean = check.done()
    reserve = Decimal(0)
    if data.get("estimated_amount") is not None:
        reserve = _amount(data["estimated_amount"], "estimatedAmount", positive=False)
    try:
        policy = get_policy(session, principal, data["policy_id"], lock=True)
    except NotFoundError:
        raise invalid(["input", "policyId"], UserErrorCode.NOT_FOUND, "No such policy") from None
    occurred_on: date = data["occurred_on"]
    if occurred_on > on:
        raise invalid(["input", "occurredOn"], UserErrorCode.INVALID, "occurredOn is in the future")
    term_end = policy.cancelled_on or policy.ends_on
    if not policy.starts_on <= occurred_on < term_end:
        raise invalid(
            ["input", "occurredOn"],
            InsErrorCode.OUTSIDE_TERM,
            f"{policy.number} covers {policy.starts_on} up to (not including) {term_end}",
        )
    if reserve > policy.sum_insured - _paid_on_policy(session, policy.id):
        raise invalid(
            ["input", "estimatedAmount"], InsErrorCode.EXCEEDS_SUM_INSURED, "Above what the policy still covers"
        )
    claim = Claim(
        id=uuid.uuid4(),
        number=next_number(session, principal.tenant_id, "claim", "CLM"),
        policy_id=policy.id,
        customer_id=policy.customer_id,
        occurred_on=occurred_on,
        reported_on=on,
        cause=clean["cause"],
        region=clean["region"],
        description=clean["description"],
        status=ClaimStatus.REPORTED.value,
        reserve=reserve,
        paid_amount=Decimal(0),
    )
    session.add(claim)
    session.flush()
    session.refresh(claim)
    _timeline(
        session,
        principal,
        claim,
        "INS_CLAIM_REPORTED",
        f"{claim.number} on {policy.number}: {claim.cause}, {claim.region}",
    )
    events.claim_changed(session, events.CLAIM_REPORTED, claim)
    return claim


def set_reserve(session: Session, principal: Principal, claim_id: uuid.UUID, reserve: Any) -> Claim:
    """The outstanding estimate of an open claim (REPORTED or APPROVED), within what the policy still covers."""
    claim, policy = _claim_for_change(session, principal, claim_id)
    amount = _amount(reserve, "reserve", positive=False)
    _require_status(claim, ClaimStatus.REPORTED, ClaimStatus.APPROVED)
    if amount > policy.sum_insured - _paid_on_policy(session, policy.id):
        raise invalid(["input", "reserve"], InsErrorCode.EXCEEDS_SUM_INSURED, "Above what the policy still covers")
    claim.reserve = amount
    session.flush()
    session.refresh(claim)
    _timeline(session, principal, claim, "INS_CLAIM_RESERVE_SET", f"{claim.number}: reserve {amount} {policy.currency}")
    events.claim_changed(session, events.CLAIM_RESERVE_SET, claim)
    return claim


def approve_claim(session: Session, principal: Principal, claim_id: uuid.UUID) -> Claim:
    claim, _ = _claim_for_change(session, principal, claim_id)
    _require_status(claim, ClaimStatus.REPORTED)
    claim.status = ClaimStatus.APPROVED.value
    session.flush()
    session.refresh(claim)
    _timeline(session, principal, claim, "INS_CLAIM_APPROVED", f"{claim.number} approved")
    events.claim_changed(session, events.CLAIM_APPROVED, claim)
    return claim


def deny_claim(session: Session, principal: Principal, claim_id: uuid.UUID, reason: Any) -> Claim:
    """A reported claim is refused with a reason; its reserve is released (nothing will be paid)."""
    check = Checker({"reason": reason})
    check.text("reason", required=True, max_length=500)
    clean = check.done()
    claim, _ = _claim_for_change(session, principal, claim_id)
    _require_status(claim, ClaimStatus.REPORTED)
    claim.status = ClaimStatus.DENIED.value
    claim.decision_reason = clean["reason"]
    claim.reserve = Decimal(0)
    session.flush()
    session.refresh(claim)
    _timeline(session, principal, claim, "INS_CLAIM_DENIED", f"{claim.number} denied: {clean['reason']}")
    events.claim_changed(session, events.CLAIM_DENIED, claim)
    return claim


def pay_claim(
    session: Session, principal: Principal, claim_id: uuid.UUID, amount: Any, *, on: date | None = None
) -> Claim:
    """A payment on an approved claim; all payments on the policy stay within its sum insured
    (EXCEEDS_SUM_INSURED otherwise: the policy's row lock makes the check race-safe)."""
    claim, policy = _claim_for_change(session, principal, claim_id)
    value = _amount(amount, "amount", positive=True)
    _require_status(claim, ClaimStatus.APPROVED)
    left = policy.sum_insured - _paid_on_policy(session, policy.id)
    if value > left:
        raise invalid(
            ["input", "amount"],
            InsErrorCode.EXCEEDS_SUM_INSURED,
            f"{left} {policy.currency} of the sum insured is left",
        )
    session.add(ClaimPayment(id=uuid.uuid4(), claim_id=claim.id, amount=value, paid_on=on or today()))
    claim.paid_amount = claim.paid_amount + value
    claim.reserve = max(Decimal(0), claim.reserve - value)
    session.flush()
    session.refresh(claim)
    _timeline(session, principal, claim, "INS_CLAIM_PAID", f"{claim.number}: paid {value} {policy.currency}")
    events.claim_changed(session, events.CLAIM_PAID, claim, payment={"amount": str(value), "currency": policy.currency})
    return claim


def close_claim(session: Session, principal: Principal, claim_id: uuid.UUID) -> Claim:
    """A decided claim (approved or denied) is closed; what was not paid is no longer reserved."""
    claim, _ = _claim_for_change(session, principal, claim_id)
    _require_status(claim, ClaimStatus.APPROVED, ClaimStatus.DENIED)
    claim.status = ClaimStatus.CLOSED.value
    claim.reserve = Decimal(0)
    session.flush()
    session.refresh(claim)
    _timeline(session, principal, claim, "INS_CLAIM_CLOSED", f"{claim.number} closed, {claim.paid_amount} paid")
    events.claim_changed(session, events.CLAIM_CLOSED, claim)
    return claim


def list_claims(
    session: Session, principal: Principal, flt: ClaimFilter, limit: int, after: list[Any] | None
) -> Page[Claim]:
    """Visible claims, newest first (keyset on created_at, id): two statements whatever the page size."""
    require(principal.permissions, READ)
    query = visible_claims(principal)
    if flt.policy_id is not None:
        query = query.where(Claim.policy_id == flt.policy_id)
    if flt.customer_id is not None:
        query = query.where(Claim.customer_id == flt.customer_id)
    if flt.status is not None:
        query = query.where(Claim.status == flt.status)
    if flt.occurred_from is not None:
        query = query.where(Claim.occurred_on >= flt.occurred_from)
    if flt.occurred_to is not None:
        query = query.where(Claim.occurred_on <= flt.occurred_to)
    return keyset_page(session, query, (Claim.created_at, Claim.id), limit, after, descending=True)


def claims_of_customers(
    session: Session, principal: Principal, customer_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[Claim]]:
    """Each customer's visible claims, latest loss first: one statement for a page of customers."""
    require(principal.permissions, READ)
    found: dict[uuid.UUID, list[Claim]] = {}
    query = visible_claims(principal).where(Claim.customer_id.in_(customer_ids))
    for row in session.scalars(query.order_by(Claim.occurred_on.desc(), Claim.id)):
        found.setdefault(row.customer_id, []).append(row)
    return found
