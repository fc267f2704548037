"""Custom fields as SQL: the list filter every domain reuses, the lock between writers and
definition changes, unique values, and the checks of stored values against a definition.

The values live in each record's `custom_fields` JSONB column (customers, contacts, leads,
opportunities); this module is the one place that knows how they are queried.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session

from saas.custom_fields.models import CustomFieldEntity, CustomFieldType
from saas.db.conditions import SqlCondition
from saas.errors import BadUserInputError
from saas.tenancy.session import defer_statement

# A key is the field's name inside `customFields`: camelCase like the API's own fields, so that a
# user error's path (`customFields.<key>`) shows it as defined.
KEY_PATTERN = re.compile(r"^[a-z][A-Za-z0-9]{0,63}$")
TEXT_MAX_LENGTH = 500
# Whole numbers and decimals up to this size round-trip through JSON exactly.
NUMBER_LIMIT = 10**15

# The table of each entity; every one has `tenant_id`, `id` and a `custom_fields` JSONB column.
ENTITY_TABLES: dict[CustomFieldEntity, str] = {
    CustomFieldEntity.CUSTOMER: "customers",
    CustomFieldEntity.CONTACT: "contacts",
    CustomFieldEntity.LEAD: "leads",
    CustomFieldEntity.OPPORTUNITY: "opportunities",
}

UNIQUE_TYPES = frozenset({CustomFieldType.TEXT, CustomFieldType.NUMBER, CustomFieldType.DATE, CustomFieldType.SELECT})
OPTION_TYPES = frozenset({CustomFieldType.SELECT, CustomFieldType.MULTI_SELECT})


# --- Filtering -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomFieldFilter:
    """`customField: {key, equals}` of a list filter, checked (`custom_field_filter`); `blind_index`
    is the value's blind index when the tenant has an index key (`saas.sensitive.search`)."""

    key: str
    equals: Any
    blind_index: str | None = None


def custom_field_filter(key: str, equals: Any) -> CustomFieldFilter:
    """The filter a client asked for, or BAD_USER_INPUT naming what is wrong with it."""
    if not KEY_PATTERN.match(key or ""):
        raise BadUserInputError("customField.key is not a custom field key", field="customField.key")
    if isinstance(equals, str):
        equals = equals.strip()
    elif isinstance(equals, float) and equals.is_integer():
        equals = int(equals)
    elif isinstance(equals, list) and equals and all(isinstance(item, str) for item in equals):
        equals = [item.strip() for item in equals]
    elif not isinstance(equals, bool | int | float):
        raise BadUserInputError(
            "customField.equals must be a string, number, boolean or a non-empty list of strings",
            field="customField.equals",
        )
    return CustomFieldFilter(key, equals)


def custom_field_condition(
    condition: SqlCondition, alias: str, flt: CustomFieldFilter, *, column: str = "custom_fields"
) -> None:
    """Records whose custom field `flt.key` equals `flt.equals`, as JSONB containment (`@>`, served
    by the table's GIN index on the column). A string also matches a MULTI_SELECT holding that
    option, a list a MULTI_SELECT holding all of them, and a SENSITIVE value whose blind index
    is the string's (never the plaintext); a key no record has matches nothing."""
    param = f"custom_field_{len(condition.params)}"
    expression = f"{alias}.{column} @> CAST(:{param} AS jsonb)"
    params = {param: orjson.dumps({flt.key: flt.equals}).decode()}
    if isinstance(flt.equals, str):
        alternatives = [expression, f"{alias}.{column} @> CAST(:{param}_any AS jsonb)"]
        params[f"{param}_any"] = orjson.dumps({flt.key: [flt.equals]}).decode()
        if flt.blind_index is not None:
            alternatives.append(f"{alias}.{column} @> CAST(:{param}_bi AS jsonb)")
            params[f"{param}_bi"] = orjson.dumps({flt.key: {"bi": flt.blind_index}}).decode()
        expression = "(" + " OR ".join(alternatives) + ")"
    condition.add(expression, **params)


# --- The lock between writers and definition changes ------------------------------------------


def lock_definitions(session: Session, tenant_id: uuid.UUID, entity: CustomFieldEntity, *, exclusive: bool) -> None:
    """Writers of an entity's records share this lock for their transaction; a definition change
    of that entity holds it alone. So a change that checks stored values (making a field required
    or unique, narrowing options) sees every write that validated against the old definition, and
    every later write validates against the new one."""
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    # Taken in front of the session's next statement, in the same message (`defer_statement`).
    defer_statement(
        session,
        f"SELECT {function}(hashtextextended(%(lock_name)s, 0))",
        {"lock_name": f"custom_fields:{tenant_id}:{entity.value}"},
    )


# --- Unique values -----------------------------------------------------------------------------


def _unique_value_sql(field_type: CustomFieldType, document: str) -> str:
    """The comparable form of a unique field's value inside `document` (a jsonb expression)."""
    value = f"({document} ->> :key)"
    return f"lower({value})" if field_type is CustomFieldType.TEXT else value


