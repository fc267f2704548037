"""The one rule of sensitive fields: which fields are stored encrypted, how a write seals them,
how compiled reads select them (ciphertext only, never decrypted in SQL), and what the ORM path
shows (the mask).

Two kinds of sensitive value, stored the same way (`envelope.stored`):
- a custom field of type SENSITIVE: in the record's `custom_fields` JSONB under its key;
- a core field the tenant marks sensitive (`CORE_FIELDS`, `setSensitiveFields`): in the record's
  `sensitive` JSONB column under the column's name, the plain column then NULL.

Compiled reads select the stored object with the row's table, id and field added (the
associated data of its ciphertext comes from the row read, never from the stored value), and
`saas.sensitive.reveal` turns each into the plaintext or the mask in Python after the statement.
The ORM path (mutation payloads, events, resolver fallbacks) shows the mask: no event, webhook
or audit entry ever carries a sensitive value.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.sensitive import keys
from saas.sensitive.envelope import MARKER, FieldAddress, blind_index, is_stored, mask, seal, stored
from saas.sensitive.models import SensitiveField

# The core fields a tenant may mark sensitive: entity -> {API field name: column}. Their tables
# have a `sensitive JSONB` column that holds the sealed values.
CORE_FIELDS: dict[str, dict[str, str]] = {
    "contact": {"phone": "phone", "email": "email"},
}
# The table of each entity that has sensitive values (custom fields or core fields).
TABLES: dict[str, str] = {
    "customer": "customers",
    "contact": "contacts",
    "lead": "leads",
    "opportunity": "opportunities",
}
# The audit log's name of each table's records.
ENTITY_TYPES: dict[str, str] = {
    "customers": "Customer",
    "contacts": "Contact",
    "leads": "Lead",
    "opportunities": "Opportunity",
}
CUSTOM_FIELD_PREFIX = "custom_fields."
# The most characters a sensitive value may have.
MAX_LENGTH = 200
CACHE_KEY = "sensitive_fields"


def custom_field_address(tenant_id: uuid.UUID, entity: str, key: str, row_id: uuid.UUID) -> FieldAddress:
    return FieldAddress(tenant_id, TABLES[entity], CUSTOM_FIELD_PREFIX + key, row_id)


# --- Writes --------------------------------------------------------------------------------------


def seal_value(session: Session, address: FieldAddress, plaintext: str) -> dict[str, str]:
    """`plaintext` as stored: sealed under the tenant's current data key, its blind index, its mask."""
    version, data_key = keys.current_data_key(session, address.tenant_id)
    index_key = keys.index_key(session, address.tenant_id, create=True)
    assert index_key is not None  # created with the first data key
    return stored(
        seal(data_key, version, plaintext, address),
        blind_index(index_key, address.table, address.field, plaintext),
        mask(plaintext),
    )


def marked_fields(session: Session, entity: str) -> frozenset[str]:
    """The core fields (columns) of `entity` the tenant stores encrypted; read once per transaction."""
    session.connection()
    transaction = session.get_transaction()
    cached = session.info.get(CACHE_KEY)
    if cached is None or cached[0] is not transaction:
        rows = session.execute(select(SensitiveField.entity, SensitiveField.field)).all()
        marked: dict[str, set[str]] = {}
        for row_entity, field in rows:
            column = CORE_FIELDS.get(row_entity, {}).get(field)
            if column is not None:
                marked.setdefault(row_entity, set()).add(column)
        cached = session.info[CACHE_KEY] = (transaction, {k: frozenset(v) for k, v in marked.items()})
    return cached[1].get(entity, frozenset())  # type: ignore[no-any-return]


def forget_marked_fields(session: Session) -> None:
    session.info.pop(CACHE_KEY, None)


def seal_core_fields(
    session: Session,
    tenant_id: uuid.UUID,
    entity: str,
    row_id: uuid.UUID,
    clean: dict[str, Any],
    current: Mapping[str, Any] | None,
) -> None:
    """Move the values of the entity's marked core fields out of `clean` (the columns to write) into
    its `sensitive` document, sealed; `current` is the stored document (None when creating)."""
    marked = marked_fields(session, entity)
    if not marked or not any(column in clean for column in marked):
        return
    document = dict(current or {})
    for column in marked:
        if column not in clean:
            continue
        value = clean[column]
        clean[column] = None
        if value is None or value == "":
            document.pop(column, None)
        else:
            document[column] = seal_value(session, FieldAddress(tenant_id, TABLES[entity], column, row_id), str(value))
    clean["sensitive"] = document


# --- Reads ---------------------------------------------------------------------------------------


def shown(value: Any) -> Any:
    """A value as the ORM path shows it: a stored sensitive value is its mask."""
    return value["mask"] if is_stored(value) else value


def shown_custom_fields(values: Mapping[str, Any] | None) -> dict[str, Any]:
    return {key: shown(value) for key, value in (values or {}).items()}


def shown_core_field(plain: Any, document: Mapping[str, Any] | None, column: str) -> Any:
    """A core field as the ORM path shows it: the plain column, else the mask of the sealed value."""
    if plain is not None:
        return plain
    sealed = (document or {}).get(column)
    return sealed["mask"] if is_stored(sealed) else None


def _marker_sql(value: str, table: str, field_sql: str) -> str:
    """The stored object `value` with where it lives, for `saas.sensitive.reveal`."""
    return f"{value} || jsonb_build_object('row', {{t}}.id, 'table', '{table}', 'field', {field_sql})"


def custom_fields_sql(table: str) -> str:
    """The compiled read of a `custom_fields` column: as stored, each sensitive value with its
    place added. Rows holding none (tested with the jsonpath) are passed as they are."""
    marked = (
        "(SELECT jsonb_object_agg(sf.key, CASE WHEN jsonb_typeof(sf.value) = 'object' AND sf.value ? '" + MARKER + "' "
        f"THEN {_marker_sql('sf.value', table, repr(CUSTOM_FIELD_PREFIX) + ' || sf.key')} ELSE sf.value END) "
        "FROM jsonb_each({t}.custom_fields) sf)"
    )
    return f"CASE WHEN {{t}}.custom_fields @? '$.*.\"{MARKER}\"' THEN {marked} ELSE {{t}}.custom_fields END"


def core_field_sql(table: str, column: str) -> str:
    """The compiled read of a core field that may be marked sensitive: the plain column, or the
    sealed value with its place."""
    sealed = f"({{t}}.sensitive -> '{column}')"
    # `json`, not `jsonb`: the plain value (the common case) is written as a JSON string at once,
    # without building a jsonb value and writing that out (the same text: both escape strings
    # with one function); only a sealed value goes through jsonb, to add its place.
    return (
        f"CASE WHEN {{t}}.{column} IS NOT NULL THEN to_json({{t}}.{column}) "
        f"ELSE to_json({_marker_sql(sealed, table, repr(column))}) END"
    )


def blind_index_of(index_key: bytes | None, table: str, field: str, value: Any) -> str | None:
    """The blind index equality search compares for `value` (None: no key yet, or not a string)."""
    if index_key is None or not isinstance(value, str):
        return None
    return blind_index(index_key, table, field, value)
