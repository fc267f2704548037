"""Defining, changing and archiving custom fields; the one place that changes definitions.

A change that existing values would not satisfy is refused with a coded user error, and
nothing is written: making a field required while records have no value (`VALUES_MISSING`),
unique while records share a value (`DUPLICATE_VALUES`), or defining a key or narrowing
options so that stored values no longer fit (`INCOMPATIBLE_VALUES`). Each change holds the
entity's definitions lock alone (`lock_definitions`), so no write of a record slips between
the check and the change.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from saas.audit.log import record_change, snapshot
from saas.auth.permissions import CUSTOM_FIELDS_MANAGE, CUSTOMERS_READ, require
from saas.auth.principal import Principal
from saas.custom_fields.graphql.types import CustomFieldDefinition as DefinitionType
from saas.custom_fields.models import CustomFieldDefinition, CustomFieldEntity, CustomFieldType
from saas.custom_fields.rules import (
    KEY_PATTERN,
    OPTION_TYPES,
    UNIQUE_TYPES,
    StoredValues,
    lock_definitions,
    release_unique_values,
)
from saas.custom_fields.validation import forget_definitions
from saas.errors import ConflictError, FieldError, InputInvalid, NotFoundError, UserErrorCode
from saas.events.outbox import emit_event
from saas.events.payloads import api_object
from saas.validation import Checker

MAX_DEFINITIONS_PER_ENTITY = 100
MAX_OPTIONS = 200
MAX_OPTION_LENGTH = 100


def _error(field: str, code: UserErrorCode, message: str) -> InputInvalid:
    return InputInvalid([FieldError(["input", field], code, message)])


def _options(check: Checker, field_type: CustomFieldType | None) -> None:
    """`options`: required (non-empty, distinct, trimmed) for SELECT and MULTI_SELECT, refused otherwise."""
    raw = check.data.get("options")
    if field_type not in OPTION_TYPES:
        if raw:
            check.fail("options", UserErrorCode.INVALID, "options are only for SELECT and MULTI_SELECT fields")
        return
    if raw is None:
        check.fail("options", UserErrorCode.REQUIRED, "options are required for SELECT and MULTI_SELECT fields")
        return
    options: list[str] = []
    for option in raw:
        option = " ".join(str(option).split())
        if not option:
            check.fail("options", UserErrorCode.INVALID, "an option must not be empty")
            return
        if len(option) > MAX_OPTION_LENGTH:
            check.fail("options", UserErrorCode.TOO_LONG, f"each option must be at most {MAX_OPTION_LENGTH} characters")
            return
        if option in options:
            check.fail("options", UserErrorCode.INVALID, f"option {option} is listed twice")
            return
        options.append(option)
    if not options:
        check.fail("options", UserErrorCode.REQUIRED, "options must list at least one option")
    elif len(options) > MAX_OPTIONS:
        check.fail("options", UserErrorCode.INVALID, f"at most {MAX_OPTIONS} options")
    else:
        check.clean["options"] = options


def _flag(check: Checker, field: str, *, default: bool | None) -> None:
    value = check.data.get(field)
    if value is None:
        if default is not None:
            check.clean[field] = default
        elif field in check.data:
            check.fail(field, UserErrorCode.REQUIRED, f"{field} must not be null")
        return
    check.clean[field] = bool(value)


def _check_definition(data: dict[str, Any]) -> dict[str, Any]:
    check = Checker(data)
    check.passthrough("entity")
    check.passthrough("type")
    check.text("key", required=True, max_length=64)
    key = check.clean.get("key")
    if key is not None and not KEY_PATTERN.match(key):
        check.clean.pop("key")
        check.fail(
            "key", UserErrorCode.INVALID, "key must start with a lowercase letter and hold letters and digits only"
        )
    check.text("label", required=True, max_length=200)
    _flag(check, "required", default=False)
    _flag(check, "unique", default=False)
    field_type = CustomFieldType(data["type"])
    _options(check, field_type)
    if check.clean.get("unique") and field_type not in UNIQUE_TYPES:
        check.fail("unique", UserErrorCode.INVALID, f"a {field_type.name} field cannot be unique")
    return check.done()


def _check_change(data: dict[str, Any], row: CustomFieldDefinition) -> dict[str, Any]:
    check = Checker(data)
    if "label" in data:
        check.text("label", required=True, max_length=200)
    _flag(check, "required", default=None)
    _flag(check, "unique", default=None)
    field_type = CustomFieldType(row.type)
    if "options" in data:
        _options(check, field_type)
    if check.clean.get("unique") and field_type not in UNIQUE_TYPES:
        check.fail("unique", UserErrorCode.INVALID, f"a {field_type.name} field cannot be unique")
    return check.done()


def _check_stored_values(
    session: Session,
    principal: Principal,
    entity: CustomFieldEntity,
    key: str,
    field_type: CustomFieldType,
    options: list[str],
    *,
    check_fit: bool,
    becomes_required: bool,
    becomes_unique: bool,
) -> None:
    """Refuse a definition that the records' stored values would not satisfy."""
    stored = StoredValues(session, principal.tenant_id, entity, key)
    if check_fit:
        count = stored.not_fitting(field_type, options)
        if count:
            field = "options" if field_type in OPTION_TYPES else "type"
            raise _error(
                field,
                UserErrorCode.INCOMPATIBLE_VALUES,
                f"{count} {entity.value} record(s) have a {key} value this definition would not allow",
            )
    if becomes_required:
        count = stored.missing()
        if count:
            raise _error(
                "required",
                UserErrorCode.VALUES_MISSING,
                f"{count} {entity.value} record(s) have no {key} value: set one on each first",
            )
    if becomes_unique:
        duplicate = stored.duplicate(field_type)
        if duplicate is not None:
            raise _error(
                "unique",
                UserErrorCode.DUPLICATE_VALUES,
                f"several {entity.value} records have the {key} value {duplicate}: make them differ first",
            )


