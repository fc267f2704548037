"""Recording changes: every service that changes customer data calls `record_change`."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

import structlog
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from saas.audit.models import AuditEntry

SKIPPED_COLUMNS = frozenset({"tenant_id", "password_hash", "secret_hash"})


def json_safe(value: Any) -> Any:
    if isinstance(value, (uuid.UUID, Decimal)):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    return value


def snapshot(obj: object) -> dict[str, Any]:
    """The row's column values, as JSON; taken before and after a change."""
    mapper = inspect(obj).mapper
    return {
        attr.key: json_safe(getattr(obj, attr.key)) for attr in mapper.column_attrs if attr.key not in SKIPPED_COLUMNS
    }


class Actor(Protocol):
    """Who made a change, as the audit log names them (a `saas.auth.principal.Principal` is one).

    A protocol, so that the audit log depends on no credential code."""

    @property
    def user_id(self) -> uuid.UUID | None: ...

    @property
    def label(self) -> str: ...


def record_change(
    session: Session,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID | str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    session.add(
        AuditEntry(
            actor_user_id=actor.user_id,
            actor_label=actor.label,
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id),
            before=before,
            after=after,
            request_id=structlog.contextvars.get_contextvars().get("request_id"),
        )
    )
