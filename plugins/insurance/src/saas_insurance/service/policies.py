"""Policies: issue (rated by the line's current table unless a premium is given), renew, cancel, expire.

A policy is ACTIVE until its term ends (EXPIRED, by the daily job or at once for a term already
over) or it is cancelled (CANCELLED, its term cut at the cancellation day). A renewal is a new
policy for the next term, pointing at the one it renews; the unique index on `renewed_from_id`
makes a second renewal of one policy fail even under concurrent requests (ALREADY_RENEWED).
Each change is on the customer's timeline and is a domain event.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from saas.plugin_api import (
    BadUserInputError,
    Checker,
    NotFoundError,
    Page,
    Principal,
    UserErrorCode,
    add_timeline_entry,
    get_customer,
    keyset_page,
    require,
    to_global_id,
)
from saas_insurance import events
from saas_insurance.errors import InsErrorCode, invalid
from saas_insurance.models import Line, Policy, PolicyStatus
from saas_insurance.rules import POLICIES_WRITE, READ
from saas_insurance.service import rating
from saas_insurance.service.common import get_policy, next_number, settings, today, visible_policies

MAX_TERM_DAYS = 5 * 366


@dataclass(frozen=True)
class PolicyFilter:
    customer_id: uuid.UUID | None = None
    line: str | None = None
    status: str | None = None
    expiring_within_days: int | None = None


def _timeline(session: Session, principal: Principal, policy: Policy, kind: str, summary: str) -> None:
    add_timeline_entry(
        session,
        principal,
        customer_id=policy.customer_id,
        kind=kind,
        summary=summary,
        subject_id=to_global_id("InsPolicy", policy.id),
    )


def _status_for(ends_on: date, on: date) -> str:
    return (PolicyStatus.EXPIRED if ends_on <= on else PolicyStatus.ACTIVE).value


def _premium(value: Any) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite() or not Decimal(0) <= value <= Decimal("1e12"):
        raise invalid(["input", "premium"], UserErrorCode.INVALID, "premium must be 0 to 1000000000000")
    if value != value.quantize(rating.CENT):
        raise invalid(["input", "premium"], UserErrorCode.INVALID, "premium has at most 2 decimal places")
    return value


def issue_policy(session: Session, principal: Principal, data: dict[str, Any], *, on: date | None = None) -> Policy:
    """A new policy for a visible customer; without `premium`, the quote's (and its table version)."""
    require(principal.permissions, POLICIES_WRITE)
    on = on or today()
    sum_insured = rating.check_sum_insured(data.get("sum_insured"), ["input", "sumInsured"])
    factors = rating.check_factors(data.get("rating_factors"), ["input", "ratingFactors"])
    starts_on, ends_on = data["starts_on"], data["ends_on"]
    if ends_on <= starts_on:
        raise invalid(["input", "endsOn"], UserErrorCode.INVALID, "endsOn must be after startsOn")
    if (ends_on - starts_on).days > MAX_TERM_DAYS:
        raise invalid(["input", "endsOn"], UserErrorCode.INVALID, "A term is at most 5 years")
    try:
        customer = get_customer(session, principal, data["customer_id"])
    except NotFoundError:
        raise invalid(["input", "customerId"], UserErrorCode.NOT_FOUND, "No such customer") from None
    line = Line(data["line"]).value
    table = rating.current_table(session, line)
    relativity = rating.relativity_of(table, factors, ["input", "ratingFactors"])
    if data.get("premium") is not None:
        premium = _premium(data["premium"])
    else:
        premium = rating.price(table, rating.experience(session, line), relativity, sum_insured).premium
    policy = Policy(
        id=uuid.uuid4(),
        number=next_number(session, principal.tenant_id, "policy", "POL"),
        customer_id=customer.id,
        line=line,
        status=_status_for(ends_on, on),
        premium=premium,
        currency=settings(session).currency,
        sum_insured=sum_insured,
        starts_on=starts_on,
        ends_on=ends_on,
        rating_factors=factors,
        rating_table_id=table.id,
        renewed_from_id=data.get("renewed_from_id"),
        renewals=data.get("renewals", 0),
    )
    session.add(policy)
    session.flush()
    session.refresh(policy)
    summary = f"{policy.number} issued: {line.upper()} {premium} {policy.currency}, {starts_on} to {ends_on}"
    _timeline(session, principal, policy, "INS_POLICY_ISSUED", summary)
    events.policy_changed(session, events.POLICY_ISSUED, policy)
    return policy


