"""Finding the existing record each row of a chunk is (the de-duplication against the database).

One statement per key kind per chunk, whatever the chunk's size: customers by name (case and
spacing aside) or by a contact's e-mail or phone digits; contacts within their customer by
e-mail, phone or name; leads by e-mail, phone or company. E-mail wins over phone, phone over
name. Each statement names the session's tenant (`tenant_id = :tenant_id`, which the indexes
on e-mail, phone digits and name start with), and row-level security is the second wall, so a
tenant's import never matches another's records.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from saas.auth.principal import Principal
from saas.customers.duplicates import PHONE_DIGITS_SQL, normalise_company, normalise_email, normalise_phone
from saas.customers.rules import customer_visibility
from saas.db.conditions import SqlCondition
from saas.imports.models import ImportEntity
from saas.tenancy.session import bound_tenant


@dataclass(frozen=True)
class Found:
    id: uuid.UUID
    version: int
    on: str  # "email", "phone", "name"


def _first(session: Session, sql: str, values: set[str]) -> dict[str, tuple[uuid.UUID, int]]:
    """value → (id, version) of the oldest record with it."""
    if not values:
        return {}
    found: dict[str, tuple[uuid.UUID, int]] = {}
    params = {"values": sorted(values), "tenant_id": bound_tenant(session)}
    for key, record_id, version in session.execute(text(sql), params):
        found.setdefault(key, (record_id, version))
    return found


CUSTOMER_BY_NAME = (
    "SELECT lower(name), id, version FROM customers WHERE tenant_id = :tenant_id AND deleted_at IS NULL "
    "AND lower(name) = ANY(:values) "
    "ORDER BY created_at, id"
)
CUSTOMER_BY_EMAIL = (
    "SELECT ct.email_key, c.id, c.version FROM contacts ct JOIN customers c "
    "ON c.tenant_id = ct.tenant_id AND c.id = ct.customer_id AND c.deleted_at IS NULL "
    "WHERE ct.tenant_id = :tenant_id AND ct.deleted_at IS NULL AND ct.email_key = ANY(:values) "
    "ORDER BY ct.created_at, ct.id"
)
CUSTOMER_BY_PHONE = (
    "SELECT ct.phone_key, c.id, c.version FROM contacts ct JOIN customers c "
    "ON c.tenant_id = ct.tenant_id AND c.id = ct.customer_id AND c.deleted_at IS NULL "
    "WHERE ct.tenant_id = :tenant_id AND ct.deleted_at IS NULL "
    "AND ct.phone_key = ANY(:values) "
    "ORDER BY ct.created_at, ct.id"
)
LEAD_BY = {
    "email": "SELECT email_key, id, version FROM leads WHERE tenant_id = :tenant_id "
    "AND email_key = ANY(:values) ORDER BY created_at, id",
    "phone": "SELECT phone_key, id, version FROM leads "
    "WHERE tenant_id = :tenant_id AND phone_key = ANY(:values) ORDER BY created_at, id",
    "name": "SELECT company_key, id, version FROM leads WHERE tenant_id = :tenant_id "
    "AND company_key = ANY(:values) ORDER BY created_at, id",
}


def _key_values(rows: list[dict[str, Any]], name_field: str) -> dict[str, set[str]]:
    wanted: dict[str, set[str]] = {"email": set(), "phone": set(), "name": set()}
    for values in rows:
        if values.get("email"):
            wanted["email"].add(normalise_email(values["email"]))
        if values.get("phone"):
            wanted["phone"].add(normalise_phone(values["phone"]))
        if values.get(name_field):
            wanted["name"].add(normalise_company(values[name_field]))
    return wanted


def _pick(values: dict[str, Any], name_field: str, found: dict[str, dict[str, tuple[uuid.UUID, int]]]) -> Found | None:
    probes = (
        ("email", normalise_email(values["email"]) if values.get("email") else None),
        ("phone", normalise_phone(values["phone"]) if values.get("phone") else None),
        ("name", normalise_company(values[name_field]) if values.get(name_field) else None),
    )
    for on, value in probes:
        if value and value in found[on]:
            record_id, version = found[on][value]
            return Found(record_id, version, on)
    return None


def match_customers(session: Session, rows: list[dict[str, Any]]) -> list[Found | None]:
    wanted = _key_values(rows, "name")
    found = {
        "email": _first(session, CUSTOMER_BY_EMAIL, wanted["email"]),
        "phone": _first(session, CUSTOMER_BY_PHONE, wanted["phone"]),
        "name": _first(session, CUSTOMER_BY_NAME, wanted["name"]),
    }
    return [_pick(values, "name", found) for values in rows]


def match_leads(session: Session, rows: list[dict[str, Any]]) -> list[Found | None]:
    wanted = _key_values(rows, "company")
    found = {on: _first(session, LEAD_BY[on], wanted[on]) for on in ("email", "phone", "name")}
    return [_pick(values, "company", found) for values in rows]


def customers_by_name(session: Session, principal: Principal, names: set[str]) -> dict[str, list[uuid.UUID]]:
    """The customers the principal sees, by normalised name (a contact row's customer)."""
    if not names:
        return {}
    condition = SqlCondition()
    customer_visibility(principal, "c", condition)
    sql = (
        "SELECT lower(c.name), c.id FROM customers c WHERE c.deleted_at IS NULL AND lower(c.name) = ANY(:values) "
        f"AND {condition.sql} ORDER BY c.created_at, c.id"
    )
    result: dict[str, list[uuid.UUID]] = {}
    for name, customer_id in session.execute(text(sql), {"values": sorted(names), **condition.params}):
        result.setdefault(name, []).append(customer_id)
    return result


def match_contacts(session: Session, rows: list[tuple[uuid.UUID, dict[str, Any]]]) -> list[Found | None]:
    """Each (customer id, values) row's contact of that customer, by e-mail, phone or name."""
    customer_ids = sorted({customer_id for customer_id, _ in rows})
    if not customer_ids:
        return []
    contacts = session.execute(
        text(
            "SELECT customer_id, id, version, lower(email), "
            f"{PHONE_DIGITS_SQL.format(col='phone')}, lower(name) FROM contacts "
            "WHERE deleted_at IS NULL AND customer_id = ANY(CAST(:ids AS uuid[])) ORDER BY created_at, id"
        ),
        {"ids": customer_ids},
    ).all()
    index: dict[tuple[uuid.UUID, str, str], tuple[uuid.UUID, int]] = {}
    for customer_id, contact_id, version, email, phone, name in contacts:
        for on, value in (("email", email), ("phone", phone), ("name", name)):
            if value:
                index.setdefault((customer_id, on, value), (contact_id, version))
    results: list[Found | None] = []
    for customer_id, values in rows:
        probes = (
            ("email", normalise_email(values["email"]) if values.get("email") else None),
            ("phone", normalise_phone(values["phone"]) if values.get("phone") else None),
            ("name", normalise_company(values["name"]) if values.get("name") else None),
        )
        hit = None
        for on, value in probes:
            if value and (customer_id, on, value) in index:
                record_id, version = index[(customer_id, on, value)]
                hit = Found(record_id, version, on)
                break
        results.append(hit)
    return results


def entity_matcher(entity: ImportEntity) -> Any:
    return {ImportEntity.CUSTOMER: match_customers, ImportEntity.LEAD: match_leads}.get(entity)
