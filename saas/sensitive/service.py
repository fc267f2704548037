"""Changing what is sensitive and which keys seal it: marking core fields, re-encryption runs, and
master key rotation. Each change records its audit entry and its domain event.

A re-encryption run brings every sealed value of the tenant under the run's data key version,
seals the plaintext of newly marked core fields and opens back into their column those no longer
marked. It goes through the tenant's tables in batches (`run_batch`): each batch locks the run
row and its rows, rewrites them, and moves the cursor in the same transaction, so a batch is
done whole or not at all; a run killed midway resumes from its cursor, and no row is rewritten
twice (a row already under the run's version needs nothing). A rewritten row's `version` moves
on, so a writer holding the row from before the batch gets CONFLICT instead of writing an older
ciphertext back.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from saas.audit.log import Actor, record_change, snapshot
from saas.auth.permissions import CUSTOM_FIELDS_MANAGE, require
from saas.auth.principal import Principal
from saas.errors import FieldError, InputInvalid, UserErrorCode
from saas.events.outbox import emit_event
from saas.sensitive import keys
from saas.sensitive.envelope import MARKER, FieldAddress, is_stored, key_version, open_sealed, seal, stored
from saas.sensitive.models import ReencryptRun, SensitiveField
from saas.sensitive.rules import (
    CORE_FIELDS,
    CUSTOM_FIELD_PREFIX,
    TABLES,
    forget_marked_fields,
    marked_fields,
    seal_value,
)
from saas.tenancy.session import on_commit

RUNNING = "running"
DONE = "done"
SUPERSEDED = "superseded"
# The tables a run goes through, in order (each has `id`, `version` and `custom_fields`).
RUN_TABLES: tuple[tuple[str, str], ...] = tuple((entity, table) for entity, table in TABLES.items())
MAX_FIELDS = 20
FIELD_MAX_LENGTH = 64

SENSITIVE_FIELDS_CHANGED = "sensitive_fields.changed"
KEYS_REWRAPPED = "encryption_keys.rewrapped"
REENCRYPTION_STARTED = "reencryption.started"
REENCRYPTION_FINISHED = "reencryption.finished"


@dataclass(frozen=True)
class SystemActor:
    """The operator's command line, as the audit log names it."""

    label: str
    user_id: uuid.UUID | None = None


# --- Marking core fields -------------------------------------------------------------------------


def sensitive_core_fields(session: Session) -> list[tuple[str, str, bool]]:
    """Every core field that can be marked: (entity, field, marked), in catalog order."""
    marked = {(row.entity, row.field) for row in session.scalars(select(SensitiveField))}
    return [(entity, field, (entity, field) in marked) for entity, fields in CORE_FIELDS.items() for field in fields]


def _check_fields(entity: str, fields: Sequence[Any]) -> list[str]:
    errors: list[FieldError] = []
    if len(fields) > MAX_FIELDS:
        raise InputInvalid([FieldError(["input", "fields"], UserErrorCode.INVALID, f"at most {MAX_FIELDS} fields")])
    clean: list[str] = []
    for position, field in enumerate(fields):
        path = ["input", "fields", str(position)]
        if not isinstance(field, str):
            errors.append(FieldError(path, UserErrorCode.WRONG_TYPE, "a field is named by a string"))
        elif len(field) > FIELD_MAX_LENGTH:
            errors.append(FieldError(path, UserErrorCode.TOO_LONG, f"at most {FIELD_MAX_LENGTH} characters"))
        elif field not in CORE_FIELDS.get(entity, {}):
            known = ", ".join(CORE_FIELDS.get(entity, {})) or "none"
            errors.append(
                FieldError(path, UserErrorCode.UNKNOWN_FIELD, f"{field} cannot be marked sensitive (known: {known})")
            )
        elif field not in clean:
            clean.append(field)
    if errors:
        raise InputInvalid(errors)
    return clean


