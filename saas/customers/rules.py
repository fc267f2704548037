"""Which customers a principal may see, and the list filters, as SQL: the one place for both.

The compiled GraphQL reads and the services both call these, so a rule cannot differ
between reading a list and changing a record.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.accounts.ownership import MANAGED_OWNERS_SQL
from saas.auth.principal import Principal
from saas.custom_fields.rules import CustomFieldFilter, custom_field_condition
from saas.customers.models import Contact, Customer, LifecycleStage
from saas.db.conditions import SqlCondition


def owner_visibility(principal: Principal, alias: str, condition: SqlCondition, *, pool: bool = True) -> None:
    """The ownership rule for every owned sales record (customers, leads, opportunities, ...).

    Owners and admins (and the other roles of `ROLES_SEEING_ALL_CUSTOMERS`) see every record;
    other members see the records they own, those owned by the members of the teams they
    manage, and, when the record kind has a pool (`pool=True`), the unowned ones.
    `owner_visible_to` is the same rule for one record already in hand.
    """
    if principal.sees_all_customers:
        return
    seen = f"{alias}.owner_id = :viewer_membership_id OR {alias}.owner_id IN ({MANAGED_OWNERS_SQL})"
    condition.add(
        f"({alias}.owner_id IS NULL OR {seen})" if pool else f"({seen})",
        viewer_membership_id=principal.membership_id,
    )


def owner_visible_to(principal: Principal, owner_id: uuid.UUID | str | None, *, pool: bool = True) -> bool:
    """`owner_visibility` for one record already in hand (e.g. in a live event).

    The members of the viewer's teams come with the principal (`Principal.team_member_ids`,
    read when the credential is checked), so this agrees with the SQL rule within the
    credential cache's window.
    """
    if principal.sees_all_customers:
        return True
    if owner_id is None:
        return pool
    owner = str(owner_id)
    return owner == str(principal.membership_id) or owner in {str(m) for m in principal.team_member_ids}


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
    return owner_visible_to(principal, owner_id, pool=True)


def scope_stands(session: Session, principal: Principal) -> bool:
    """The customer (`customer_id`) and contact (`contact_id`, of that customer) a scoped token
    names exist and are not deleted; the session's tenant filter keeps other tenants' rows out.

    The credential check asks it of every scoped token (the runtime hands it over with the
    tenant's features), so a portal contact's token ends when its customer or contact does.
    """
    named_customer, named_contact = principal.scoped("customer_id"), principal.scoped("contact_id")
    try:
        customer_id = uuid.UUID(named_customer) if named_customer is not None else None
        contact_id = uuid.UUID(named_contact) if named_contact is not None else None
    except ValueError:
        return False
    if customer_id is not None:
        live = select(Customer.id).where(Customer.id == customer_id, Customer.deleted_at.is_(None))
        if session.scalar(live) is None:
            return False
    if contact_id is not None:
        contact = select(Contact.id).where(Contact.id == contact_id, Contact.deleted_at.is_(None))
        if customer_id is not None:
            contact = contact.where(Contact.customer_id == customer_id)
        if session.scalar(contact) is None:
            return False
    return True


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


def contains_pattern(term: str) -> str:
    """The LIKE pattern of the rows containing `term`: `%term%`, its `%`, `_` and `\\` matched as
    themselves."""
    return f"%{escape_like(term)}%"


# A `search` filter's pattern lower-cased by PostgreSQL, once per statement (an InitPlan: a
# function of a parameter in a generic plan would run for every row). The searches compare
# stored lower-case copies of the columns with `LIKE` (`name_key LIKE lower(:search)` is what
# `name ILIKE :search` computes): under row-level security no index serves either (neither is
# leakproof), so a search reads the tenant's rows until its page is full, and `ILIKE`
# lower-cased every row's value and the pattern on the way (docs/performance.md, "Searches under
# row-level security").
LOWERED_SEARCH = "(SELECT lower(:search))"


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
        # Planned for the value (`saas.db.prepared.plan_cache_mode`), so `lower` of it is folded.
        condition.add(f"{alias}.name_key LIKE lower(:search)", search=contains_pattern(flt.search.strip()))
    condition.given(f"{alias}.owner_id", "owner_id", flt.owner_id)
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
