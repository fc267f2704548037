"""Who sees which returns, as SQL: the one place for the list, `node(id)`, loaders and services.

A return is visible with its customer, as the order it comes from is (`customer_record_conditions`,
the deals rule for records that follow a sale: a sales rep sees the returns of the customers they
see); a return's lines with their return. Conditions name no tenant for their own rows (the
compiler adds it; the ORM paths run on the tenant-bound session under row-level security).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from saas.auth.principal import Principal
from saas.db.conditions import SqlCondition
from saas.deals.rules import customer_record_conditions
from saas.returns.models import ReturnStatus
from saas.tenancy.session import TENANT_PARAM, tenant_predicate


def return_conditions(principal: Principal, alias: str) -> SqlCondition:
    """Returns of the customers the principal sees."""
    return customer_record_conditions(principal, alias)


def return_line_conditions(principal: Principal, alias: str) -> SqlCondition:
    """A return's lines: visible with their return."""
    condition = SqlCondition()
    parent = return_conditions(principal, "vr")
    parent.add(tenant_predicate("vr"), **{TENANT_PARAM: principal.tenant_id})
    condition.add(
        f"EXISTS (SELECT 1 FROM return_requests vr WHERE vr.id = {alias}.return_id AND {parent.sql})", **parent.params
    )
    return condition


@dataclass(frozen=True)
class ReturnFilter:
    status: ReturnStatus | None = None
    order_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None

    def apply(self, condition: SqlCondition, alias: str) -> None:
        condition.given(f"{alias}.status", "f_status", self.status, convert=lambda v: ReturnStatus(v).value)
        condition.given(f"{alias}.order_id", "f_order_id", self.order_id)
        condition.given(f"{alias}.customer_id", "f_customer_id", self.customer_id)
