"""The preview of a chunk of rows: what each would do (create, update with a diff, skip, fail) and why.

A row with cleaning or validation errors fails. Otherwise its record in the database is looked
up (saas/imports/matching.py); then the duplicate policy decides:

- no match: CREATE, unless the domain's duplicate rule (`find_duplicates_many`, the rule the service
  applies when it creates) would refuse it under SKIP or UPDATE: then FAIL with DUPLICATE; or
  unless the tenant requires a custom field of the records it would create (a file fills none):
  then FAIL with REQUIRED, as the service's check of the custom fields would;
- a match under SKIP: SKIP; under CREATE: CREATE another;
- a match under UPDATE: UPDATE with the fields that change (`diff`, {field: {from, to}}; empty
  cells change nothing), or SKIP when none does; a customer row's e-mail and phone are its
  primary contact's (`PRIMARY_CONTACT_FIELDS`: compared with that contact's, which the commit
  updates at the version seen here, or creates when the customer has none); FAIL with DUPLICATE when the record is one the
  caller may not change (another rep's), with ALREADY_CONVERTED / ALREADY_DISQUALIFIED for a
  closed lead.

The matched record's id and version are kept with the row: the commit applies the diff only to
that version (STALE otherwise).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from saas.auth.principal import Principal
from saas.custom_fields.models import CustomFieldEntity
from saas.custom_fields.validation import definitions_for
from saas.customers.duplicates import find_duplicates_many, normalise_company, normalise_email, normalise_phone
from saas.customers.models import Contact, Customer
from saas.customers.rules import customer_visibility
from saas.db.conditions import SqlCondition
from saas.errors import UserErrorCode
from saas.imports import matching
from saas.imports.cleaning import INVALID_VALUE, customer_and_contact
from saas.imports.models import DuplicatePolicy, ImportEntity, ImportJob, ImportRow, RowOutcome
from saas.leads.models import Channel, Lead, LeadStatus
from saas.leads.rules import lead_visibility

# Fields an UPDATE may change, per entity: API name → model attribute.
UPDATABLE: dict[ImportEntity, dict[str, str]] = {
    ImportEntity.CUSTOMER: {
        "name": "name", "kind": "kind", "industry": "industry", "tier": "tier", "lifecycleStage": "lifecycle_stage",
        "source": "source", "tags": "tags", "notes": "notes", "nextFollowUpAt": "next_follow_up_at",
    },
    ImportEntity.CONTACT: {"name": "name", "title": "title", "email": "email", "phone": "phone"},
    ImportEntity.LEAD: {"name": "name", "company": "company", "email": "email", "phone": "phone"},
}  # fmt: skip
# A customer row's fields that are its primary contact's: API name → the contact's attribute.
PRIMARY_CONTACT_FIELDS = {"email": "email", "phone": "phone"}
# Where a customer row keeps the primary contact the preview compared with (in `values`).
PRIMARY_CONTACT_ID, PRIMARY_CONTACT_VERSION = "primaryContactId", "primaryContactVersion"
MODELS: dict[ImportEntity, Any] = {
    ImportEntity.CUSTOMER: Customer,
    ImportEntity.CONTACT: Contact,
    ImportEntity.LEAD: Lead,
}


def _error(job: ImportJob, field: str | None, code: str, message: str) -> dict[str, Any]:
    columns = {target: column for column, target in job.mapping.items()}
    return {"column": columns.get(field) if field else None, "code": code, "message": message}


def _stored(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, list):
        return list(value)
    return value


def field_diff(entity: ImportEntity, record: Any, values: dict[str, Any]) -> dict[str, Any]:
    diff = {}
    for name, attribute in UPDATABLE[entity].items():
        if name not in values:
            continue
        current, new = _stored(getattr(record, attribute)), values[name]
        if name == "tags":
            new = sorted({t.lower() for t in new})
            current = sorted(current or [])
        if current != new:
            diff[name] = {"from": current, "to": new}
    return diff


def _visible_ids(session: Session, principal: Principal, entity: ImportEntity, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which matched records the caller may change: the domains' visibility rules."""
    if not ids:
        return set()
    condition = SqlCondition()
    if entity is ImportEntity.LEAD:
        lead_visibility(principal, "r", condition)
        sql = f"SELECT r.id FROM leads r WHERE r.id = ANY(CAST(:ids AS uuid[])) AND {condition.sql}"
    else:
        customer_visibility(principal, "r", condition)
        if entity is ImportEntity.CUSTOMER:
            sql = f"SELECT r.id FROM customers r WHERE r.id = ANY(CAST(:ids AS uuid[])) AND {condition.sql}"
        else:
            sql = (
                "SELECT ct.id FROM contacts ct JOIN customers r ON r.tenant_id = ct.tenant_id AND r.id = ct.customer_id "
                f"WHERE ct.id = ANY(CAST(:ids AS uuid[])) AND {condition.sql}"
            )
    return set(session.execute(text(sql), {"ids": ids, **condition.params}).scalars())