def set_sensitive_fields(
    session: Session, principal: Principal, entity: str, fields: Sequence[Any]
) -> tuple[list[tuple[str, str, bool]], ReencryptRun | None]:
    """Mark exactly `fields` of `entity` sensitive (owners and admins); when that changes anything,
    a re-encryption run moves the stored values (sealing or opening them) in the background."""
    require(principal.permissions, CUSTOM_FIELDS_MANAGE)
    if entity not in TABLES:
        raise InputInvalid([FieldError(["input", "entity"], UserErrorCode.INVALID, "unknown entity")])
    wanted = set(_check_fields(entity, fields))
    rows = {row.field: row for row in session.scalars(select(SensitiveField).where(SensitiveField.entity == entity))}
    before = sorted(rows)
    for field in set(rows) - wanted:
        session.delete(rows[field])
    for field in wanted - set(rows):
        session.add(SensitiveField(entity=entity, field=field))
    session.flush()
    forget_marked_fields(session)
    run = None
    if set(before) != wanted:
        after = sorted(wanted)
        record_change(
            session,
            principal,
            SENSITIVE_FIELDS_CHANGED,
            "SensitiveFields",
            entity,
            {"fields": before},
            {"fields": after},
        )
        emit_event(session, SENSITIVE_FIELDS_CHANGED, {"entity": entity.upper(), "fields": after})
        run = start_reencrypt(session, principal, principal.tenant_id, new_key=False)
    return sensitive_core_fields(session), run


# --- Re-encryption runs ----------------------------------------------------------------------------


def run_payload(run: ReencryptRun) -> dict[str, Any]:
    from saas.schema.relay import to_global_id

    return {
        "reencryptRun": {
            "id": to_global_id("ReencryptRun", run.id),
            "keyVersion": run.key_version,
            "status": run.status.upper(),
            "processed": run.processed,
        }
    }


def start_reencrypt(session: Session, actor: Actor, tenant_id: uuid.UUID, *, new_key: bool) -> ReencryptRun:
    """A run toward a new data key version (`new_key`), or the current one (a marking changed);
    an unfinished earlier run is superseded (this one covers every row again)."""
    version = keys.new_data_key_version(session, tenant_id) if new_key else keys.ensure_keys(session, tenant_id).version
    for earlier in session.scalars(select(ReencryptRun).where(ReencryptRun.status == RUNNING).with_for_update()):
        earlier.status, earlier.finished_at, earlier.note = SUPERSEDED, datetime.now(UTC), "a later run covers it"
    run = ReencryptRun(id=uuid.uuid4(), tenant_id=tenant_id, key_version=version, status=RUNNING)
    session.add(run)
    session.flush()
    session.refresh(run)
    record_change(session, actor, REENCRYPTION_STARTED, "ReencryptRun", run.id, None, snapshot(run))
    emit_event(session, REENCRYPTION_STARTED, run_payload(run))
    on_commit(session, lambda: _request(tenant_id))
    return run


def _request(tenant_id: uuid.UUID) -> None:
    from saas.sensitive.jobs import request_reencrypt  # the job module imports this one

    request_reencrypt(tenant_id)


def latest_runs(session: Session, limit: int = 10) -> list[ReencryptRun]:
    return list(session.scalars(select(ReencryptRun).order_by(ReencryptRun.started_at.desc()).limit(limit)))


def _reseal(
    session: Session, tenant_id: uuid.UUID, value: dict[str, Any], address: FieldAddress, target: int, target_key: bytes
) -> dict[str, Any] | None:
    """The stored value under the target version, or None when it already is."""
    version = key_version(value[MARKER])
    if version == target:
        return None
    old_key = keys.data_key(session, tenant_id, version)
    if old_key is None:
        raise keys.UnknownMasterKey(f"data key version {version} is missing")
    plaintext = open_sealed(old_key, value[MARKER], address)
    return stored(seal(target_key, target, plaintext, address), value["bi"], value["mask"])


def _rewrite_row(
    session: Session,
    tenant_id: uuid.UUID,
    entity: str,
    table: str,
    row: Any,
    target: int,
    target_key: bytes,
) -> dict[str, Any]:
    """The column values to write for one row (empty: the row needs nothing)."""
    changes: dict[str, Any] = {}
    custom = dict(row.custom_fields or {})
    custom_changed = False
    for key, value in custom.items():
        if is_stored(value):
            address = FieldAddress(tenant_id, table, CUSTOM_FIELD_PREFIX + key, row.id)
            resealed = _reseal(session, tenant_id, value, address, target, target_key)
            if resealed is not None:
                custom[key], custom_changed = resealed, True
    if custom_changed:
        changes["custom_fields"] = custom
    columns = CORE_FIELDS.get(entity, {})
    if columns:
        marked = marked_fields(session, entity)
        document = dict(row.sensitive or {})
        document_changed = False
        for column in columns.values():
            plain, sealed = getattr(row, column), document.get(column)
            address = FieldAddress(tenant_id, table, column, row.id)
            if column in marked and plain is not None:
                document[column], document_changed = seal_value(session, address, plain), True
                changes[column] = None
            elif column in marked and is_stored(sealed):
                resealed = _reseal(session, tenant_id, sealed, address, target, target_key)
                if resealed is not None:
                    document[column], document_changed = resealed, True
            elif column not in marked and is_stored(sealed):
                old_key = keys.data_key(session, tenant_id, key_version(sealed[MARKER]))
                if old_key is None:
                    raise keys.UnknownMasterKey("data key version missing")
                changes[column] = open_sealed(old_key, sealed[MARKER], address)
                del document[column]
                document_changed = True
        if document_changed:
            changes["sensitive"] = document
    return changes


