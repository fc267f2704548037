"""Per-request DataLoaders: nested objects and lists load in one statement per level, whatever the page size.

Each batch reads through the services with the caller's visibility (a policy of a customer the
caller does not see loads as None, or is left out of a list).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader

from saas.plugin_api import RequestContext, request_loader
from saas_insurance.models import Claim, Policy, RatingTable
from saas_insurance.service import churn
from saas_insurance.service import claims as claim_service
from saas_insurance.service import policies as policy_service
from saas_insurance.service.common import visible_claims, visible_policies


def _with_principal(
    context: RequestContext, work: Callable[[Session, Any, list[uuid.UUID]], dict[uuid.UUID, Any]]
) -> Callable[[Session, list[uuid.UUID]], dict[uuid.UUID, Any]]:
    principal = context.require_principal()

    def batch(session: Session, keys: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
        return work(session, principal, keys)

    return batch


def _policies_by_id(session: Session, principal: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, Policy]:
    return {row.id: row for row in session.scalars(visible_policies(principal).where(Policy.id.in_(ids)))}


def _tables_by_id(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, RatingTable]:
    return {row.id: row for row in session.scalars(select(RatingTable).where(RatingTable.id.in_(ids)))}


def _claims_of_policies(session: Session, principal: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Claim]]:
    found: dict[uuid.UUID, list[Claim]] = {}
    query = visible_claims(principal).where(Claim.policy_id.in_(ids)).order_by(Claim.occurred_on.desc(), Claim.id)
    for row in session.scalars(query):
        found.setdefault(row.policy_id, []).append(row)
    return found


def policies(context: RequestContext) -> DataLoader[uuid.UUID, Policy | None]:
    return request_loader(context, "ins.policies", _with_principal(context, _policies_by_id))


def rating_tables(context: RequestContext) -> DataLoader[uuid.UUID, RatingTable | None]:
    return request_loader(context, "ins.rating_tables", _tables_by_id)


def risks(context: RequestContext) -> DataLoader[uuid.UUID, churn.Risk | None]:
    return request_loader(context, "ins.risks", _with_principal(context, churn.risks_of_policies))


def claims_of_policies(context: RequestContext) -> DataLoader[uuid.UUID, list[Claim]]:
    return request_loader(context, "ins.policy_claims", _with_principal(context, _claims_of_policies), missing=list)


def policies_of_customers(context: RequestContext) -> DataLoader[uuid.UUID, list[Policy]]:
    return request_loader(
        context, "ins.customer_policies", _with_principal(context, policy_service.policies_of_customers), missing=list
    )


def claims_of_customers(context: RequestContext) -> DataLoader[uuid.UUID, list[Claim]]:
    return request_loader(
        context, "ins.customer_claims", _with_principal(context, claim_service.claims_of_customers), missing=list
    )
