"""Changing customers and contacts: validation, visibility, versions, and each change's side effects.

Every change records its audit entry and its domain event (outbox) in the change's transaction,
and publishes its live message (`customerEvents`) once that transaction commits, whoever calls:
a GraphQL mutation, a job, the CLI, `saas demo` or a plugin. Deleting a customer or a contact ends
the scoped tokens naming it, so the process's credential cache then forgets the tenant
(`forget_credentials_after_commit`).
"""

from __future__ import annotations

import uuid
import weakref
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.exc import StaleDataError

from saas.accounts.credentials import forget_credentials_after_commit
from saas.accounts.models import Membership
from saas.accounts.ownership import may_own_for
from saas.audit.log import change_record, record_changes, snapshot
from saas.auth.permissions import CUSTOMERS_DELETE, CUSTOMERS_WRITE, require
from saas.auth.principal import Principal
from saas.custom_fields.models import CustomFieldEntity
from saas.custom_fields.validation import definitions_rider, validate_custom_fields
from saas.customers.duplicates import check_duplicates
from saas.customers.graphql.types import Contact as ContactType
from saas.customers.graphql.types import Customer as CustomerType
from saas.customers.models import Contact, Customer, CustomerKind, LifecycleStage
from saas.customers.rules import SqlCondition, customer_visibility
from saas.db.records import NewRecord
from saas.errors import ConflictError, FieldError, InputInvalid, NotFoundError, UserErrorCode
from saas.events.catalog import (
    CONTACT_CREATED,
    CONTACT_DELETED,
    CONTACT_UPDATED,
    CUSTOMER_CREATED,
    CUSTOMER_DELETED,
    CUSTOMER_RESTORED,
    CUSTOMER_UPDATED,
)
from saas.events.outbox import emit_event, emit_events
from saas.events.payloads import api_object, node_ref
from saas.realtime import publish_after_commit, publish_many_after_commit
from saas.sensitive.rules import seal_core_fields
from saas.tenancy.session import CrossTenantWrite, bound_tenant, session_connection
from saas.validation import Checker

# The tenant's real-time topic of customer and contact changes (the `customerEvents` subscription).
TOPIC = "customers"

CUSTOMER_FIELDS = (
    "name", "kind", "industry", "tier", "lifecycle_stage", "owner_id", "source", "tags",
    "notes", "last_contacted_at", "next_follow_up_at", "custom_fields",
)  # fmt: skip


def _now() -> datetime:
    return datetime.now(UTC)


