"""Loyalty's service: balances, adjusting points, welcome points, expiry, default tiers.

Every function takes a session bound to one tenant (a request's, a job's or a hook's): the
tenant filter and row-level security are the host's business, not ours.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from saas.plugin_api import (
    Checker,
    FieldError,
    InputInvalid,
    Principal,
    UserErrorCode,
    api_object,
    emit_event,
    record_change,
    require,
    snapshot,
)
from sqlalchemy import func, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from saas_plugin_loyalty.models import LoyaltyEntry, LoyaltyTier
from saas_plugin_loyalty.rules import LOYALTY_ADJUST

MAX_ADJUSTMENT = 1_000_000
# The plugin's domain event (declared with `saas_event_types`; webhooks may subscribe to it).
POINTS_ADJUSTED = "loyalty.points_adjusted"
DEFAULT_TIERS = (("Bronze", 0), ("Silver", 1_000), ("Gold", 5_000))


def balances(session: Session, customer_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    """The balance of each customer that has entries, by customer id (one statement for all)."""
    rows = session.execute(
        select(LoyaltyEntry.customer_id, func.sum(LoyaltyEntry.points))
        .where(LoyaltyEntry.customer_id.in_(customer_ids))
        .group_by(LoyaltyEntry.customer_id)
    )
    return {customer_id: int(total) for customer_id, total in rows}


def balance_of(session: Session, customer_id: uuid.UUID) -> int:
    """One customer's balance: 0 before any points were earned."""
    return balances(session, [customer_id]).get(customer_id, 0)


def entries(session: Session, customer_id: uuid.UUID, limit: int) -> list[LoyaltyEntry]:
    """A customer's entries, newest first."""
    query = (
        select(LoyaltyEntry)
        .where(LoyaltyEntry.customer_id == customer_id)
        .order_by(LoyaltyEntry.created_at.desc(), LoyaltyEntry.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def entry(session: Session, entry_id: uuid.UUID) -> LoyaltyEntry | None:
    """One entry of the session's tenant, or None (another tenant's is hidden by row-level security)."""
    return session.scalars(select(LoyaltyEntry).where(LoyaltyEntry.id == entry_id)).first()


def tiers(session: Session) -> list[LoyaltyTier]:
    return list(session.scalars(select(LoyaltyTier).order_by(LoyaltyTier.min_points, LoyaltyTier.name)))


def _lock_customer(session: Session, customer_id: uuid.UUID) -> None:
    """Serialise changes of one customer's points, so that concurrent redemptions never overdraw."""
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"loyalty:{customer_id}"})


def adjust_points(
    session: Session,
    principal: Principal,
    customer_id: uuid.UUID,
    points: int,
    reason: str,
    expires_at: datetime | None = None,
) -> tuple[LoyaltyEntry, int]:
    """Award (positive) or redeem (negative) points; returns the entry and the new balance."""
    require(principal.permissions, LOYALTY_ADJUST)
    check = Checker({"reason": reason})
    check.text("reason", required=True, max_length=200)
    if points == 0 or abs(points) > MAX_ADJUSTMENT:
        check.fail("points", UserErrorCode.INVALID, f"points must be non-zero and at most {MAX_ADJUSTMENT} either way")
    if expires_at is not None and points < 0:
        check.fail("expires_at", UserErrorCode.INVALID, "only awarded points expire")
    clean = check.done()
    _lock_customer(session, customer_id)
    balance = balance_of(session, customer_id)
    if balance + points < 0:
        raise InputInvalid([FieldError(["input", "points"], UserErrorCode.INVALID, f"only {balance} points left")])
    entry = LoyaltyEntry(customer_id=customer_id, points=points, reason=clean["reason"], expires_at=expires_at)
    try:
        with session.begin_nested():
            session.add(entry)
    except IntegrityError:  # the composite foreign key: no such customer in this tenant
        raise InputInvalid([FieldError(["input", "customerId"], UserErrorCode.NOT_FOUND, "No such Customer")]) from None
    record_change(session, principal, POINTS_ADJUSTED, "LoyaltyEntry", entry.id, None, snapshot(entry))
    from saas_plugin_loyalty.graphql.types import LoyaltyEntry as EntryType  # the API's shape of an entry

    emit_event(
        session, POINTS_ADJUSTED, {"entry": api_object(EntryType.from_model(entry)), "balance": balance + points}
    )
    return entry, balance + points


def award_welcome_points(
    session: Session, tenant_id: uuid.UUID, customer_id: uuid.UUID, points: int, event_id: uuid.UUID
) -> bool:
    """Points for a new customer, once per event however often it is delivered; False if already booked."""
    if points <= 0:
        return False
    values = {
        "tenant_id": tenant_id,
        "customer_id": customer_id,
        "points": points,
        "reason": "Welcome",
        "event_id": event_id,
    }
    statement = (
        insert(LoyaltyEntry)
        .values(values)
        .on_conflict_do_nothing(index_elements=["tenant_id", "event_id"])
        .returning(LoyaltyEntry.id)
    )
    return session.execute(statement).scalar_one_or_none() is not None


def _valid_after(session: Session, entry: LoyaltyEntry) -> int:
    """The customer's earned points that stay valid after `entry` expires (they are redeemed last)."""
    total = session.scalar(
        select(func.coalesce(func.sum(LoyaltyEntry.points), 0)).where(
            LoyaltyEntry.customer_id == entry.customer_id,
            LoyaltyEntry.points > 0,
            LoyaltyEntry.expired.is_(False),
            LoyaltyEntry.id != entry.id,
            or_(LoyaltyEntry.expires_at.is_(None), LoyaltyEntry.expires_at > entry.expires_at),
        )
    )
    return int(total or 0)


def expire_due_points(session: Session, now: datetime) -> int:
    """Book the expiry of earned points whose date passed; returns how many awards expired.

    Redemptions use the soonest-expiring points first, so what expires is what is left of the
    award beyond the points that stay valid longer: never more than the balance.
    """
    due = session.scalars(
        select(LoyaltyEntry)
        .where(LoyaltyEntry.expires_at <= now, LoyaltyEntry.expired.is_(False), LoyaltyEntry.points > 0)
        .order_by(LoyaltyEntry.expires_at, LoyaltyEntry.id)
        .with_for_update(skip_locked=True)
    ).all()
    for entry in due:
        _lock_customer(session, entry.customer_id)
        lapsed = min(entry.points, balance_of(session, entry.customer_id) - _valid_after(session, entry))
        if lapsed > 0:
            session.add(LoyaltyEntry(customer_id=entry.customer_id, points=-lapsed, reason="Expired"))
        entry.expired = True
        session.flush()
    return len(due)


def seed_default_tiers(session: Session, tenant_id: uuid.UUID) -> None:
    """Bronze, Silver and Gold, unless the tenant has them already (enabling again changes nothing)."""
    rows = [{"tenant_id": tenant_id, "name": name, "min_points": points} for name, points in DEFAULT_TIERS]
    session.execute(insert(LoyaltyTier).values(rows).on_conflict_do_nothing(index_elements=["tenant_id", "name"]))
