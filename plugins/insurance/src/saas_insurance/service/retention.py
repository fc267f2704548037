"""The daily retention work: expire ended policies, refresh renewal scores, give the owners of the
riskiest policies a task, and put cross-sell leads in the lead pool.

Each runs in the job's one transaction. A retention task is made at most once per policy and a
cross-sell lead at most once per customer and line: the record of it (`ins_retention_tasks`,
`ins_cross_sell_leads`) is written in the transaction that makes the task or lead, under a
per-tenant advisory lock, so reruns and concurrent runs of the job make no second one.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from decimal import Decimal

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from saas.plugin_api import Principal, create_follow_up_task, create_pool_lead
from saas_insurance.models import CrossSellLead, Policy, RetentionTask
from saas_insurance.rules import READ
from saas_insurance.service import churn
from saas_insurance.service.common import settings
from saas_insurance.service.policies import expire_policies


def job_principal(tenant_id: uuid.UUID) -> Principal:
    """The jobs act for the tenant: they read every policy (no member's visibility applies)."""
    return Principal(tenant_id=tenant_id, label="job:insurance", permissions=frozenset({READ}))


def _lock(session: Session, tenant_id: uuid.UUID, what: str) -> None:
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"ins-{what}:{tenant_id}"})


def refresh_scores(session: Session, principal: Principal) -> list[churn.Risk]:
    """Score every active policy ending within the horizon and keep the score on it; riskiest first."""
    now = datetime.now(UTC)
    config = settings(session)
    risks = churn.score(session, churn.upcoming_signals(session, principal, config.renewal_horizon_days))
    for risk in risks:
        session.execute(
            update(Policy)
            .where(Policy.id == risk.policy_id)
            .values(renewal_score=risk.score, renewal_reasons=risk.reasons, scored_at=now)
            .execution_options(synchronize_session=False)
        )
    return sorted(risks, key=lambda r: (-r.score, str(r.policy_id)))


def create_retention_tasks(session: Session, principal: Principal, risks: list[churn.Risk]) -> list[uuid.UUID]:
    """A task for the owner of each of the riskiest policies (at or above the threshold, at most
    `retentionTasksPerRun`) that has none yet and whose customer has an owner; the task ids."""
    config = settings(session)
    _lock(session, principal.tenant_id, "retention")
    done = set(session.scalars(select(RetentionTask.policy_id)))
    made: list[uuid.UUID] = []
    for risk in risks:
        if len(made) >= config.retention_tasks_per_run or risk.score < config.retention_threshold:
            break
        if risk.policy_id in done:
            continue
        policy = session.get(Policy, (principal.tenant_id, risk.policy_id))
        assert policy is not None
        owner = session.scalar(
            text("SELECT owner_id FROM customers WHERE tenant_id = :tenant_id AND id = :id AND deleted_at IS NULL"),
            {"tenant_id": principal.tenant_id, "id": policy.customer_id},
        )
        if owner is None:
            continue
        due = datetime.combine(churn.renewal_due(policy), time(9), tzinfo=UTC)
        reasons = "; ".join(risk.reasons) or "risk score"
        title = f"Retain {policy.number} (risk {risk.score}): {reasons}"[:200]
        task_id = create_follow_up_task(session, principal, customer_id=policy.customer_id, title=title, due_at=due)
        session.add(RetentionTask(policy_id=policy.id, task_id=task_id))
        made.append(task_id)
    session.flush()
    return made


CROSS_SELL_SQL = """
SELECT DISTINCT ON (p.customer_id) p.customer_id, cu.name AS customer, cu.kind, ct.name, ct.email, ct.phone, p.number
FROM ins_policies p JOIN customers cu ON cu.tenant_id = p.tenant_id AND cu.id = p.customer_id AND cu.deleted_at IS NULL
LEFT JOIN contacts ct ON ct.tenant_id = p.tenant_id AND ct.customer_id = p.customer_id AND ct.is_primary
  AND ct.deleted_at IS NULL
WHERE p.tenant_id = :tenant_id AND p.status = 'active' AND p.line = :holds AND p.sum_insured >= :min_sum
  AND NOT EXISTS (SELECT 1 FROM ins_policies o WHERE o.tenant_id = p.tenant_id AND o.customer_id = p.customer_id
                  AND o.line = :offer AND o.status = 'active')
  AND NOT EXISTS (SELECT 1 FROM ins_cross_sell_leads x WHERE x.tenant_id = p.tenant_id AND x.customer_id = p.customer_id
                  AND x.line = :offer)
ORDER BY p.customer_id, p.number
"""


def cross_sell(session: Session, principal: Principal) -> list[uuid.UUID]:
    """A pool lead for each customer matching a cross-sell rule, once per customer and offered line:
    named after the customer's primary contact (with its e-mail and phone), the customer as company."""
    config = settings(session)
    _lock(session, principal.tenant_id, "cross-sell")
    made: list[uuid.UUID] = []
    for rule in config.cross_sell_rules:
        params = {
            "tenant_id": principal.tenant_id,
            "holds": rule.holds.value,
            "offer": rule.offer.value,
            "min_sum": Decimal(rule.min_sum_insured),
        }
        for row in session.execute(text(CROSS_SELL_SQL), params).all():
            if session.get(CrossSellLead, (principal.tenant_id, row.customer_id, rule.offer.value)) is not None:
                continue  # two rules offering one line
            note = f"Holds {rule.holds.value.upper()} policy {row.number}; offer {rule.offer.value.upper()} cover."
            company = row.customer if row.kind == "company" else None
            lead_id = create_pool_lead(
                session,
                principal,
                name=row.name or row.customer,
                company=company,
                email=row.email,
                phone=row.phone,
                note=note,
            )
            session.add(CrossSellLead(customer_id=row.customer_id, line=rule.offer.value, lead_id=lead_id))
            session.flush()
            made.append(lead_id)
    return made


def daily(session: Session, tenant_id: uuid.UUID) -> dict[str, int]:
    """The periodic job's work, in order; what it did."""
    principal = job_principal(tenant_id)
    expired = expire_policies(session, principal)
    risks = refresh_scores(session, principal)
    tasks = create_retention_tasks(session, principal, risks)
    leads = cross_sell(session, principal)
    return {"expired": expired, "scored": len(risks), "tasks": len(tasks), "leads": len(leads)}