def _resolve_contacts_customers(
    session: Session, principal: Principal, job: ImportJob, rows: list[ImportRow]
) -> list[ImportRow]:
    """A contact row's customer by name, among those the caller sees; the rows that found theirs."""
    names = {normalise_company(r.values["customer"]) for r in rows}
    found = matching.customers_by_name(session, principal, names)
    resolved = []
    for row in rows:
        ids = found.get(normalise_company(row.values["customer"]), [])
        if not ids:
            row.errors = [_error(job, "customer", UserErrorCode.NOT_FOUND.value, "No such customer")]
        elif len(ids) > 1:
            row.errors = [_error(job, "customer", INVALID_VALUE, f"{len(ids)} customers have this name")]
        else:
            row.values = {**row.values, "customerId": str(ids[0])}
            resolved.append(row)
    return resolved


def _resolve_channels(session: Session, job: ImportJob, rows: list[ImportRow]) -> list[ImportRow]:
    names = {r.values["channel"].lower() for r in rows if r.values.get("channel")}
    channels = {}
    if names:
        query = select(Channel).where(text("lower(channels.name) = ANY(:names)")).params(names=sorted(names))
        channels = {c.name.lower(): c.id for c in session.scalars(query)}
    kept = []
    for row in rows:
        name = row.values.get("channel")
        if name and name.lower() not in channels:
            row.errors = [_error(job, "channel", UserErrorCode.NOT_FOUND.value, f"No channel named {name!r}")]
            continue
        if name:
            row.values = {**row.values, "channelId": str(channels[name.lower()])}
        kept.append(row)
    return kept


def find_matches(session: Session, principal: Principal, job: ImportJob, rows: list[ImportRow]) -> list[Any]:
    """Each row's existing record (`matching.Found`) or None, in the rows' order."""
    entity = ImportEntity(job.entity)
    if entity is ImportEntity.CONTACT:
        pairs = [(uuid.UUID(r.values["customerId"]), r.values) for r in rows]
        return matching.match_contacts(session, pairs)
    return list(matching.entity_matcher(entity)(session, [r.values for r in rows]))


def _rule_probes(job: ImportJob, values: dict[str, Any]) -> list[tuple[str, str, str]]:
    """What the service's duplicate rule looks up creating this row: (field, what, normalised value)."""
    entity = ImportEntity(job.entity)
    if entity is ImportEntity.CUSTOMER:
        customer, _ = customer_and_contact(values)
        if customer.get("kind", "company") != "company" or not values.get("name"):
            return []
        return [("name", "company name", normalise_company(values["name"]))]
    if entity is ImportEntity.LEAD:
        probes = []
        if values.get("email"):
            probes.append(("email", "e-mail", normalise_email(values["email"])))
        if values.get("phone") and normalise_phone(values["phone"]):
            probes.append(("phone", "phone", normalise_phone(values["phone"])))
        if values.get("company") and normalise_company(values["company"]):
            probes.append(("company", "company name", normalise_company(values["company"])))
        return probes
    return []


def rule_duplicates(
    session: Session, job: ImportJob, rows: list[ImportRow], *, lock: bool = False
) -> dict[int, list[dict[str, Any]]]:
    """The DUPLICATE errors the service's own rule (`find_duplicates`, batched) would raise creating
    each row, by row number (contacts have no such rule); `lock` takes the rule's locks first
    (creating the rows next, as the service does)."""
    probes = {row.row_number: _rule_probes(job, row.values) for row in rows}
    wanted: dict[str, set[str]] = {}
    for row_probes in probes.values():
        for _, on, value in row_probes:
            wanted.setdefault(on, set()).add(value)
    found = find_duplicates_many(session, job.tenant_id, wanted, lock=lock)
    errors: dict[int, list[dict[str, Any]]] = {}
    for number, row_probes in probes.items():
        for field, on, value in row_probes:
            match = found.get((on, value))
            if match is not None:
                errors.setdefault(number, []).append(_error(job, field, UserErrorCode.DUPLICATE.value, match.message()))
    return errors


