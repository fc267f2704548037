"""The one validator of custom field values: every write of a record with custom fields calls
`validate_custom_fields` (customers, contacts, leads, opportunities)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from math import isfinite
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from saas.custom_fields.models import CustomFieldDefinition, CustomFieldEntity, CustomFieldType
from saas.custom_fields.rules import NUMBER_LIMIT, TEXT_MAX_LENGTH, claim_unique_value, lock_definitions
from saas.errors import FieldError, InputInvalid, UserErrorCode
from saas.sensitive.rules import MAX_LENGTH as SENSITIVE_MAX_LENGTH
from saas.sensitive.rules import custom_field_address, seal_value
from saas.tenancy.session import session_connection
from saas.validation import has_control_characters

CACHE_KEY = "custom_field_definitions"
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class FieldDefinition:
    """A definition as the validator uses it (a plain value, safe to cache)."""

    id: uuid.UUID
    key: str
    label: str
    type: CustomFieldType
    required: bool
    unique: bool
    options: tuple[str, ...]
    archived: bool

    @classmethod
    def of(cls, row: Any) -> FieldDefinition:
        """From a definition, or a row of its columns."""
        return cls(
            id=row.id,
            key=row.key,
            label=row.label,
            type=CustomFieldType(row.type),
            required=row.required,
            unique=row.unique,
            options=tuple(row.options or ()),
            archived=row.archived_at is not None,
        )


_TABLE = CustomFieldDefinition.__table__
_DEFINITIONS = select(
    *(_TABLE.c[name] for name in ("id", "key", "label", "type", "required", "unique", "options", "archived_at"))
).where(_TABLE.c.tenant_id == bindparam("tenant_id"), _TABLE.c.entity == bindparam("entity"))


def definitions_for(session: Session, tenant_id: uuid.UUID, entity: CustomFieldEntity) -> dict[str, FieldDefinition]:
    """The entity's definitions by key (archived ones too), read once per transaction.

    The first read in a transaction takes the shared definitions lock (`lock_definitions`) and
    then reads, so the definitions hold until the transaction ends; later calls in the same
    transaction (the same request's write) use the cached ones. A statement the caller sends
    anyway may have read them already (`DefinitionsRider`).
    """
    by_entity = _cached(session)
    if entity not in by_entity:
        _lock_and_flush(session, tenant_id, entity)
        # The columns only (no ORM objects to load), by a statement built once: every write with
        # custom fields reads them. Tenant-filtered here (and by row-level security).
        rows = session.connection().execute(_DEFINITIONS, {"tenant_id": tenant_id, "entity": entity.value})
        by_entity[entity] = {row.key: FieldDefinition.of(row) for row in rows}
    return by_entity[entity]


def _cached(session: Session) -> dict[CustomFieldEntity, dict[str, FieldDefinition]]:
    """The transaction's definitions read so far, by entity (begins the transaction if none has:
    the cache is keyed by it)."""
    session_connection(session)
    transaction = session.get_transaction()
    cached = session.info.get(CACHE_KEY)
    if cached is None or cached[0] is not transaction:
        cached = session.info[CACHE_KEY] = (transaction, {})
    by_entity: dict[CustomFieldEntity, dict[str, FieldDefinition]] = cached[1]
    return by_entity


def _lock_and_flush(session: Session, tenant_id: uuid.UUID, entity: CustomFieldEntity) -> None:
    """What comes before a read of the definitions: the shared lock (sent in front of the next
    statement), and what the session holds written first, as the ORM's autoflush before a query."""
    lock_definitions(session, tenant_id, entity, exclusive=False)
    if session.new or session.dirty or session.deleted:
        session.flush()


# The definitions as one JSON value, for a statement that carries them as a column (`DefinitionsRider`):
# the columns `FieldDefinition.of` reads, archived as a flag. Tenant-filtered here (and by row-level security).
_RIDER_TENANT = "custom_fields_tenant_id"
_RIDER_ENTITY = "custom_fields_entity"
_DEFINITIONS_COLUMN = (
    '(SELECT coalesce(json_agg(json_build_array(d.id, d.key, d.label, d.type, d.required, d."unique", d.options, '
    "d.archived_at IS NOT NULL)), '[]'::json) FROM custom_field_definitions d "
    f"WHERE d.tenant_id = :{_RIDER_TENANT} AND d.entity = :{_RIDER_ENTITY})"
)


