"""What every insurance service shares: the caller's visibility, numbering, the clock, settings.

A policy or claim is visible exactly when its customer is (`customer_visibility`, the core's rule):
every read and every change first finds its row through `visible_policies` / `visible_claims`,
so a caller never learns of or touches another tenant's (the session and RLS) or an invisible
customer's record (NOT_FOUND, as if it did not exist).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, select, text
from sqlalchemy.orm import Session

from saas.plugin_api import (
    NotFoundError,
    Principal,
    SqlCondition,
    customer_visibility,
    plugin_settings,
    require,
)
from saas_insurance import NAME
from saas_insurance.models import Claim, Counter, Policy
from saas_insurance.settings import InsuranceSettings


def today() -> date:
    return datetime.now(UTC).date()


def settings(session: Session) -> InsuranceSettings:
    return InsuranceSettings.model_validate(plugin_settings(session, NAME) or {})


def visible_customers_sql(principal: Principal) -> tuple[str, dict[str, Any]]:
    """A subquery of the ids of the customers the caller sees (not deleted), and its parameters
    (a new dictionary for each call).

    Built once per principal (`Principal.derived`): it depends on the principal's fields alone
    (its tenant, role, membership and scope), and the credential cache answers the same principal
    to every request of a credential, so the lists' requests do not build it again."""
    sql, params = principal.derived(visible_customers_sql, _visible_customers_sql)
    return sql, dict(params)


def _visible_customers_sql(principal: Principal) -> tuple[str, dict[str, Any]]:
    condition = SqlCondition()
    condition.add("vc.deleted_at IS NULL")
    customer_visibility(principal, "vc", condition)
    sql = f"SELECT vc.id FROM customers vc WHERE vc.tenant_id = CAST(:vis_tenant AS uuid) AND {condition.sql}"
    return sql, {**condition.params, "vis_tenant": str(principal.tenant_id)}


def visible(query: Select[Any], column: Any, principal: Principal) -> Select[Any]:
    sql, params = visible_customers_sql(principal)
    return query.where(column.in_(text(sql).bindparams(**params)))


def visible_policies(principal: Principal) -> Select[Any]:
    return visible(select(Policy), Policy.customer_id, principal)


def visible_claims(principal: Principal) -> Select[Any]:
    return visible(select(Claim), Claim.customer_id, principal)


def get_policy(session: Session, principal: Principal, policy_id: uuid.UUID, *, lock: bool = False) -> Policy:
    """The policy if the caller may read it, else NOT_FOUND."""
    from saas_insurance.rules import READ

    require(principal.permissions, READ)
    query = visible_policies(principal).where(Policy.id == policy_id)
    row = session.scalars(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFoundError("Policy not found", id=str(policy_id))
    return row


def get_claim(session: Session, principal: Principal, claim_id: uuid.UUID, *, lock: bool = False) -> Claim:
    """The claim if the caller may read it, else NOT_FOUND."""
    from saas_insurance.rules import READ

    require(principal.permissions, READ)
    query = visible_claims(principal).where(Claim.id == claim_id)
    row = session.scalars(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFoundError("Claim not found", id=str(claim_id))
    return row


def next_number(session: Session, tenant_id: uuid.UUID, kind: str, prefix: str) -> str:
    """The tenant's next number of `kind` (`POL-000001`): one row per kind, incremented under its
    row lock, so two concurrent issues never get the same number and none is skipped."""
    from sqlalchemy.dialects.postgresql import insert

    statement = (
        insert(Counter)
        .values(tenant_id=tenant_id, kind=kind, last=1)
        .on_conflict_do_update(index_elements=["tenant_id", "kind"], set_={"last": Counter.last + 1})
        .returning(Counter.last)
    )
    last = session.execute(statement).scalar_one()
    return f"{prefix}-{last:06d}"