def claim_unique_value(
    session: Session,
    tenant_id: uuid.UUID,
    definition_id: uuid.UUID,
    key: str,
    field_type: CustomFieldType,
    record_id: uuid.UUID,
    value: Any,
) -> bool:
    """Make `value` the record's value of a unique field (None: it has none); False when another
    record holds it. A concurrent transaction claiming the same value makes this one wait for it,
    then fail if it committed: two records never both get the value."""
    params = {"tenant_id": tenant_id, "definition_id": definition_id, "record_id": record_id, "key": key}
    session.execute(
        text(
            "DELETE FROM custom_field_unique_values WHERE tenant_id = :tenant_id "
            "AND definition_id = :definition_id AND record_id = :record_id"
        ),
        params,
    )
    if value is None:
        return True
    claimed = session.execute(
        text(
            "INSERT INTO custom_field_unique_values (tenant_id, definition_id, value_key, record_id) "
            f"VALUES (:tenant_id, :definition_id, {_unique_value_sql(field_type, 'CAST(:document AS jsonb)')}, "
            ":record_id) ON CONFLICT DO NOTHING RETURNING record_id"
        ),
        {**params, "document": orjson.dumps({key: value}).decode()},
    ).first()
    return claimed is not None


def release_unique_values(session: Session, tenant_id: uuid.UUID, definition_id: uuid.UUID) -> None:
    """The field is no longer unique (or archived): its values are free."""
    session.execute(
        text("DELETE FROM custom_field_unique_values WHERE tenant_id = :tenant_id AND definition_id = :definition_id"),
        {"tenant_id": tenant_id, "definition_id": definition_id},
    )


# --- Stored values against a definition --------------------------------------------------------


@dataclass(frozen=True)
class StoredValues:
    """Questions about the values stored under one key of one entity's records (all records of
    the tenant, soft-deleted ones too: they can be restored)."""

    session: Session
    tenant_id: uuid.UUID
    entity: CustomFieldEntity
    key: str

    def _table(self) -> str | None:
        """The entity's table, or None when it does not exist (yet) in this database."""
        table = ENTITY_TABLES[self.entity]
        found = self.session.execute(text("SELECT to_regclass(:table)"), {"table": table}).scalar()
        return table if found is not None else None

    def _scalar(self, sql: str, **params: Any) -> Any:
        table = self._table()
        if table is None:
            return None
        return self.session.execute(
            text(sql.replace("{table}", table)), {"tenant_id": self.tenant_id, "key": self.key, **params}
        ).scalar()

    def missing(self) -> int:
        """How many records have no value."""
        sql = "SELECT count(*) FROM {table} r WHERE r.tenant_id = :tenant_id AND NOT (r.custom_fields ? :key)"
        return int(self._scalar(sql) or 0)

    def not_fitting(self, field_type: CustomFieldType, options: list[str]) -> int:
        """How many records have a value that the type (and options) would refuse."""
        value = "(r.custom_fields -> :key)"
        fits = {
            CustomFieldType.TEXT: f"jsonb_typeof({value}) = 'string' AND char_length({value} #>> '{{}}') <= {TEXT_MAX_LENGTH}",
            CustomFieldType.NUMBER: f"jsonb_typeof({value}) = 'number'",
            CustomFieldType.BOOLEAN: f"jsonb_typeof({value}) = 'boolean'",
            CustomFieldType.DATE: f"jsonb_typeof({value}) = 'string' AND ({value} #>> '{{}}') ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$'",
            CustomFieldType.SELECT: f"jsonb_typeof({value}) = 'string' AND ({value} #>> '{{}}') = ANY(:options)",
            CustomFieldType.MULTI_SELECT: (
                f"jsonb_typeof({value}) = 'array' AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements({value}) e "
                "WHERE jsonb_typeof(e) <> 'string' OR NOT ((e #>> '{}') = ANY(:options)))"
            ),
            # Sealed values only (saas/sensitive/envelope.py): a plaintext one would stay readable.
            CustomFieldType.SENSITIVE: f"jsonb_typeof({value}) = 'object' AND {value} ? '$sensitive'",
        }[field_type]
        sql = (
            "SELECT count(*) FROM {table} r WHERE r.tenant_id = :tenant_id AND r.custom_fields ? :key "
            f"AND NOT ({fits})"
        )
        return int(self._scalar(sql, options=list(options)) or 0)

    def duplicate(self, field_type: CustomFieldType) -> str | None:
        """A value two or more records share (compared as a unique field compares), or None."""
        value = _unique_value_sql(field_type, "r.custom_fields")
        sql = (
            f"SELECT min(r.custom_fields ->> :key) FROM {{table}} r WHERE r.tenant_id = :tenant_id "
            f"AND r.custom_fields ? :key GROUP BY {value} HAVING count(*) > 1 LIMIT 1"
        )
        found = self._scalar(sql)
        return None if found is None else str(found)

    def hold_unique(self, definition_id: uuid.UUID, field_type: CustomFieldType) -> None:
        """Record every stored value as held by its record (after `duplicate` found none)."""
        table = self._table()
        if table is None:
            return
        value = _unique_value_sql(field_type, "r.custom_fields")
        self.session.execute(
            text(
                "INSERT INTO custom_field_unique_values (tenant_id, definition_id, value_key, record_id) "
                f"SELECT r.tenant_id, :definition_id, {value}, r.id FROM {table} r "
                "WHERE r.tenant_id = :tenant_id AND r.custom_fields ? :key"
            ),
            {"tenant_id": self.tenant_id, "key": self.key, "definition_id": definition_id},
        )