class DefinitionsRider:
    """The entity's definitions read by a statement the caller sends anyway, as one more column
    of it (`saas.tenancy.session.Rider`): `createCustomer`'s duplicate lookup carries them, so
    the write has one round trip fewer. The same rule as `definitions_for`: the shared lock is
    taken in front of that statement (in its message), before it reads; the definitions are then
    the transaction's, and `definitions_for` answers from them without a statement."""

    def __init__(self, session: Session, tenant_id: uuid.UUID, entity: CustomFieldEntity) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.entity = entity

    def column(self) -> tuple[str, dict[str, Any]]:
        """The column's SQL (a scalar subquery with `:name` parameters) and its parameters; the
        lock is taken in front of the statement that carries it."""
        _lock_and_flush(self.session, self.tenant_id, self.entity)
        return _DEFINITIONS_COLUMN, {_RIDER_TENANT: self.tenant_id, _RIDER_ENTITY: self.entity.value}

    def accept(self, value: Any) -> None:
        """The column's value, as read: the transaction's definitions of the entity from now on."""
        definitions = (
            FieldDefinition(
                id=uuid.UUID(str(row[0])),
                key=row[1],
                label=row[2],
                type=CustomFieldType(row[3]),
                required=bool(row[4]),
                unique=bool(row[5]),
                options=tuple(row[6] or ()),
                archived=bool(row[7]),
            )
            for row in value
        )
        _cached(self.session)[self.entity] = {definition.key: definition for definition in definitions}


def definitions_rider(session: Session, tenant_id: uuid.UUID, entity: CustomFieldEntity) -> DefinitionsRider | None:
    """A rider that reads the entity's definitions with the caller's next statement, or None when
    this transaction has read them already."""
    if entity in _cached(session):
        return None
    return DefinitionsRider(session, tenant_id, entity)


def forget_definitions(session: Session) -> None:
    """Definitions changed in this transaction: read them again at the next use."""
    session.info.pop(CACHE_KEY, None)


class _Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def normalise_value(definition: FieldDefinition, value: Any) -> Any:
    """The value as stored (None: no value), or `_Refused` with the code and message."""
    label, kind = definition.label, definition.type
    wrong = _Refused(UserErrorCode.WRONG_TYPE, f"{label} must be {_EXPECTED[kind]}")
    if kind is CustomFieldType.TEXT:
        if not isinstance(value, str):
            raise wrong
        value = value.strip()
        if has_control_characters(value):
            raise _Refused(UserErrorCode.INVALID, f"{label} must not contain control characters")
        if len(value) > TEXT_MAX_LENGTH:
            raise _Refused(UserErrorCode.TOO_LONG, f"{label} must be at most {TEXT_MAX_LENGTH} characters")
        return value or None
    if kind is CustomFieldType.SENSITIVE:
        if not isinstance(value, str):
            raise wrong
        value = value.strip()
        if has_control_characters(value):
            raise _Refused(UserErrorCode.INVALID, f"{label} must not contain control characters")
        if len(value) > SENSITIVE_MAX_LENGTH:
            raise _Refused(UserErrorCode.TOO_LONG, f"{label} must be at most {SENSITIVE_MAX_LENGTH} characters")
        return value or None
    if kind is CustomFieldType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise wrong
        if not isfinite(value) or abs(value) >= NUMBER_LIMIT:
            raise _Refused(UserErrorCode.INVALID, f"{label} must be a number between -10^15 and 10^15")
        return int(value) if isinstance(value, float) and value.is_integer() else value
    if kind is CustomFieldType.DATE:
        if not isinstance(value, str):
            raise wrong
        try:
            if not DATE_PATTERN.match(value.strip()):
                raise ValueError(value)
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            raise _Refused(UserErrorCode.INVALID, f"{label} must be a date such as 2026-11-25") from None
    if kind is CustomFieldType.BOOLEAN:
        if not isinstance(value, bool):
            raise wrong
        return value
    if kind is CustomFieldType.SELECT:
        if not isinstance(value, str):
            raise wrong
        if value.strip() not in definition.options:
            raise _Refused(UserErrorCode.INVALID_OPTION, f"{label} must be one of {', '.join(definition.options)}")
        return value.strip()
    # MULTI_SELECT: a list of options, stored once each in the order the definition lists them.
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise wrong
    chosen = {item.strip() for item in value}
    if not chosen <= set(definition.options):
        raise _Refused(UserErrorCode.INVALID_OPTION, f"each of {label} must be one of {', '.join(definition.options)}")
    return [option for option in definition.options if option in chosen] or None