def _record(
    session: Session, principal: Principal, action: str, row: CustomFieldDefinition, before: dict[str, Any] | None
) -> None:
    """The audit entry and the domain event (the definition as the API returns it)."""
    forget_definitions(session)
    record_change(session, principal, action, "CustomFieldDefinition", row.id, before, snapshot(row))
    emit_event(session, action, {"customFieldDefinition": api_object(DefinitionType.from_model(row))})


def _flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError() from exc


def define_custom_field(session: Session, principal: Principal, data: dict[str, Any]) -> CustomFieldDefinition:
    """A new field of an entity (owners and admins)."""
    require(principal.permissions, CUSTOM_FIELDS_MANAGE)
    clean = _check_definition(data)
    entity, field_type = CustomFieldEntity(clean["entity"]), CustomFieldType(clean["type"])
    lock_definitions(session, principal.tenant_id, entity, exclusive=True)
    existing = session.scalars(select(CustomFieldDefinition).where(CustomFieldDefinition.entity == entity.value)).all()
    taken = next((row for row in existing if row.key == clean["key"]), None)
    if taken is not None:
        archived = " (archived)" if taken.archived_at is not None else ""
        raise _error("key", UserErrorCode.TAKEN, f"{entity.value} already has a field {clean['key']}{archived}")
    if len(existing) >= MAX_DEFINITIONS_PER_ENTITY:
        raise _error("key", UserErrorCode.INVALID, f"at most {MAX_DEFINITIONS_PER_ENTITY} fields per record type")
    options = clean.get("options", [])
    _check_stored_values(
        session, principal, entity, clean["key"], field_type, options,
        check_fit=True, becomes_required=clean["required"], becomes_unique=clean["unique"],
    )  # fmt: skip
    row = CustomFieldDefinition(
        id=uuid.uuid4(),
        entity=entity.value,
        key=clean["key"],
        label=clean["label"],
        type=field_type.value,
        required=clean["required"],
        unique=clean["unique"],
        options=options,
        position=max((r.position for r in existing), default=0) + 1,
    )
    session.add(row)
    session.flush()
    session.refresh(row)
    if row.unique:
        StoredValues(session, principal.tenant_id, entity, row.key).hold_unique(row.id, field_type)
    _record(session, principal, "custom_field.defined", row, None)
    return row


