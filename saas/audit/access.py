"""The access entries of the audit log, one function per kind of access, so that each action
name is written in one place. All are kind `access` and name the request's client.

- `login` / `login.failed`: every login for an existing tenant (a failure for an unknown
  tenant has no audit log to land in; the sign-in throttle still counts it).
- `api_key.used`: at most once per key per minute (when its `last_used_at` moves), not per
  request: enough to see which keys are in use, from where, without a write per request.
- `export` and `sensitive.read`: called by the export and the reads of sensitive fields.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from saas.audit.log import Actor, NamedActor, record_access

LOGIN = "login"
LOGIN_FAILED = "login.failed"
API_KEY_USED = "api_key.used"
EXPORT = "export"
SENSITIVE_READ = "sensitive.read"


def record_login(session: Session, actor: Actor, membership_id: uuid.UUID) -> None:
    record_access(session, actor, LOGIN, "Member", membership_id)


def record_failed_login(session: Session, tenant_id: uuid.UUID, email: str) -> None:
    """The e-mail as typed is the actor: a failure may come from anyone."""
    record_access(session, NamedActor(email.strip().lower()), LOGIN_FAILED, "Tenant", tenant_id)


def record_api_key_use(session: Session, actor: Actor, api_key_id: uuid.UUID) -> None:
    record_access(session, actor, API_KEY_USED, "ApiKey", api_key_id)


def record_export(session: Session, actor: Actor, what: str, details: dict[str, Any] | None = None) -> None:
    """An export of the tenant's data (`what` names it, e.g. "tenant" or "customers")."""
    record_access(session, actor, EXPORT, "Export", what, details)


def record_sensitive_read(
    session: Session, actor: Actor, entity_type: str, entity_id: uuid.UUID | str, field: str
) -> None:
    """A decrypted value shown to `actor`: which record and which field, never the value."""
    record_access(session, actor, SENSITIVE_READ, entity_type, entity_id, {"field": field})
