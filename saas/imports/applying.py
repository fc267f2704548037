"""Applying a chunk of previewed rows through the domains' own services: exactly what the preview said.

- CREATE: the row's record is looked up again first; one that appeared since the preview (under
  SKIP or UPDATE) makes the row FAIL with DUPLICATE instead of a second record; the service's own
  duplicate rule runs as well (`allow_duplicate` only under CREATE).
- UPDATE: the previewed diff, applied to the version seen at the preview; a record changed (or
  deleted) since then makes the row FAIL with STALE and is left as it is.
- SKIP and FAIL: nothing.

Customer creates are set-based (`create_customers`): the chunk's new customers in one multi-row
INSERT ... RETURNING, their primary contacts in another, their audit entries batched and their
events in one statement, each row checked by the customers domain's own rule
(`new_customer_fields`, `new_contact_fields`) and the duplicate rule batched for the chunk
(`rule_duplicates`). The rows and events are the ones `create_customer` and `create_contact`
write (tests/imports/test_batched_commit.py compares them).

Every other row runs through the domain's service in a savepoint: a row the service refuses is
rolled back alone, with its errors, and its after-commit work (live messages) is dropped with it.
The services check permissions, visibility, custom fields, and write the audit entry and the
domain event of each record.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from saas.auth.permissions import CUSTOMERS_WRITE, require
from saas.auth.principal import Principal
from saas.customers import service as customers
from saas.customers.models import Contact, Customer
from saas.errors import ConflictError, InputInvalid, NotFoundError, UserErrorCode
from saas.imports.cleaning import STALE, customer_and_contact
from saas.imports.mapping import FIELDS
from saas.imports.models import DuplicatePolicy, ImportEntity, ImportJob, ImportRow, RowOutcome
from saas.imports.planning import (
    PRIMARY_CONTACT_FIELDS,
    PRIMARY_CONTACT_ID,
    PRIMARY_CONTACT_VERSION,
    UPDATABLE,
    find_matches,
    rule_duplicates,
)
from saas.leads import service as leads
from saas.tenancy.session import AFTER_COMMIT_KEY


def _as_datetime(value: str | None) -> datetime | None:
    return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC) if value else None


def _service_data(entity: ImportEntity, values: dict[str, Any]) -> dict[str, Any]:
    data = {UPDATABLE[entity][name]: value for name, value in values.items() if name in UPDATABLE[entity]}
    if "next_follow_up_at" in data:
        data["next_follow_up_at"] = _as_datetime(data["next_follow_up_at"])
    return data


def _create(session: Session, principal: Principal, job: ImportJob, row: ImportRow) -> uuid.UUID:
    entity = ImportEntity(job.entity)
    allow_duplicate = job.duplicate_policy == DuplicatePolicy.CREATE.value
    if entity is ImportEntity.CUSTOMER:
        data, contact = customer_and_contact(row.values)
        if data.get("next_follow_up_at"):
            data["next_follow_up_at"] = _as_datetime(data["next_follow_up_at"])
        customer = customers.create_customer(session, principal, {**data, "allow_duplicate": allow_duplicate})
        if contact is not None:
            customers.create_contact(session, principal, customer.id, contact)
        return customer.id  # type: ignore[no-any-return]
    if entity is ImportEntity.CONTACT:
        data = _service_data(entity, row.values)
        contact_row = customers.create_contact(session, principal, uuid.UUID(row.values["customerId"]), data)
        return contact_row.id  # type: ignore[no-any-return]
    data = _service_data(entity, row.values)
    if row.values.get("channelId"):
        data["channel_id"] = uuid.UUID(row.values["channelId"])
    return leads.create_lead(session, principal, {**data, "allow_duplicate": allow_duplicate}).id  # type: ignore[no-any-return]


def _update(session: Session, principal: Principal, job: ImportJob, row: ImportRow) -> uuid.UUID:
    entity = ImportEntity(job.entity)
    assert row.matched_id is not None and row.matched_version is not None and row.diff
    data = _service_data(entity, {name: change["to"] for name, change in row.diff.items()})
    if entity is ImportEntity.CUSTOMER:
        if data:
            customers.update_customer(session, principal, row.matched_id, row.matched_version, data)
        else:  # only its primary contact changes: the customer must still be as previewed
            customer = customers.get_customer(session, principal, row.matched_id)
            if customer.version != row.matched_version:
                raise ConflictError(current_version=customer.version)
        _update_primary_contact(session, principal, row)
    elif entity is ImportEntity.CONTACT:
        customers.update_contact(session, principal, row.matched_id, row.matched_version, data)
    else:
        leads.update_lead(session, principal, row.matched_id, row.matched_version, data)
    return row.matched_id


def _update_primary_contact(session: Session, principal: Principal, row: ImportRow) -> None:
    """A customer row's e-mail and phone changes, on its primary contact at the previewed version
    (STALE if it changed since), or on a new primary contact when the customer had none."""
    assert row.matched_id is not None and row.diff
    contact = {
        attribute: row.diff[name]["to"] for name, attribute in PRIMARY_CONTACT_FIELDS.items() if name in row.diff
    }
    if not contact:
        return
    contact_id = row.values.get(PRIMARY_CONTACT_ID)
    if contact_id:
        version = int(row.values[PRIMARY_CONTACT_VERSION])
        customers.update_contact(session, principal, uuid.UUID(contact_id), version, contact)
        return
    _, new_contact = customer_and_contact(row.values)
    name = new_contact["name"] if new_contact else row.values.get("name")
    customers.create_contact(session, principal, row.matched_id, {"name": name, **contact})


def _errors_of(job: ImportJob, invalid: InputInvalid) -> list[dict[str, Any]]:
    entity = ImportEntity(job.entity)
    by_attribute = {f.attribute: f.name for f in FIELDS[entity].values()}
    columns = {target: column for column, target in job.mapping.items()}
    errors = []
    for error in invalid.errors:
        name = by_attribute.get(error.field[-1]) if error.field else None
        errors.append(
            {"column": columns.get(name) if name else None, "code": str(error.code), "message": error.message}
        )
    return errors


def _in_savepoint(session: Session, work: Any) -> tuple[uuid.UUID | None, list[dict[str, Any]]]:
    """`work()` in a savepoint: its record id, or the errors that rolled it back."""
    pending = session.info.setdefault(AFTER_COMMIT_KEY, [])
    kept = len(pending)
    savepoint = session.begin_nested()
    try:
        record_id = work()
        savepoint.commit()
        return record_id, []
    except (InputInvalid, ConflictError, NotFoundError) as exc:
        savepoint.rollback()
        del session.info.setdefault(AFTER_COMMIT_KEY, [])[kept:]
        return None, [exc]  # type: ignore[list-item]


def _fail_invalid(job: ImportJob, row: ImportRow, invalid: InputInvalid) -> None:
    row.outcome, row.errors = RowOutcome.FAIL.value, _errors_of(job, invalid)


def create_customers(session: Session, principal: Principal, job: ImportJob, rows: list[ImportRow]) -> None:
    """Create the customers (and primary contacts) of `rows`, set-based (see the module); each row
    gets its `record_id`, or FAIL with the errors the services would have given it."""
    require(principal.permissions, CUSTOMERS_WRITE)
    if job.duplicate_policy != DuplicatePolicy.CREATE.value:
        for number, errors in rule_duplicates(session, job, rows, lock=True).items():
            row = next(r for r in rows if r.row_number == number)
            row.outcome, row.errors = RowOutcome.FAIL.value, errors[:1]
    owners: set[uuid.UUID] = set()
    made: list[tuple[ImportRow, dict[str, Any], dict[str, Any] | None]] = []
    for row in rows:
        if row.outcome != RowOutcome.CREATE.value:
            continue
        data, contact_data = customer_and_contact(row.values)
        if data.get("next_follow_up_at"):
            data["next_follow_up_at"] = _as_datetime(data["next_follow_up_at"])
        customer_id = uuid.uuid4()
        try:
            clean = customers.new_customer_fields(
                session, principal, customer_id, data, duplicate_rule=False, checked_owners=owners
            )
            contact = None
            if contact_data is not None:
                contact_id = uuid.uuid4()
                contact = customers.new_contact_fields(session, principal, contact_id, contact_data)
                # A new customer has no primary contact yet: its first one is.
                contact.update(id=contact_id, customer_id=customer_id, is_primary=True)
        except InputInvalid as invalid:
            _fail_invalid(job, row, invalid)
            continue
        made.append((row, {"id": customer_id, **clean}, contact))
    if not made:
        return
    # Multi-row INSERT ... RETURNING statements: the customers, then their contacts.
    new_customers = customers.insert_created(session, job.tenant_id, Customer, [c for _, c, _ in made])
    new_contacts = iter(customers.insert_created(session, job.tenant_id, Contact, [c for _, _, c in made if c]))
    created: list[Customer | Contact] = []
    for (row, _, contact), customer in zip(made, new_customers, strict=True):
        row.record_id = customer.id
        created.append(customer)
        if contact is not None:
            created.append(next(new_contacts))
    customers.record_created_many(session, principal, created)


def apply_rows(session: Session, principal: Principal, job: ImportJob, rows: list[ImportRow]) -> None:
    """Apply each row's previewed outcome (see the module); the row's `outcome` becomes what happened."""
    policy = DuplicatePolicy(job.duplicate_policy)
    rows = [r for r in rows if not r.applied]
    creates = [r for r in rows if r.outcome == RowOutcome.CREATE.value]
    appeared = {}
    if creates and policy is not DuplicatePolicy.CREATE:
        appeared = {
            r.row_number: f for r, f in zip(creates, find_matches(session, principal, job, creates), strict=True)
        }
    for row in rows:
        row.applied = True
        found = appeared.get(row.row_number) if row.outcome == RowOutcome.CREATE.value else None
        if found is not None:
            message = "A matching record appeared since the preview"
            row.outcome, row.matched_id = RowOutcome.FAIL.value, found.id
            row.errors = [{"column": None, "code": UserErrorCode.DUPLICATE.value, "message": message}]
    batched = job.entity == ImportEntity.CUSTOMER.value and BATCHED
    if batched:
        create_customers(session, principal, job, [r for r in rows if r.outcome == RowOutcome.CREATE.value])
    for row in rows:
        if row.outcome == RowOutcome.CREATE.value and not batched:
            record_id, failures = _in_savepoint(session, lambda row=row: _create(session, principal, job, row))
        elif row.outcome == RowOutcome.UPDATE.value:
            record_id, failures = _in_savepoint(session, lambda row=row: _update(session, principal, job, row))
        else:
            continue
        if not failures:
            row.record_id = record_id
            continue
        failure: Any = failures[0]
        row.outcome = RowOutcome.FAIL.value
        if isinstance(failure, InputInvalid):
            row.errors = _errors_of(job, failure)
        else:
            message = "The record changed since the preview; it was left as it is"
            row.errors = [{"column": None, "code": STALE, "message": message}]


# Whether customer creates are set-based (`create_customers`); False runs each through the services.
BATCHED = True
