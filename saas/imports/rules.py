"""Who sees which import jobs, as SQL: the one rule for the list, `importJob`, `node(id)`, the rows and `importProgress`.

Roles that see every customer (owners, admins, viewers, service) see every import of the tenant;
everyone else sees the imports they started. Conditions name no tenant (the compiler adds it;
the ORM paths run on the tenant-bound session under row-level security).
"""

from __future__ import annotations

import uuid

from saas.auth.permissions import CUSTOMERS_READ, CUSTOMERS_WRITE, LEADS_READ, LEADS_WRITE, require
from saas.auth.principal import Principal
from saas.db.conditions import SqlCondition
from saas.imports.models import ImportEntity

# The permission an import of each entity needs: its service's write permission (the services check it again per row).
WRITE_PERMISSION = {
    ImportEntity.CUSTOMER: CUSTOMERS_WRITE,
    ImportEntity.CONTACT: CUSTOMERS_WRITE,
    ImportEntity.LEAD: LEADS_WRITE,
}


def require_import_reader(principal: Principal) -> None:
    """Reading imports needs reading customers or leads."""
    if CUSTOMERS_READ not in principal.permissions:
        require(principal.permissions, LEADS_READ)


def import_conditions(principal: Principal, alias: str) -> SqlCondition:
    condition = SqlCondition()
    if not principal.sees_all_customers:
        condition.add(f"{alias}.created_by_id = CAST(:import_creator AS uuid)", import_creator=principal.membership_id)
    return condition


def import_visible_to(principal: Principal, created_by_id: uuid.UUID | str | None) -> bool:
    """`import_conditions` for one job in hand (a live progress message)."""
    if principal.sees_all_customers:
        return True
    return created_by_id is not None and str(created_by_id) == str(principal.membership_id)