def _check_customer(data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    check = Checker(data)
    check.text("name", required=creating or "name" in data, max_length=200)
    check.choice("kind", CustomerKind)
    check.text("industry", max_length=100)
    check.text("tier", max_length=20)
    check.choice("lifecycle_stage", LifecycleStage)
    check.text("source", max_length=100)
    check.tags("tags")
    check.text("notes", max_length=10_000)
    for name in ("owner_id", "last_contacted_at", "next_follow_up_at"):
        check.passthrough(name)
    check.json_object("custom_fields", max_bytes=20_000)
    return check.done()


def check_customer_input(data: dict[str, Any]) -> dict[str, Any]:
    """A new customer's fields checked and normalised as `create_customer` checks them (for a preview)."""
    return _check_customer(data, creating=True)


def _check_owner(session: Session, principal: Principal, owner_id: uuid.UUID | None) -> None:
    if owner_id is None:
        return
    if not may_own_for(session, principal, owner_id):
        raise InputInvalid(
            [
                FieldError(
                    ["input", "ownerId"],
                    UserErrorCode.INVALID,
                    "Sales reps can only own customers themselves (managers: or their teams' members)",
                )
            ]
        )
    owner = session.get(Membership, (principal.tenant_id, owner_id))
    if owner is None or not owner.is_active:
        raise InputInvalid([FieldError(["input", "ownerId"], UserErrorCode.NOT_FOUND, "No such member")])


def get_customer(
    session: Session, principal: Principal, customer_id: uuid.UUID, *, lock: bool = False, deleted: bool = False
) -> Customer:
    """The customer if it exists in the principal's tenant and is visible to them, else NOT_FOUND."""
    condition = SqlCondition()
    customer_visibility(principal, "customers", condition)
    query = (
        select(Customer)
        .where(Customer.id == customer_id, text(condition.sql))
        .where(Customer.deleted_at.is_not(None) if deleted else Customer.deleted_at.is_(None))
        .params(**condition.params)
    )
    if lock:
        query = query.with_for_update()
    customer = session.scalars(query).first()
    if customer is None:
        raise NotFoundError("Customer not found", id=str(customer_id))
    return customer


def _check_version(record: Customer | Contact, version: int) -> None:
    if record.version != version:
        raise ConflictError(current_version=record.version)


def _record(
    session: Session,
    principal: Principal,
    action: str,
    row: Customer | Contact,
    before: dict[str, Any] | None,
    *,
    live: bool = True,
) -> None:
    """The side effects of a change; `action` (an event type of the catalog) names them all.

    In the change's transaction, written by one statement: the audit entry and the domain event
    (outbox), which carries the row as the API returns it (`api_object`), with its references. After commit, unless
    `live` is False: the live message (`live_message`) on the tenant's `customers` topic.
    """
    entry = change_record(principal, action, type(row).__name__, row.id, before, snapshot(row))
    emit_event(session, action, event_payload(row), with_rows=[entry])  # the event and the audit entry: one statement
    if live:
        publish_after_commit(session, TOPIC, live_message(session, action, row), stamp=True)


def event_payload(row: Customer | Contact) -> dict[str, Any]:
    """The domain event's payload of a change of `row`: the row as the API returns it, with its references."""
    if isinstance(row, Contact):
        return {"contact": api_object(ContactType.from_model(row), customer=node_ref("Customer", row.customer_id))}
    return {"customer": api_object(CustomerType.from_model(row), owner=node_ref("Member", row.owner_id))}


def record_created_many(session: Session, principal: Principal, rows: list[Customer | Contact]) -> None:
    """The side effects of creating `rows` (written), as `_record` has them for each, in the rows'
    order: their audit entries in one multi-row INSERT, their `customer.created` /
    `contact.created` events in one statement, their live messages after commit in one round trip."""
    changes: list[tuple[str, str, uuid.UUID | str, dict[str, Any] | None, dict[str, Any] | None]] = []
    events = []
    for row in rows:
        action = CONTACT_CREATED if isinstance(row, Contact) else CUSTOMER_CREATED
        changes.append((action, type(row).__name__, row.id, None, snapshot(row)))
        events.append((action, event_payload(row)))
    record_changes(session, principal.tenant_id, principal, changes)
    emit_events(session, events)
    publish_many_after_commit(
        session,
        TOPIC,
        [live_message(session, action, row) for (action, *_), row in zip(changes, rows, strict=True)],
        stamp=True,
    )


def insert_created(session: Session, tenant_id: uuid.UUID, model: type[Any], rows: list[dict[str, Any]]) -> list[Any]:
    """Write new customers or contacts (`model`) from their columns (`new_customer_fields`,
    `new_contact_fields`, with `id`) in multi-row INSERT ... RETURNING statements; the records,
    loaded (server defaults included), in the rows' order."""
    if not rows:
        return []
    # Not `sort_by_parameter_order`: these tables have no insert sentinel, and asking for the
    # order makes SQLAlchemy write one row per statement. The ids are ours: they give the order.
    written = session.scalars(insert(model).returning(model), [{"tenant_id": tenant_id, **row} for row in rows])
    by_id = {record.id: record for record in written}
    return [by_id[row["id"]] for row in rows]


def announce_update(session: Session, customer: Customer) -> None:
    """After commit, the live `customer.updated` message of a change another domain made to a
    customer (a claim, a transfer, a return to the pool): subscribers hear it as they hear this
    domain's own updates, whoever made the change."""
    publish_after_commit(session, TOPIC, live_message(session, CUSTOMER_UPDATED, customer), stamp=True)


def live_message(session: Session, kind: str, row: Customer | Contact) -> dict[str, Any]:
    """What `customerEvents` subscribers receive: the change, its customer, and the customer's owner
    (the subscription shows each event only to those who may see that customer); published with
    the commit's moment (`stamp=True`)."""
    if isinstance(row, Contact):
        # Every contact change reads its customer first: found in the session, no statement.
        customer = session.get(Customer, (row.tenant_id, row.customer_id))
        if customer is None:
            raise NotFoundError("Customer not found", id=str(row.customer_id))
        contact_id: str | None = str(row.id)
    else:
        customer, contact_id = row, None
    return {
        "kind": kind,
        "customer_id": str(customer.id),
        "owner_id": str(customer.owner_id) if customer.owner_id else None,
        "contact_id": contact_id,
    }


def _flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError() from exc


def create_customer(session: Session, principal: Principal, data: dict[str, Any]) -> Customer:
    """A new customer; one whose name matches an existing lead's company or customer is
    `DUPLICATE` (saas/customers/duplicates.py) unless `allow_duplicate` is true."""
    require(principal.permissions, CUSTOMERS_WRITE)
    data = dict(data)
    allow_duplicate = bool(data.pop("allow_duplicate", False))
    customer_id = uuid.uuid4()
    clean = new_customer_fields(session, principal, customer_id, data, duplicate_rule=not allow_duplicate)
    return _insert_customer(session, principal, customer_id, clean)


# What a new customer's row holds where the input says nothing: the columns' server defaults
# (`Customer`; tests/customers/test_create_statement.py compares them with the server's), known
# before the INSERT so that the row, its audit entry and its event are built before it runs.
NEW_CUSTOMER_DEFAULTS: dict[str, Any] = {
    **dict.fromkeys(CUSTOMER_FIELDS),
    "kind": CustomerKind.COMPANY.value,
    "lifecycle_stage": LifecycleStage.LEAD.value,
    "tags": [],
    "custom_fields": {},
    "version": 1,
    "deleted_at": None,
}
_DEFAULTS = NEW_CUSTOMER_DEFAULTS
_DEFAULT_KEYS = frozenset(NEW_CUSTOMER_DEFAULTS)


def _insert_customer(session: Session, principal: Principal, customer_id: uuid.UUID, clean: dict[str, Any]) -> Customer:
    """The new customer, its audit entry and its `customer.created` event written by one statement
    (`emit_event` with the customer's INSERT and the entry's as data-modifying CTEs of the event's),
    the customer then the session's persistent `Customer`, as a flush leaves a new one; its live
    message after commit, as `_record` has it.

    Every column's value is known before the statement (the defaults, `NEW_CUSTOMER_DEFAULTS`;
    `created_at` and `updated_at` the moment of the transaction, `_transaction_moment`), so
    the object, the audit snapshot and the event's payload are built from these values, before
    the statement, and are the row written: nothing is read back (only the computed `name_key`
    is the server's, left unloaded: neither the snapshot nor the payload shows it, and the ORM
    reads it from the row if it is ever asked for). The INSERT names the columns whose value is
    not the server's default."""
    now = _transaction_moment(session)
    values = {**NEW_CUSTOMER_DEFAULTS, **clean, "id": customer_id, "created_at": now, "updated_at": now}
    if values["custom_fields"] is None:
        values["custom_fields"] = {}
    if values["tags"] is None:
        values["tags"] = []
    tenant_id = bound_tenant(session)
    if tenant_id is None:
        raise CrossTenantWrite("Customer needs a tenant-bound session")
    written = _new_customer(values, tenant_id)
    entry = change_record(principal, CUSTOMER_CREATED, "Customer", customer_id, None, snapshot(written))
    # The INSERT leaves out what the server fills in with the same value (fewer parameters to send).
    sent = {key: value for key, value in values.items() if key not in _DEFAULT_KEYS or value != _DEFAULTS[key]}
    emit_event(session, CUSTOMER_CREATED, event_payload(written), with_rows=[NewRecord(Customer, sent), entry])
    # The row written, now the session's (persistent, no statement): `name_key`, computed by the
    # server, is left unloaded, read from the row if ever asked for.
    make_transient_to_detached(written)
    session.add(written)
    publish_after_commit(session, TOPIC, live_message(session, CUSTOMER_CREATED, written), stamp=True)
    return written


# Where a session keeps its transaction's moment (`_transaction_moment`): (the transaction, weakly; the moment).
MOMENT_KEY = "saas.customers.transaction_moment"


def _transaction_moment(session: Session) -> datetime:
    """The moment of the session's transaction, taken at its first create and kept for the
    transaction, as PostgreSQL's `now()` (the columns' default) is the transaction's start:
    customers created in one transaction share their `created_at`, as they did with the default."""
    session_connection(session)  # the transaction, begun if it was not
    transaction = session.get_transaction()
    held = session.info.get(MOMENT_KEY)
    if held is not None and held[0]() is transaction:
        return cast(datetime, held[1])
    moment = _now()
    session.info[MOMENT_KEY] = (weakref.ref(transaction), moment)
    return moment


def _new_customer(values: dict[str, Any], tenant_id: uuid.UUID | None) -> Customer:
    """A `Customer` holding `values` (and the tenant), in no session: what the row written holds, for
    its snapshot and payload (the values put in place as the ORM's loading puts them)."""
    row: Customer = Customer.__mapper__.class_manager.new_instance()
    row.__dict__.update(values)
    row.__dict__["tenant_id"] = tenant_id
    return row


def new_customer_fields(
    session: Session,
    principal: Principal,
    customer_id: uuid.UUID,
    data: dict[str, Any],
    *,
    duplicate_rule: bool = True,
    checked_owners: set[uuid.UUID] | None = None,
) -> dict[str, Any]:
    """What a new customer's row holds: the fields checked, the caller as owner unless it sees all
    customers (or names one), the owner checked, the duplicate rule (unless `duplicate_rule` is
    False: the caller applied it, e.g. batched), the custom fields validated (unique values claimed
    for `customer_id`). The one rule of `create_customer` and of the import's batched commit.
    `checked_owners` remembers owners already checked (one check per owner for a batch)."""
    clean = _check_customer(data, creating=True)
    if "owner_id" not in clean and not principal.sees_all_customers:
        clean["owner_id"] = principal.membership_id
    owner_id = clean.get("owner_id")
    if checked_owners is None or owner_id not in checked_owners:
        _check_owner(session, principal, owner_id)
        if checked_owners is not None and owner_id is not None:
            checked_owners.add(owner_id)
    if duplicate_rule and clean.get("kind", CustomerKind.COMPANY.value) == CustomerKind.COMPANY.value:
        # The lookup also reads the custom field definitions validated next (one statement).
        rider = definitions_rider(session, principal.tenant_id, CustomFieldEntity.CUSTOMER)
        check_duplicates(session, principal.tenant_id, company=("name", clean["name"]), rider=rider)
    clean["custom_fields"] = validate_custom_fields(
        session, principal.tenant_id, CustomFieldEntity.CUSTOMER, clean.get("custom_fields"), record_id=customer_id
    )
    return clean


def new_contact_fields(
    session: Session, principal: Principal, contact_id: uuid.UUID, data: dict[str, Any]
) -> dict[str, Any]:
    """What a new contact's row holds: the fields checked, the custom fields validated, the tenant's
    sensitive core fields sealed. The one rule of `create_contact` and of the import's batched commit."""
    clean = _check_contact(data, creating=True)
    clean["custom_fields"] = validate_custom_fields(
        session, principal.tenant_id, CustomFieldEntity.CONTACT, clean.get("custom_fields"), record_id=contact_id
    )
    seal_core_fields(session, principal.tenant_id, "contact", contact_id, clean, None)
    return clean


def update_customer(
    session: Session, principal: Principal, customer_id: uuid.UUID, version: int, data: dict[str, Any]
) -> Customer:
    require(principal.permissions, CUSTOMERS_WRITE)
    clean = _check_customer(data, creating=False)
    customer = get_customer(session, principal, customer_id)
    _check_version(customer, version)
    if "owner_id" in clean:
        _check_owner(session, principal, clean["owner_id"])
    if "custom_fields" in clean:
        clean["custom_fields"] = validate_custom_fields(
            session, principal.tenant_id, CustomFieldEntity.CUSTOMER, clean["custom_fields"],
            record_id=customer.id, current=customer.custom_fields,
        )  # fmt: skip
    before = snapshot(customer)
    for key, value in clean.items():
        setattr(customer, key, value)
    customer.updated_at = _now()
    _flush(session)
    _record(session, principal, CUSTOMER_UPDATED, customer, before)
    return customer


def delete_customer(session: Session, principal: Principal, customer_id: uuid.UUID, version: int | None) -> Customer:
    require(principal.permissions, CUSTOMERS_DELETE)
    customer = get_customer(session, principal, customer_id)
    if version is not None:
        _check_version(customer, version)
    before = snapshot(customer)
    customer.deleted_at = _now()
    _flush(session)
    _record(session, principal, CUSTOMER_DELETED, customer, before)
    # Scoped tokens naming the customer end: checked again at their next use.
    forget_credentials_after_commit(session, principal.tenant_id)
    return customer


def restore_customer(session: Session, principal: Principal, customer_id: uuid.UUID) -> Customer:
    require(principal.permissions, CUSTOMERS_DELETE)
    customer = get_customer(session, principal, customer_id, deleted=True)
    before = snapshot(customer)
    customer.deleted_at = None
    _flush(session)
    _record(session, principal, CUSTOMER_RESTORED, customer, before)
    return customer


def _check_contact(data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    check = Checker(data)
    check.text("name", required=creating or "name" in data, max_length=200)
    check.text("title", max_length=100)
    check.email("email")
    check.phone("phone")
    check.passthrough("is_primary")
    check.json_object("custom_fields", max_bytes=20_000)
    return check.done()


def check_contact_input(data: dict[str, Any]) -> dict[str, Any]:
    """A new contact's fields checked and normalised as `create_contact` checks them (for a preview)."""
    return _check_contact(data, creating=True)


def get_contact(session: Session, principal: Principal, contact_id: uuid.UUID) -> Contact:
    contact = session.scalars(select(Contact).where(Contact.id == contact_id, Contact.deleted_at.is_(None))).first()
    if contact is None:
        raise NotFoundError("Contact not found", id=str(contact_id))
    get_customer(session, principal, contact.customer_id)  # the contact is visible with its customer
    return contact


def _make_primary(session: Session, principal: Principal, contact: Contact) -> None:
    """The customer's other primary contact stops being primary: an update of it, recorded as one."""
    others = session.scalars(
        select(Contact).where(
            Contact.customer_id == contact.customer_id, Contact.id != contact.id, Contact.is_primary.is_(True)
        )
    ).all()
    for other in others:
        before = snapshot(other)
        other.is_primary, other.updated_at = False, _now()
        _flush(session)
        # Audited and in the outbox, not live: `customerEvents` sends one message per change a
        # caller asked for (here, for the contact made primary).
        _record(session, principal, CONTACT_UPDATED, other, before, live=False)


def create_contact(session: Session, principal: Principal, customer_id: uuid.UUID, data: dict[str, Any]) -> Contact:
    require(principal.permissions, CUSTOMERS_WRITE)
    _check_contact(data, creating=True)
    # Locking the customer serialises changes of its primary contact.
    customer = get_customer(session, principal, customer_id, lock=True)
    has_primary = session.scalar(
        select(Contact.id).where(
            Contact.customer_id == customer.id, Contact.is_primary.is_(True), Contact.deleted_at.is_(None)
        )
    )
    contact_id = uuid.uuid4()
    clean = new_contact_fields(session, principal, contact_id, data)
    contact = Contact(id=contact_id, customer_id=customer.id, **clean)
    if contact.is_primary is None:
        contact.is_primary = has_primary is None
    if contact.is_primary:
        _make_primary(session, principal, contact)
    session.add(contact)
    session.flush()
    session.refresh(contact)
    _record(session, principal, CONTACT_CREATED, contact, None)
    return contact


def update_contact(
    session: Session, principal: Principal, contact_id: uuid.UUID, version: int, data: dict[str, Any]
) -> Contact:
    require(principal.permissions, CUSTOMERS_WRITE)
    clean = _check_contact(data, creating=False)
    contact = get_contact(session, principal, contact_id)
    _check_version(contact, version)
    if clean.get("is_primary") is False and contact.is_primary:
        raise InputInvalid(
            [FieldError(["input", "isPrimary"], UserErrorCode.INVALID, "Make another contact primary instead")]
        )
    get_customer(session, principal, contact.customer_id, lock=True)
    if "custom_fields" in clean:
        clean["custom_fields"] = validate_custom_fields(
            session, principal.tenant_id, CustomFieldEntity.CONTACT, clean["custom_fields"],
            record_id=contact.id, current=contact.custom_fields,
        )  # fmt: skip
    seal_core_fields(session, principal.tenant_id, "contact", contact.id, clean, contact.sensitive)
    before = snapshot(contact)
    if clean.get("is_primary"):
        _make_primary(session, principal, contact)
    for key, value in clean.items():
        setattr(contact, key, value)
    contact.updated_at = _now()
    _flush(session)
    _record(session, principal, CONTACT_UPDATED, contact, before)
    return contact


def delete_contact(session: Session, principal: Principal, contact_id: uuid.UUID, version: int | None) -> Contact:
    require(principal.permissions, CUSTOMERS_WRITE)
    contact = get_contact(session, principal, contact_id)
    if version is not None:
        _check_version(contact, version)
    before = snapshot(contact)
    contact.deleted_at = _now()
    contact.is_primary = False
    _flush(session)
    _record(session, principal, CONTACT_DELETED, contact, before)
    # Scoped tokens naming the contact end: checked again at their next use.
    forget_credentials_after_commit(session, principal.tenant_id)
    return contact
