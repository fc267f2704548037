"""How PortalAccess maps to SQL for the compiled read (`portalAccesses`), its customer and contact
read as their loaders read them (`customer_of`, `contact_by_id_loader`): null when not visible."""

from __future__ import annotations

from typing import Any

from saas.customers.graphql.sql import CONTACT, CUSTOMER
from saas.customers.rules import customer_conditions
from saas.db.conditions import SqlCondition
from saas.schema.compiler import Relation, SortKey, SqlType
from saas.schema.relay import global_id_sql, iso_datetime_sql
from saas.tenancy.session import tenant_predicate


def _visible_customer(principal: Any, alias: str) -> SqlCondition:
    """A customer the caller sees, not deleted (`customer_conditions` without a filter)."""
    return customer_conditions(principal, alias, None)


def _visible_contact(principal: Any, alias: str) -> SqlCondition:
    """A contact not deleted, of a customer the caller sees."""
    customer = _visible_customer(principal, "pc")
    condition = SqlCondition()
    condition.add(
        f"{alias}.deleted_at IS NULL AND EXISTS (SELECT 1 FROM customers pc WHERE {tenant_predicate('pc')}"
        f" AND pc.id = {alias}.customer_id AND {customer.sql})",
        **customer.params,
    )
    return condition


PORTAL_ACCESS: SqlType = SqlType(
    name="PortalAccess",
    table="portal_accesses",
    columns={
        "id": global_id_sql("PortalAccess", "{t}.id"),
        "createdBy": "{t}.created_by",
        "expiresAt": iso_datetime_sql("{t}.expires_at"),
        "revokedAt": iso_datetime_sql("{t}.revoked_at"),
        "createdAt": iso_datetime_sql("{t}.created_at"),
        # As `PortalAccess.from_model` says it, at the time of reading.
        "active": "({t}.revoked_at IS NULL AND {t}.expires_at > clock_timestamp())",
    },
    relations={
        "customer": Relation(lambda: CUSTOMER, "customers", "{t}.id = {p}.customer_id", visible=_visible_customer),
        "contact": Relation(lambda: CONTACT, "contacts", "{t}.id = {p}.contact_id", visible=_visible_contact),
    },
)

# Newest first (`service.list_portal_accesses`).
PORTAL_ACCESS_SORT = SortKey(("created_at", "id"), ("timestamptz", "uuid"), descending=True)