def _locked_definition(
    session: Session, principal: Principal, definition_id: uuid.UUID, version: int | None
) -> CustomFieldDefinition:
    """The definition, read again under its entity's exclusive lock; NOT_FOUND, CONFLICT, ARCHIVED."""
    require(principal.permissions, CUSTOM_FIELDS_MANAGE)
    row = session.scalars(select(CustomFieldDefinition).where(CustomFieldDefinition.id == definition_id)).first()
    if row is None:
        raise NotFoundError("Custom field not found", id=str(definition_id))
    lock_definitions(session, principal.tenant_id, CustomFieldEntity(row.entity), exclusive=True)
    session.refresh(row)
    if version is not None and row.version != version:
        raise ConflictError(current_version=row.version)
    if row.archived_at is not None:
        raise _error("id", UserErrorCode.ARCHIVED, "This custom field is archived")
    return row


def update_custom_field(
    session: Session, principal: Principal, definition_id: uuid.UUID, version: int, data: dict[str, Any]
) -> CustomFieldDefinition:
    """Change the label, options, required or unique flag; the key and the type never change."""
    row = _locked_definition(session, principal, definition_id, version)
    clean = _check_change(data, row)
    entity, field_type = CustomFieldEntity(row.entity), CustomFieldType(row.type)
    options = clean.get("options", list(row.options))
    narrowed = bool(set(row.options) - set(options))
    becomes_unique = clean.get("unique", row.unique) and not row.unique
    _check_stored_values(
        session, principal, entity, row.key, field_type, options,
        check_fit=narrowed, becomes_required=clean.get("required", row.required) and not row.required,
        becomes_unique=becomes_unique,
    )  # fmt: skip
    before = snapshot(row)
    for key, value in clean.items():
        setattr(row, key, value)
    row.updated_at = datetime.now(UTC)
    _flush(session)
    if becomes_unique:
        StoredValues(session, principal.tenant_id, entity, row.key).hold_unique(row.id, field_type)
    elif not row.unique:
        release_unique_values(session, principal.tenant_id, row.id)
    _record(session, principal, "custom_field.updated", row, before)
    return row


def archive_custom_field(
    session: Session, principal: Principal, definition_id: uuid.UUID, version: int | None
) -> CustomFieldDefinition:
    """The field stops being part of its entity: writes may only clear it, it is no longer
    required nor unique, and stored values stay as they are (readable in `customFields`)."""
    row = _locked_definition(session, principal, definition_id, version)
    before = snapshot(row)
    row.archived_at = row.updated_at = datetime.now(UTC)
    _flush(session)
    release_unique_values(session, principal.tenant_id, row.id)
    _record(session, principal, "custom_field.archived", row, before)
    return row


def list_definitions(
    session: Session, principal: Principal, entity: CustomFieldEntity, *, include_archived: bool = False
) -> list[CustomFieldDefinition]:
    """The entity's fields in the order they were defined; one statement."""
    require(principal.permissions, CUSTOMERS_READ)
    query = select(CustomFieldDefinition).where(CustomFieldDefinition.entity == entity.value)
    if not include_archived:
        query = query.where(CustomFieldDefinition.archived_at.is_(None))
    return list(session.scalars(query.order_by(CustomFieldDefinition.position, CustomFieldDefinition.id)))


def get_definition(session: Session, principal: Principal, definition_id: uuid.UUID) -> CustomFieldDefinition:
    require(principal.permissions, CUSTOMERS_READ)
    row = session.scalars(select(CustomFieldDefinition).where(CustomFieldDefinition.id == definition_id)).first()
    if row is None:
        raise NotFoundError("Custom field not found", id=str(definition_id))
    return row