_EXPECTED = {
    CustomFieldType.TEXT: "a string",
    CustomFieldType.NUMBER: "a number",
    CustomFieldType.DATE: "a date string such as 2026-11-25",
    CustomFieldType.BOOLEAN: "true or false",
    CustomFieldType.SELECT: "one of its options, as a string",
    CustomFieldType.MULTI_SELECT: "a list of its options",
    CustomFieldType.SENSITIVE: "a string",
}


def validate_custom_fields(
    session: Session,
    tenant_id: uuid.UUID,
    entity: CustomFieldEntity,
    values: Any,
    *,
    record_id: uuid.UUID,
    current: Mapping[str, Any] | None = None,
    field: tuple[str, ...] = ("input", "customFields"),
) -> dict[str, Any]:
    """The record's custom fields after this write, checked against the tenant's definitions.

    `values` is what the client sent (`customFields`, a JSON object; None counts as `{}`).
    Creating (`current` None): it is the record's whole set. Updating (`current` the stored
    values): it is a patch — the keys it names are set, a key set to null is cleared, the others
    stay. Values are normalised (text trimmed, MULTI_SELECT in option order, whole numbers as
    integers); an empty string or list is no value. Unique values are claimed for `record_id`
    in this transaction (race-safe: see `claim_unique_value`), so call this before the record
    is written and let the transaction roll back on failure.

    Raises `InputInvalid` with one error per problem on `[*field, key]`: UNKNOWN_FIELD,
    ARCHIVED (only clearing is allowed), WRONG_TYPE, INVALID (a bad date, number or character),
    TOO_LONG, INVALID_OPTION, REQUIRED, TAKEN (another record holds a unique value).

    SENSITIVE values this write sets are returned sealed (`saas.sensitive.rules.seal_value`):
    the plaintext never reaches the row.
    """
    definitions = definitions_for(session, tenant_id, entity)
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise InputInvalid([FieldError(list(field), UserErrorCode.INVALID, "customFields must be a JSON object")])
    errors: list[FieldError] = []

    def fail(key: str, code: str, message: str) -> None:
        errors.append(FieldError([*field, key], code, message))

    result = dict(current or {})
    for key, raw in values.items():
        definition = definitions.get(key)
        if definition is None:
            fail(key, UserErrorCode.UNKNOWN_FIELD, f"No custom field {key} is defined for this record type")
            continue
        if definition.archived and raw is not None:
            fail(key, UserErrorCode.ARCHIVED, f"{definition.label} is archived: it can only be cleared")
            continue
        try:
            value = None if raw is None else normalise_value(definition, raw)
        except _Refused as refused:
            fail(key, refused.code, refused.message)
            continue
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    for definition in definitions.values():
        if definition.required and not definition.archived and definition.key not in result:
            fail(definition.key, UserErrorCode.REQUIRED, f"{definition.label} is required")
    if errors:
        raise InputInvalid(errors)
    for definition in definitions.values():
        if not definition.unique or definition.archived or (current is not None and definition.key not in values):
            continue
        value = result.get(definition.key)
        if not claim_unique_value(session, tenant_id, definition.id, definition.key, definition.type, record_id, value):
            fail(definition.key, UserErrorCode.TAKEN, f"Another {entity.value} has this {definition.label}")
    if errors:
        raise InputInvalid(errors)
    for key in values:
        definition = definitions[key]
        if definition.type is CustomFieldType.SENSITIVE and isinstance(result.get(key), str):
            address = custom_field_address(tenant_id, entity.value, key, record_id)
            result[key] = seal_value(session, address, result[key])
    return result