def renew_policy(session: Session, principal: Principal, policy_id: uuid.UUID, *, on: date | None = None) -> Policy:
    """The next term of an active or expired policy: same cover and factors, re-rated with the line's
    current table, starting when the old one ends; the old one stays as it is."""
    require(principal.permissions, POLICIES_WRITE)
    try:
        old = get_policy(session, principal, policy_id, lock=True)
    except NotFoundError:
        raise invalid(["input", "id"], UserErrorCode.NOT_FOUND, "No such policy") from None
    if old.status == PolicyStatus.CANCELLED.value:
        raise invalid(["input", "id"], InsErrorCode.INVALID_STATUS_TRANSITION, "A cancelled policy cannot be renewed")
    if session.scalar(select(Policy.id).where(Policy.renewed_from_id == old.id)) is not None:
        raise invalid(["input", "id"], InsErrorCode.ALREADY_RENEWED, f"{old.number} was renewed already")
    term = old.ends_on - old.starts_on
    data = {
        "customer_id": old.customer_id,
        "line": old.line,
        "sum_insured": old.sum_insured,
        "starts_on": old.ends_on,
        "ends_on": old.ends_on + term,
        "rating_factors": dict(old.rating_factors),
        "renewed_from_id": old.id,
        "renewals": old.renewals + 1,
    }
    new = issue_policy(session, principal, data, on=on)
    _timeline(session, principal, old, "INS_POLICY_RENEWED", f"{old.number} renewed as {new.number}")
    events.policy_changed(session, events.POLICY_RENEWED, new, previous_policy=events.policy(old))
    return new


def cancel_policy(
    session: Session, principal: Principal, policy_id: uuid.UUID, reason: Any, *, on: date | None = None
) -> Policy:
    """An active policy ends today (or on its start, if later: it never ran) with a reason."""
    require(principal.permissions, POLICIES_WRITE)
    check = Checker({"reason": reason})
    check.text("reason", required=True, max_length=500)
    clean = check.done()
    try:
        policy = get_policy(session, principal, policy_id, lock=True)
    except NotFoundError:
        raise invalid(["input", "id"], UserErrorCode.NOT_FOUND, "No such policy") from None
    if policy.status != PolicyStatus.ACTIVE.value:
        raise invalid(["input", "id"], InsErrorCode.INVALID_STATUS_TRANSITION, f"The policy is {policy.status}")
    on = on or today()
    policy.status = PolicyStatus.CANCELLED.value
    policy.cancelled_on = min(max(on, policy.starts_on), policy.ends_on)
    policy.cancel_reason = clean["reason"]
    session.flush()
    session.refresh(policy)
    _timeline(session, principal, policy, "INS_POLICY_CANCELLED", f"{policy.number} cancelled: {clean['reason']}"[:500])
    events.policy_changed(session, events.POLICY_CANCELLED, policy)
    return policy


def expire_policies(session: Session, principal: Principal, on: date | None = None) -> int:
    """Active policies whose term is over become EXPIRED (the daily job); how many did."""
    on = on or today()
    ids = list(
        session.scalars(
            update(Policy)
            .where(Policy.status == PolicyStatus.ACTIVE.value, Policy.ends_on <= on)
            .values(status=PolicyStatus.EXPIRED.value)
            .returning(Policy.id)
            .execution_options(synchronize_session=False)
        )
    )
    for policy in session.scalars(select(Policy).where(Policy.id.in_(ids))):
        session.refresh(policy)
        _timeline(session, principal, policy, "INS_POLICY_EXPIRED", f"{policy.number} expired on {policy.ends_on}")
        events.policy_changed(session, events.POLICY_EXPIRED, policy)
    return len(ids)


def _filtered(principal: Principal, flt: PolicyFilter, on: date) -> Any:
    query = visible_policies(principal)
    if flt.customer_id is not None:
        query = query.where(Policy.customer_id == flt.customer_id)
    if flt.line is not None:
        query = query.where(Policy.line == flt.line)
    if flt.status is not None:
        query = query.where(Policy.status == flt.status)
    if flt.expiring_within_days is not None:
        query = query.where(
            Policy.status == PolicyStatus.ACTIVE.value,
            Policy.ends_on >= on,
            Policy.ends_on <= on + timedelta(days=flt.expiring_within_days),
        )
    return query


def list_policies(
    session: Session, principal: Principal, flt: PolicyFilter, limit: int, after: list[Any] | None
) -> Page[Policy]:
    """Visible policies, newest first (keyset on created_at, id): two statements whatever the page size."""
    require(principal.permissions, READ)
    if flt.expiring_within_days is not None and not 0 <= flt.expiring_within_days <= 3650:
        raise BadUserInputError("filter.expiringWithinDays: must be 0 to 3650")
    query = _filtered(principal, flt, today())
    return keyset_page(session, query, (Policy.created_at, Policy.id), limit, after, descending=True)


def policies_of_customers(
    session: Session, principal: Principal, customer_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[Policy]]:
    """Each customer's visible policies, newest term first: one statement for a page of customers."""
    require(principal.permissions, READ)
    found: dict[uuid.UUID, list[Policy]] = {}
    query = visible_policies(principal).where(Policy.customer_id.in_(customer_ids))
    for row in session.scalars(query.order_by(Policy.starts_on.desc(), Policy.id)):
        found.setdefault(row.customer_id, []).append(row)
    return found
