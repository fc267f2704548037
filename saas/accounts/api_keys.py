"""API key rows: created with the scopes their creator holds, shown once, revocable.

The key's form (`crm_<tenant>_<key id>_<secret>`, a SHA-256 digest stored) is `saas.auth.api_keys`.
Revoking a key ends it in this process as soon as the change commits (the credential cache
forgets the tenant, `forget_credentials_after_commit`), whoever calls: a mutation, the CLI or a job.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from saas.accounts.credentials import forget_credentials_after_commit
from saas.accounts.graphql.types import ApiKey as ApiKeyType
from saas.accounts.models import ApiKey
from saas.audit.log import record_change, snapshot
from saas.auth.api_keys import new_key, secret_matches
from saas.auth.permissions import ALL_PERMISSIONS, API_KEYS_MANAGE, require
from saas.auth.principal import Principal
from saas.errors import NotFoundError, UserErrorCode
from saas.events.outbox import emit_event
from saas.events.payloads import api_object
from saas.validation import Checker


def verify(record: ApiKey, secret: str) -> bool:
    return secret_matches(record.secret_hash, secret)


def create_api_key(session: Session, principal: Principal, data: dict[str, Any]) -> tuple[ApiKey, str]:
    """A new key with the given scopes (each one the creator holds); the full key is returned once."""
    require(principal.permissions, API_KEYS_MANAGE)
    check = Checker(data)
    check.text("name", required=True, max_length=100)
    scopes = data.get("scopes") or []
    if not scopes:
        check.fail("scopes", UserErrorCode.REQUIRED, "at least one scope is required")
    unknown = sorted(set(scopes) - ALL_PERMISSIONS - principal.permissions)
    if unknown:
        check.fail("scopes", UserErrorCode.INVALID, f"unknown scopes: {', '.join(unknown)}")
    elif not set(scopes) <= principal.permissions:
        check.fail("scopes", UserErrorCode.INVALID, "a key cannot have scopes its creator lacks")
    clean = check.done()
    key_id, full_key, secret_hash = new_key(principal.tenant_id)
    record = ApiKey(
        id=key_id,
        name=clean["name"],
        secret_hash=secret_hash,
        scopes=sorted(set(scopes)),
        created_by_user_id=principal.user_id,
    )
    session.add(record)
    session.flush()
    session.refresh(record)
    _record(session, principal, "api_key.created", record, None)
    return record, full_key


def revoke_api_key(session: Session, principal: Principal, key_id: uuid.UUID) -> ApiKey:
    require(principal.permissions, API_KEYS_MANAGE)
    record = session.get(ApiKey, (principal.tenant_id, key_id))
    if record is None:
        raise NotFoundError("API key not found", id=str(key_id))
    if record.revoked_at is None:
        before = snapshot(record)
        record.revoked_at = datetime.now(UTC)
        session.flush()
        _record(session, principal, "api_key.revoked", record, before)
        forget_credentials_after_commit(session, principal.tenant_id)
    return record


def _record(session: Session, principal: Principal, action: str, record: ApiKey, before: dict[str, Any] | None) -> None:
    """The audit entry and the domain event of a change of a key (outbox, same transaction).

    The event carries the key as the API returns it (`api_object` of the GraphQL `ApiKey`),
    which has no field for the secret or its digest: no payload can carry them.
    """
    record_change(session, principal, action, "ApiKey", record.id, before, snapshot(record))
    emit_event(session, action, {"apiKey": api_object(ApiKeyType.from_model(record))})
