"""Recording changes and access: every service that changes data calls `record_change`; logins,
API-key use, exports and sensitive reads call `record_access` (through `saas.audit.access`).

Every entry names the client's address and user agent when it is written during a request
(`saas.audit.client`), and its kind (`AuditKind`), which `auditLog(kinds:)` filters on.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

import structlog
from sqlalchemy import insert, inspect
from sqlalchemy.orm import Session

from saas.audit.client import current_client
from saas.audit.models import AuditEntry, AuditKind
from saas.db.records import NewRecord

SKIPPED_COLUMNS = frozenset({"tenant_id", "password_hash", "secret_hash"})

# Values `json_safe` returns as they are, by their exact type (a subclass goes through the checks).
_AS_IS = frozenset((str, int, bool, float))


def json_safe(value: Any) -> Any:
    if value is None or type(value) in _AS_IS:  # the commonest first (exactly these types)
        return value
    if isinstance(value, (uuid.UUID, Decimal)):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, list):
        return [v if v is None or type(v) in _AS_IS else json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: v if v is None or type(v) in _AS_IS else json_safe(v) for k, v in value.items()}
    return value


def snapshot(obj: object) -> dict[str, Any]:
    """The row's column values, as JSON; taken before and after a change (generated columns, derived
    from the others, left out)."""
    model: Any = type(obj)
    return json_safe({key: getattr(obj, key) for key in _snapshot_keys(model)})


def snapshot_of(model: Any, values: Any) -> dict[str, Any]:
    """`snapshot` of a row of `model` given as a mapping of its column values (a Core row's
    `_mapping`, a dict): the same keys and JSON as `snapshot` of the object."""
    return json_safe({key: values[key] for key in _snapshot_keys(model)})


@functools.cache
def _snapshot_keys(model: Any) -> tuple[str, ...]:
    """The columns `snapshot` takes, once per model: every change of its rows takes two snapshots."""
    mapper: Any = inspect(model)
    return tuple(
        attr.key for attr in mapper.column_attrs if attr.key not in SKIPPED_COLUMNS and attr.columns[0].computed is None
    )


class Actor(Protocol):
    """Who made a change, as the audit log names them (a `saas.auth.principal.Principal` is one).

    A protocol, so that the audit log depends on no credential code."""

    @property
    def user_id(self) -> uuid.UUID | None: ...

    @property
    def label(self) -> str: ...


@dataclass(frozen=True)
class NamedActor:
    """An actor with no principal yet, e.g. who typed an e-mail into a failed login."""

    label: str
    user_id: uuid.UUID | None = None


def _entry_values(
    kind: AuditKind, actor: Actor, action: str, entity_type: str, entity_id: uuid.UUID | str
) -> dict[str, Any]:
    """An entry's columns but its snapshots: who, what, and the request and client it came from."""
    client = current_client()
    return {
        "kind": kind.value,
        "actor_user_id": actor.user_id,
        "actor_label": actor.label[:300],
        "action": action,
        "entity_type": entity_type,
        "entity_id": str(entity_id)[:64],
        "request_id": structlog.contextvars.get_contextvars().get("request_id"),
        "client_address": client.address,
        "user_agent": client.user_agent,
    }


def _entry(kind: AuditKind, actor: Actor, action: str, entity_type: str, entity_id: uuid.UUID | str) -> AuditEntry:
    return AuditEntry(**_entry_values(kind, actor, action, entity_type, entity_id))


def record_change(
    session: Session,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID | str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """A change (kind `change`), written in the session's transaction: it lands if the change does."""
    session.add(change_entry(actor, action, entity_type, entity_id, before, after))


def change_entry(
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID | str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> AuditEntry:
    """The entry `record_change` writes (`change_record`'s values), not yet added to a session."""
    return AuditEntry(**change_record(actor, action, entity_type, entity_id, before, after).values)


def change_record(
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID | str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> NewRecord:
    """A change's entry (kind `change`) as its column values (`NewRecord`): for a statement that
    writes it with the change's other rows (`emit_event`'s `with_rows`), no ORM object to carry them."""
    values = _entry_values(AuditKind.CHANGE, actor, action, entity_type, entity_id)
    values["before"], values["after"] = before, after
    return NewRecord(AuditEntry, values)


def record_changes(
    session: Session,
    tenant_id: uuid.UUID,
    actor: Actor,
    changes: list[tuple[str, str, uuid.UUID | str, dict[str, Any] | None, dict[str, Any] | None]],
) -> None:
    """Several changes (`(action, entity_type, entity_id, before, after)`), in one multi-row
    INSERT now, in the list's order: the entries `record_change` writes for each."""
    if not changes:
        return
    rows = [{"tenant_id": tenant_id, **change_record(actor, *change).values} for change in changes]
    session.execute(insert(AuditEntry), rows)


def record_access(
    session: Session,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID | str,
    details: dict[str, Any] | None = None,
) -> None:
    """An access (kind `access`): who read or used what; `details` are shown as the entry's `after`."""
    entry = _entry(AuditKind.ACCESS, actor, action, entity_type, entity_id)
    entry.after = json_safe(details) if details is not None else None
    session.add(entry)
