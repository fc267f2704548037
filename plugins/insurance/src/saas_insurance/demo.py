"""Demo data: five years of policies, renewals and claims on the demo customers, then a trained model.

Made through the services, acting as the demo owner, year by year: each customer holds one line;
each term may bring claims (some denied); at its end the customer renews or lets it lapse, more
often lapsing after a denied claim or a premium increase (a new AUTO rating table in the third
year raises premiums), so that the churn model has a signal to find. With enough past outcomes
(at least 200: the default 200 demo customers give several hundred) the model is trained; then
the daily retention run scores the coming renewals, makes retention tasks and cross-sell leads.
Every draw comes from `demo.rng`.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from saas.plugin_api import DemoContext
from saas_insurance.models import Line, Policy
from saas_insurance.service import claims, policies, rating, retention, training

YEARS = 5
MAX_CHAINS = 120
CAUSES = {
    Line.AUTO: ("collision", "theft", "glass", "vandalism"),
    Line.HOME: ("fire", "water damage", "storm", "burglary"),
    Line.LIFE: ("death",),
    Line.HEALTH: ("hospital stay", "outpatient", "surgery"),
}
REGIONS = ("North", "South", "East", "West")
SUMS = {
    Line.AUTO: (15_000, 60_000),
    Line.HOME: (150_000, 600_000),
    Line.LIFE: (50_000, 300_000),
    Line.HEALTH: (20_000, 80_000),
}
CLAIM_CHANCE = {Line.AUTO: 0.25, Line.HOME: 0.12, Line.LIFE: 0.01, Line.HEALTH: 0.35}


def _factors(line: Line, rng: Any) -> dict[str, str]:
    levels: dict[str, list[str]] = {}
    for name, level, _ in rating.DEFAULT_TABLES[line]["factors"]:
        levels.setdefault(name, []).append(level)
    return {name: rng.choice(options) for name, options in levels.items()}


def _claims_in_term(demo: DemoContext, policy: Policy, line: Line) -> int:
    """Claims in the policy's term (only the days already past); how many were denied."""
    rng, today = demo.rng, demo.now.date()
    denied = 0
    for _ in range(2):
        if rng.random() >= CLAIM_CHANCE[line]:
            continue
        occurred = policy.starts_on + timedelta(days=rng.randrange((policy.ends_on - policy.starts_on).days))
        if occurred >= today:
            continue
        reported = min(occurred + timedelta(days=rng.randrange(1, 20)), today)
        share = Decimal(rng.randrange(1, 30 if line != Line.LIFE else 101)) / Decimal(100)
        estimate = (policy.sum_insured * share).quantize(Decimal("0.01"))
        data = {
            "policy_id": policy.id,
            "occurred_on": occurred,
            "cause": rng.choice(CAUSES[line]),
            "region": rng.choice(REGIONS),
            "description": "Reported by phone; documents received.",
            "estimated_amount": estimate,
        }
        claim = claims.report_claim(demo.session, demo.owner, data, on=reported)
        if (reported - occurred).days > 14 or rng.random() < 0.15:
            claims.deny_claim(demo.session, demo.owner, claim.id, "Not covered by the policy terms")
            denied += 1
            if rng.random() < 0.5:
                claims.close_claim(demo.session, demo.owner, claim.id)
            continue
        claims.approve_claim(demo.session, demo.owner, claim.id)
        if rng.random() < 0.8:
            paid = (estimate * Decimal(rng.randrange(60, 101)) / Decimal(100)).quantize(Decimal("0.01"))
            if paid > 0:
                claims.pay_claim(demo.session, demo.owner, claim.id, paid, on=reported + timedelta(days=10))
            if rng.random() < 0.7:
                claims.close_claim(demo.session, demo.owner, claim.id)
    return denied


def _publish_auto_increase(demo: DemoContext) -> None:
    table = rating.current_table(demo.session, Line.AUTO.value)
    data = {
        "line": Line.AUTO.value,
        "base_frequency": Decimal("0.11"),
        "base_severity": table.base_severity,
        "expense_loading": table.expense_loading,
        "profit_loading": table.profit_loading,
        "full_credibility_claims": table.full_credibility_claims,
        "factors": [{**f, "relativity": Decimal(f["relativity"])} for f in table.factors],
    }
    rating.set_rating_table(demo.session, demo.owner, data)


def seed(demo: DemoContext) -> None:
    rng, today = demo.rng, demo.now.date()
    rating.ensure_default_tables(demo.session)
    chains: list[tuple[uuid.UUID, Line, Policy]] = []
    lines = [Line.AUTO] * 5 + [Line.HOME] * 3 + [Line.LIFE, Line.HEALTH]
    start_year = today.year - YEARS
    for customer_id in demo.customer_ids[:MAX_CHAINS]:
        line = rng.choice(lines)
        starts = date(start_year, 1, 1) + timedelta(days=rng.randrange(365))
        low, high = SUMS[line]
        data = {
            "customer_id": customer_id,
            "line": line.value,
            "sum_insured": Decimal(rng.randrange(low, high, 1000)),
            "starts_on": starts,
            "ends_on": starts.replace(year=starts.year + 1)
            if (starts.month, starts.day) != (2, 29)
            else starts + timedelta(days=365),
            "rating_factors": _factors(line, rng),
        }
        chains.append((customer_id, line, policies.issue_policy(demo.session, demo.owner, data, on=today)))
    for year in range(YEARS + 1):
        if year == 3:
            _publish_auto_increase(demo)
        still: list[tuple[uuid.UUID, Line, Policy]] = []
        for customer_id, line, policy in chains:
            denied = _claims_in_term(demo, policy, line)
            if policy.ends_on > today:
                continue  # the current term: its renewal is ahead (the retention run scores it)
            offered = rating.quote(
                demo.session, demo.owner, line.value, policy.sum_insured, policy.rating_factors
            ).premium
            increase = (offered - policy.premium) / policy.premium if policy.premium else Decimal(0)
            lapse = 0.1 + 0.35 * min(denied, 1) + (0.3 if increase >= Decimal("0.10") else 0.0)
            if rng.random() < lapse:
                continue  # lapsed: the customer did not renew
            renewed = policies.renew_policy(demo.session, demo.owner, policy.id, on=today)
            still.append((customer_id, line, renewed))
        chains = still
    # A small demo (`--customers`) has too few outcomes: then no model, renewal risks stay rule-scored.
    training.train(demo.session, demo.tenant_id)
    retention.daily(demo.session, demo.tenant_id)
