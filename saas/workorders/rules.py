"""Who sees which work orders, as SQL: the one place for the calendar, `node(id)`, loaders and services.

A work order is visible with its customer, like the records that follow a sale
(`customer_record_conditions`): service members see every customer's; a sales rep those of the
customers they see. The calendar's window keeps the work orders that overlap it (a visit that
starts before the window and ends inside it is on the calendar). Conditions name no tenant for
their own rows (the compiler adds it; the ORM paths run on the tenant-bound session under
row-level security).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from saas.auth.principal import Principal
from saas.customers.rules import customer_visibility
from saas.db.conditions import SqlCondition
from saas.deals.rules import customer_record_conditions
from saas.workorders.models import WorkOrderStatus


def work_order_conditions(principal: Principal, alias: str) -> SqlCondition:
    return customer_record_conditions(principal, alias)


def assignable_customer(principal: Principal, alias: str) -> SqlCondition:
    """A customer a work order may be made for: one the principal sees, not deleted."""
    condition = SqlCondition()
    condition.add(f"{alias}.deleted_at IS NULL")
    customer_visibility(principal, alias, condition)
    return condition


@dataclass(frozen=True)
class WorkOrderFilter:
    technician_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    starts_before: datetime | None = None  # the window's end (`to`)
    ends_after: datetime | None = None  # the window's start (`from`)
    status: WorkOrderStatus | None = None

    def apply(self, condition: SqlCondition, alias: str) -> None:
        condition.given(f"{alias}.technician_id", "f_technician_id", self.technician_id)
        condition.given(f"{alias}.customer_id", "f_customer_id", self.customer_id)
        condition.given(f"{alias}.ends_at", "f_from", self.ends_after, op=">")
        condition.given(f"{alias}.starts_at", "f_to", self.starts_before, op="<")
        condition.given(f"{alias}.status", "f_status", self.status, convert=lambda v: WorkOrderStatus(v).value)
