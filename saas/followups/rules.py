"""Who sees which follow-ups, as SQL (shared by compiled reads, loaders and services).

- Activities are visible with their subject (`saas.followups.subjects`).
- Tasks: owners, admins and the other roles that see every customer see every task; a sales
  rep sees the tasks assigned to them only (their agenda), whoever's customer they are about.
- Handovers are visible with their customer.
Principals scoped to one customer (portal contacts) see none of them. Row-level security keeps
every statement to the caller's tenant.
"""

from __future__ import annotations

from saas.auth.principal import Principal
from saas.customers.rules import SqlCondition, customer_visibility
from saas.followups.subjects import subject_visible_sql


def _base(principal: Principal, alias: str) -> SqlCondition:
    """No tenant predicate: the compiler adds it to compiled reads, and the timeline to its sources."""
    condition = SqlCondition()
    if principal.scope:
        condition.add("FALSE")
    return condition


def activity_condition(principal: Principal, alias: str) -> SqlCondition:
    condition = _base(principal, alias)
    subject = subject_visible_sql(principal, alias)
    condition.add(subject.sql, **subject.params)
    return condition


def task_visibility(principal: Principal, alias: str, condition: SqlCondition) -> None:
    if principal.sees_all_customers:
        return
    condition.add(f"{alias}.assignee_id = :viewer_membership_id", viewer_membership_id=principal.membership_id)


def task_condition(principal: Principal, alias: str) -> SqlCondition:
    condition = _base(principal, alias)
    task_visibility(principal, alias, condition)
    return condition


def handover_condition(principal: Principal, alias: str) -> SqlCondition:
    condition = _base(principal, alias)
    customer = SqlCondition()
    customer_visibility(principal, "hc", customer)
    condition.add(
        f"EXISTS (SELECT 1 FROM customers hc WHERE hc.id = {alias}.customer_id AND hc.deleted_at IS NULL "
        f"AND {customer.sql})",
        **customer.params,
    )
    return condition
