"""Renewal risk: what is known about a policy near its renewal (its signals), and two ways to score it.

By default a transparent rule score: each rule reads one signal and adds a weight and a reason;
the score is their sum, at most 1. Once the tenant trained a churn model (`training.py`), the
score is the logistic regression's probability of not renewing, and the reasons are the signals
whose contributions raise it most. Both are `Decimal` arithmetic from the stored coefficients.

Complaint tickets (the core's tickets of type `complaint`, read through `complaint_counts`) are a
rule only, not a feature of the regression: a stored model has no coefficient for them, and the
training data would need each past policy's complaints as of its own term's end, which the core's
tickets (new, with no history before them) cannot give yet. A trained model's score ignores them.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from saas.plugin_api import Principal, complaint_counts, require
from saas_insurance.models import ChurnModel, ChurnModelKind, Policy
from saas_insurance.rules import READ
from saas_insurance.service.common import settings, today, visible_customers_sql
from saas_insurance.settings import InsuranceSettings

CLAIM_WINDOW_DAYS = 3 * 365
NEVER_CONTACTED_DAYS = 730
FOUR = Decimal("0.0001")


@dataclass(frozen=True)
class Signals:
    """One policy at a day (`as_of`: today for a live score, the term's end for a past outcome)."""

    policy_id: uuid.UUID
    days_to_expiry: int
    denied_claims: int  # the customer's, reported in the 3 years up to as_of
    claim_count: int  # the customer's claims not denied, same window
    premium_increase: Decimal  # this term's premium over the renewed term's, as a fraction (0: not a renewal)
    days_without_contact: int | None  # since the customer's last activity; None: never contacted
    renewals: int
    renewed: bool  # a renewal of this policy exists (the outcome, for training)
    customer_id: uuid.UUID | None = None
    complaint_tickets: int = 0  # the customer's, created in the complaint window up to today (live scores only)

    def months_without_contact(self) -> Decimal:
        days = NEVER_CONTACTED_DAYS if self.days_without_contact is None else self.days_without_contact
        return min(Decimal(24), Decimal(days) / Decimal(30))


SIGNALS_SQL = """
SELECT p.id, p.customer_id, a.as_of, p.ends_on - a.as_of AS days_to_expiry, p.renewals,
  COALESCE((p.premium - prev.premium) / NULLIF(prev.premium, 0), 0) AS premium_increase,
  (SELECT count(*) FROM ins_claims c WHERE c.tenant_id = p.tenant_id AND c.customer_id = p.customer_id
     AND c.status = 'denied' AND c.reported_on <= a.as_of AND c.reported_on > a.as_of - :window) AS denied_claims,
  (SELECT count(*) FROM ins_claims c WHERE c.tenant_id = p.tenant_id AND c.customer_id = p.customer_id
     AND c.status <> 'denied' AND c.reported_on <= a.as_of AND c.reported_on > a.as_of - :window) AS claim_count,
  a.as_of - (SELECT max(ac.occurred_at) FROM activities ac WHERE ac.tenant_id = p.tenant_id
     AND ac.customer_id = p.customer_id AND ac.occurred_at < a.as_of + 1)::date AS days_without_contact,
  EXISTS (SELECT 1 FROM ins_policies n WHERE n.tenant_id = p.tenant_id AND n.renewed_from_id = p.id) AS renewed
FROM ins_policies p
LEFT JOIN ins_policies prev ON prev.tenant_id = p.tenant_id AND prev.id = p.renewed_from_id
CROSS JOIN LATERAL (SELECT {as_of} AS as_of) a
WHERE p.tenant_id = :tenant_id AND {where}
ORDER BY p.ends_on, p.id
"""


def _signals(row: Any) -> Signals:
    return Signals(
        policy_id=row.id,
        days_to_expiry=int(row.days_to_expiry),
        denied_claims=int(row.denied_claims),
        claim_count=int(row.claim_count),
        premium_increase=Decimal(row.premium_increase),
        days_without_contact=None if row.days_without_contact is None else int(row.days_without_contact),
        renewals=int(row.renewals),
        renewed=bool(row.renewed),
        customer_id=row.customer_id,
    )


def upcoming_signals(
    session: Session, principal: Principal, within_days: int, policy_ids: list[uuid.UUID] | None = None
) -> list[Signals]:
    """Signals today of the caller's visible active policies ending within `within_days` (or of
    `policy_ids`, whatever their end): one statement for the signals and one for the complaint tickets
    of their customers (in the tenant's complaint window), whatever the number of policies."""
    visible_sql, params = visible_customers_sql(principal)
    where = f"p.status = 'active' AND p.customer_id IN ({visible_sql})"
    params = {**params, "tenant_id": principal.tenant_id, "today": today(), "window": CLAIM_WINDOW_DAYS}
    if policy_ids is None:
        where += " AND p.ends_on >= CAST(:today AS date) AND p.ends_on <= CAST(:today AS date) + :within"
        params["within"] = within_days
    else:
        where += " AND p.id = ANY(CAST(:policy_ids AS uuid[]))"
        params["policy_ids"] = [str(i) for i in policy_ids]
    sql = SIGNALS_SQL.format(as_of="CAST(:today AS date)", where=where)
    found = [_signals(row) for row in session.execute(text(sql), params)]
    return with_complaints(session, found, settings(session).complaint_window_days)


def with_complaints(session: Session, signals: list[Signals], window_days: int) -> list[Signals]:
    """`signals` with their customers' complaint tickets created since the start of the day
    `window_days` before today: one statement (none for no signals)."""
    customer_ids = [s.customer_id for s in signals if s.customer_id is not None]
    if not customer_ids:
        return signals
    since = datetime.combine(today() - timedelta(days=window_days), time.min, tzinfo=UTC)
    counts = complaint_counts(session, customer_ids, since=since)
    return [
        dataclasses.replace(s, complaint_tickets=counts.get(s.customer_id, 0)) if s.customer_id else s for s in signals
    ]


def past_outcomes(session: Session, tenant_id: uuid.UUID) -> list[Signals]:
    """Every policy whose term is over (ended or cancelled by today), with its signals at that end and
    whether it was renewed: the training data of the churn model. One statement."""
    where = "COALESCE(p.cancelled_on, p.ends_on) <= CAST(:today AS date)"
    sql = SIGNALS_SQL.format(as_of="COALESCE(p.cancelled_on, p.ends_on)", where=where)
    params = {"tenant_id": tenant_id, "today": today(), "window": CLAIM_WINDOW_DAYS}
    return [_signals(row) for row in session.execute(text(sql), params)]


@dataclass(frozen=True)
class Risk:
    policy_id: uuid.UUID
    score: Decimal
    reasons: list[str]
    kind: ChurnModelKind


# --- the transparent rules -------------------------------------------------------------------

Rule = Callable[[Signals, InsuranceSettings], tuple[Decimal, str] | None]


def expiring_soon(s: Signals, config: InsuranceSettings) -> tuple[Decimal, str] | None:
    if s.days_to_expiry <= 30:
        return Decimal("0.20"), f"Expires in {s.days_to_expiry} days"
    if s.days_to_expiry <= config.renewal_horizon_days:
        return Decimal("0.10"), f"Expires in {s.days_to_expiry} days"
    return None


def denied_claims(s: Signals, config: InsuranceSettings) -> tuple[Decimal, str] | None:
    if s.denied_claims == 0:
        return None
    return min(Decimal("0.50"), Decimal("0.25") * s.denied_claims), f"{s.denied_claims} denied claim(s) in 3 years"


def premium_increase(s: Signals, config: InsuranceSettings) -> tuple[Decimal, str] | None:
    percent = (s.premium_increase * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if s.premium_increase >= Decimal("0.25"):
        return Decimal("0.35"), f"Premium rose {percent}% at renewal"
    if s.premium_increase >= Decimal("0.10"):
        return Decimal("0.25"), f"Premium rose {percent}% at renewal"
    return None


def no_contact(s: Signals, config: InsuranceSettings) -> tuple[Decimal, str] | None:
    if s.days_without_contact is None:
        return Decimal("0.20"), "Never contacted"
    if s.days_without_contact >= config.no_contact_days:
        return Decimal("0.20"), f"No contact for {s.days_without_contact} days"
    return None


def complaints(s: Signals, config: InsuranceSettings) -> tuple[Decimal, str] | None:
    if s.complaint_tickets == 0:
        return None
    tickets = "ticket" if s.complaint_tickets == 1 else "tickets"
    weight = min(Decimal("0.45"), Decimal("0.15") * s.complaint_tickets)
    return weight, f"{s.complaint_tickets} complaint {tickets} in the last {config.complaint_window_days} days"


# The rule score's inputs, in the order their reasons are listed.
RULES: tuple[Rule, ...] = (expiring_soon, denied_claims, premium_increase, complaints, no_contact)


def rule_risk(s: Signals, config: InsuranceSettings) -> Risk:
    total, reasons = Decimal(0), []
    for rule in RULES:
        found = rule(s, config)
        if found is not None:
            total += found[0]
            reasons.append(found[1])
    return Risk(s.policy_id, min(Decimal(1), total).quantize(FOUR), reasons, ChurnModelKind.RULES)


# --- the logistic regression -----------------------------------------------------------------

FEATURES = ("denied_claims", "claim_count", "premium_increase", "months_without_contact", "renewals")


def features(s: Signals) -> list[Decimal]:
    return [
        Decimal(s.denied_claims),
        Decimal(s.claim_count),
        s.premium_increase,
        s.months_without_contact(),
        Decimal(min(s.renewals, 10)),
    ]


def _reason(name: str, s: Signals) -> str:
    if name == "denied_claims":
        return f"{s.denied_claims} denied claim(s) in 3 years"
    if name == "claim_count":
        return f"{s.claim_count} claim(s) in 3 years"
    if name == "premium_increase":
        return f"Premium changed {(s.premium_increase * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)}% at renewal"
    if name == "months_without_contact":
        return "Never contacted" if s.days_without_contact is None else f"No contact for {s.days_without_contact} days"
    return f"{s.renewals} renewal(s) so far"


def model_risk(s: Signals, model: ChurnModel) -> Risk:
    """P(not renewed) = 1 / (1 + e^-(b + Σ wᵢ·(xᵢ - meanᵢ)/scaleᵢ)); the reasons are the (up to 3)
    features whose terms raise it, largest first."""
    total = Decimal(model.intercept)
    contributions = []
    for name, value in zip(FEATURES, features(s), strict=True):
        spec = model.coefficients[name]
        term = Decimal(spec["coefficient"]) * (value - Decimal(spec["mean"])) / Decimal(spec["scale"])
        total += term
        contributions.append((term, name))
    probability = Decimal(1) / (Decimal(1) + (-total).exp())
    reasons = [_reason(name, s) for term, name in sorted(contributions, reverse=True)[:3] if term > 0]
    return Risk(s.policy_id, probability.quantize(FOUR), reasons, ChurnModelKind.LOGISTIC_REGRESSION)


def current_model(session: Session) -> ChurnModel | None:
    return session.scalars(select(ChurnModel).order_by(ChurnModel.trained_at.desc()).limit(1)).first()


def score(session: Session, signals: list[Signals]) -> list[Risk]:
    model = current_model(session)
    config = settings(session)
    return [model_risk(s, model) if model is not None else rule_risk(s, config) for s in signals]


def renewal_risks(
    session: Session, principal: Principal, within_days: int | None, limit: int
) -> list[tuple[Policy, Risk]]:
    """The caller's visible active policies ending within the horizon, riskiest first."""
    require(principal.permissions, READ)
    horizon = within_days if within_days is not None else settings(session).renewal_horizon_days
    risks = score(session, upcoming_signals(session, principal, horizon))
    risks.sort(key=lambda r: (-r.score, str(r.policy_id)))
    chosen = risks[:limit]
    policies = {p.id: p for p in session.scalars(select(Policy).where(Policy.id.in_([r.policy_id for r in chosen])))}
    return [(policies[r.policy_id], r) for r in chosen]


def risks_of_policies(session: Session, principal: Principal, policy_ids: list[uuid.UUID]) -> dict[uuid.UUID, Risk]:
    """The live risk of each active policy among `policy_ids` (others have none): for `InsPolicy.renewalRisk`."""
    require(principal.permissions, READ)
    return {r.policy_id: r for r in score(session, upcoming_signals(session, principal, 0, policy_ids))}


def renewal_due(policy: Policy, on: date | None = None) -> date:
    """When a retention task on the policy is due: a week before its end, or tomorrow when later."""
    on = on or today()
    return max(policy.ends_on - timedelta(days=7), on + timedelta(days=1))