def plan_rows(session: Session, principal: Principal, job: ImportJob, rows: list[ImportRow]) -> None:
    """Set each row's outcome, matched record, version and diff (see the module)."""
    entity, policy = ImportEntity(job.entity), DuplicatePolicy(job.duplicate_policy)
    valid = [r for r in rows if not r.errors]
    if entity is ImportEntity.CONTACT:
        valid = _resolve_contacts_customers(session, principal, job, valid)
    if entity is ImportEntity.LEAD:
        valid = _resolve_channels(session, job, valid)
    for row in rows:
        if row.errors:
            row.outcome = RowOutcome.FAIL.value
    found = find_matches(session, principal, job, valid) if valid else []
    matched_ids = [f.id for f in found if f is not None]
    records = {}
    if matched_ids and policy is DuplicatePolicy.UPDATE:
        model = MODELS[entity]
        records = {r.id: r for r in session.scalars(select(model).where(model.id.in_(matched_ids)))}
    primaries = {}
    if records and entity is ImportEntity.CUSTOMER:
        query = select(Contact).where(
            Contact.customer_id.in_(list(records)), Contact.is_primary.is_(True), Contact.deleted_at.is_(None)
        )
        primaries = {c.customer_id: c for c in session.scalars(query)}
    visible = _visible_ids(session, principal, entity, matched_ids) if policy is DuplicatePolicy.UPDATE else set()
    unmatched = [row for row, match in zip(valid, found, strict=True) if match is None]
    duplicates = rule_duplicates(session, job, unmatched) if policy is not DuplicatePolicy.CREATE else {}
    for row, match in zip(valid, found, strict=True):
        row.matched_id = match.id if match else None
        row.matched_version = match.version if match else None
        row.diff = None
        if match is None:
            errors = duplicates.get(row.row_number) or _required_custom_fields(session, job, row)
            row.errors, row.outcome = errors, (RowOutcome.FAIL if errors else RowOutcome.CREATE).value
            continue
        if policy is DuplicatePolicy.SKIP:
            row.outcome = RowOutcome.SKIP.value
        elif policy is DuplicatePolicy.CREATE:
            row.errors = _required_custom_fields(session, job, row)
            row.outcome = (RowOutcome.FAIL if row.errors else RowOutcome.CREATE).value
        else:
            primary = primaries.get(match.id)
            row.outcome, row.errors, row.diff = _plan_update(
                job, entity, records[match.id], match.id in visible, row, primary
            )
            if primary is not None and row.outcome == RowOutcome.UPDATE.value:
                row.values = {
                    **row.values,
                    PRIMARY_CONTACT_ID: str(primary.id),
                    PRIMARY_CONTACT_VERSION: primary.version,
                }


def _primary_contact_diff(primary: Contact | None, values: dict[str, Any]) -> dict[str, Any]:
    """A customer row's e-mail and phone against its primary contact's (none: every one given changes)."""
    diff = {}
    for name, attribute in PRIMARY_CONTACT_FIELDS.items():
        if name not in values:
            continue
        current = getattr(primary, attribute) if primary is not None else None
        if current != values[name]:
            diff[name] = {"from": current, "to": values[name]}
    return diff


def _required_custom_fields(session: Session, job: ImportJob, row: ImportRow) -> list[dict[str, Any]]:
    """The REQUIRED errors `validate_custom_fields` would give creating the row's records (the
    row fills no custom field): one per required, live definition of each."""
    entity = ImportEntity(job.entity)
    kinds = [CustomFieldEntity(entity.value)]
    if entity is ImportEntity.CUSTOMER and customer_and_contact(row.values)[1] is not None:
        kinds.append(CustomFieldEntity.CONTACT)
    errors = []
    for kind in kinds:
        for definition in definitions_for(session, job.tenant_id, kind).values():
            if definition.required and not definition.archived:
                errors.append(_error(job, None, UserErrorCode.REQUIRED.value, f"{definition.label} is required"))
    return errors


def _plan_update(
    job: ImportJob, entity: ImportEntity, record: Any, visible: bool, row: ImportRow, primary: Contact | None = None
) -> tuple[str, list[dict[str, Any]], dict[str, Any] | None]:
    if not visible:
        message = "Matches a record you may not change"
        return RowOutcome.FAIL.value, [_error(job, None, UserErrorCode.DUPLICATE.value, message)], None
    if entity is ImportEntity.LEAD and record.status in (LeadStatus.CONVERTED.value, LeadStatus.DISQUALIFIED.value):
        code = (
            UserErrorCode.ALREADY_CONVERTED
            if record.status == LeadStatus.CONVERTED.value
            else UserErrorCode.ALREADY_DISQUALIFIED
        )
        return RowOutcome.FAIL.value, [_error(job, None, code.value, f"The matching lead is {record.status}")], None
    diff = field_diff(entity, record, row.values)
    if entity is ImportEntity.CUSTOMER:
        diff.update(_primary_contact_diff(primary, row.values))
    if not diff:
        return RowOutcome.SKIP.value, [], None
    return RowOutcome.UPDATE.value, [], diff