def _table_exists(session: Session, table: str) -> bool:
    return session.execute(text("SELECT to_regclass(:table)"), {"table": table}).scalar() is not None


def run_batch(session: Session, tenant_id: uuid.UUID, batch_size: int) -> ReencryptRun | None:
    """One batch of the tenant's running run (None: none is running); see the module's docstring."""
    run = session.scalars(
        select(ReencryptRun)
        .where(ReencryptRun.status == RUNNING)
        .order_by(ReencryptRun.started_at)
        .limit(1)
        .with_for_update()
    ).first()
    if run is None:
        return None
    target_key = keys.data_key(session, tenant_id, run.key_version)
    if target_key is None:
        raise keys.UnknownMasterKey(f"data key version {run.key_version} is missing")
    remaining = batch_size
    while remaining > 0 and run.table_index < len(RUN_TABLES):
        entity, table = RUN_TABLES[run.table_index]
        rows: Sequence[Any] = []
        if _table_exists(session, table):
            extra = "".join(f", {column}" for column in CORE_FIELDS.get(entity, {}).values())
            extra += ", sensitive" if entity in CORE_FIELDS else ""
            rows = session.execute(
                text(
                    f"SELECT id, custom_fields{extra} FROM {table} WHERE tenant_id = :tenant_id "
                    "AND (CAST(:last_id AS uuid) IS NULL OR id > CAST(:last_id AS uuid)) "
                    "ORDER BY id LIMIT :limit FOR UPDATE"
                ),
                {"tenant_id": tenant_id, "last_id": run.last_id, "limit": remaining},
            ).all()
        if not rows:
            run.table_index, run.last_id = run.table_index + 1, None
            continue
        for row in rows:
            changes = _rewrite_row(session, tenant_id, entity, table, row, run.key_version, target_key)
            if not changes:
                continue
            assignments = ", ".join(
                f"{column} = CAST(:{column} AS jsonb)"
                if column in ("custom_fields", "sensitive")
                else f"{column} = :{column}"
                for column in changes
            )
            values = {
                c: orjson.dumps(v).decode() if c in ("custom_fields", "sensitive") else v for c, v in changes.items()
            }
            session.execute(
                text(
                    f"UPDATE {table} SET {assignments}, version = version + 1 WHERE tenant_id = :tenant_id AND id = :id"
                ),
                {**values, "tenant_id": tenant_id, "id": row.id},
            )
            run.processed += 1
        run.last_id = rows[-1].id
        remaining -= len(rows)
    run.batches += 1
    run.updated_at = datetime.now(UTC)
    if run.table_index >= len(RUN_TABLES):
        _finish(session, tenant_id, run)
    session.flush()
    return run


def _finish(session: Session, tenant_id: uuid.UUID, run: ReencryptRun) -> None:
    run.status, run.finished_at = DONE, datetime.now(UTC)
    retired = keys.retire_data_keys_before(session, run.key_version)
    run.note = f"{retired} older data key version(s) retired"
    record_change(
        session, SystemActor("reencryption"), REENCRYPTION_FINISHED, "ReencryptRun", run.id, None, snapshot(run)
    )
    emit_event(session, REENCRYPTION_FINISHED, run_payload(run))


# --- Master key rotation ---------------------------------------------------------------------------


def rotate_tenant(session: Session, actor: Actor, tenant_id: uuid.UUID) -> int:
    """Re-wrap every key row of the tenant under the current master key; how many moved."""
    rows = keys.rewrap(session, tenant_id)
    if rows:
        master_id = keys.master_keys().current_id
        details = {"masterKeyId": master_id, "keys": len(rows)}
        record_change(session, actor, KEYS_REWRAPPED, "TenantKeys", tenant_id, None, details)
        emit_event(session, KEYS_REWRAPPED, details)
    return len(rows)
