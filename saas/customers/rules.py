"""Which customers a principal may see, and the list filters, as SQL: the one place for both.

The compiled GraphQL reads and the services both call these, so a rule cannot differ
between reading a list and changing a record.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from saas.auth.principal import Principal
from saas.custom_fields.rules import CustomFieldFilter, custom_field_condition
from saas.customers.models import LifecycleStage


@dataclass
class SqlCondition:
    """A SQL boolean expression over a table alias, with its bind parameters."""

    parts: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def add(self, sql: str, **params: Any) -> None:
        self.parts.append(sql)
        self.params.update(params)

    @property
    def sql(self) -> str:
        return " AND ".join(self.parts) if self.parts else "TRUE"


def owner_visibility(principal: Principal, alias: str, condition: SqlCondition, *, pool: bool = True) -> None:
    """The ownership rule for every owned sales record (customers, leads, opportunities, ...).

    Owners and admins see every record; other members see the records they own and, when the
    record kind has a pool (`pool=True`), the unowned ones.
    """
    if principal.sees_all_customers:
        return
    owned = f"{alias}.owner_id = :viewer_membership_id"
    condition.add(
        f"({alias}.owner_id IS NULL OR {owned})" if pool else owned,
        viewer_membership_id=principal.membership_id,
    )


def customer_visibility(principal: Principal, alias: str, condition: SqlCondition) -> None:
    """Sales reps see the customers they own and the unowned pool; other roles see all.

    A principal scoped to one customer (a portal contact) sees that customer only.
    """
    scoped_customer = principal.scoped("customer_id")
    if scoped_customer is not None:
        condition.add(f"{alias}.id = CAST(:scoped_customer_id AS uuid)", scoped_customer_id=scoped_customer)
    owner_visibility(principal, alias, condition, pool=True)


def customer_visible_to(principal: Principal, owner_id: uuid.UUID | str | None) -> bool:
    """`customer_visibility` for one customer already in hand (e.g. in a live event)."""
    if principal.scope:
        return False  # scoped principals (portal contacts) get no live customer events
    return principal.sees_all_customers or owner_id is None or str(owner_id) == str(principal.membership_id)


@dataclass(frozen=True)
class CustomerFilter:
    search: str | None = None
    owner_id: uuid.UUID | None = None
    unowned: bool | None = None
    tag: str | None = None
    lifecycle_stage: LifecycleStage | None = None
    include_deleted: bool = False
    only_deleted: bool = False
    custom_field: CustomFieldFilter | None = None


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def customer_conditions(principal: Principal, alias: str, flt: CustomerFilter | None) -> SqlCondition:
    """Visibility, soft-delete and filter conditions for a customers list (the compiler adds the tenant)."""
    flt = flt or CustomerFilter()
    condition = SqlCondition()
    if flt.only_deleted:
        condition.add(f"{alias}.deleted_at IS NOT NULL")
    elif not flt.include_deleted:
        condition.add(f"{alias}.deleted_at IS NULL")
    customer_visibility(principal, alias, condition)
    if flt.search:
        condition.add(f"{alias}.name ILIKE :search", search=f"%{escape_like(flt.search.strip())}%")
    if flt.owner_id is not None:
        condition.add(f"{alias}.owner_id = :owner_id", owner_id=flt.owner_id)
    if flt.unowned is True:
        condition.add(f"{alias}.owner_id IS NULL")
    elif flt.unowned is False:
        condition.add(f"{alias}.owner_id IS NOT NULL")
    if flt.tag:
        condition.add(f"{alias}.tags @> ARRAY[CAST(:tag AS varchar)]", tag=flt.tag.strip().lower())
    if flt.lifecycle_stage:
        condition.add(f"{alias}.lifecycle_stage = :lifecycle_stage", lifecycle_stage=flt.lifecycle_stage)
    if flt.custom_field is not None:
        custom_field_condition(condition, alias, flt.custom_field)
    return condition
