"""API keys: `crm_<tenant>_<key id>_<secret>`, shown once, stored as a SHA-256 digest.

The secret has 256 bits of entropy, so a fast digest is the right hash (a slow password
hash would only slow every request). The tenant and key id in the key say where to look;
they grant nothing without the matching secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from saas.audit.log import record_change, snapshot
from saas.auth.permissions import ALL_PERMISSIONS, API_KEYS_MANAGE, require
from saas.errors import NotFoundError, UnauthenticatedError, UserErrorCode
from saas.events.outbox import emit_event
from saas.events.payloads import api_object
from saas.tenancy.models import ApiKey
from saas.validation import Checker

if TYPE_CHECKING:
    from saas.auth.principal import Principal

KEY_PREFIX = "crm_"


@dataclass(frozen=True)
class ParsedKey:
    tenant_id: uuid.UUID
    key_id: uuid.UUID
    secret: str


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret_token(prefix: str, tenant_id: uuid.UUID) -> tuple[uuid.UUID, str, str]:
    """A fresh `<prefix><tenant>_<id>_<secret>`: (id, full token to show once, digest to store).

    API keys (`crm_`) and invitations (`inv_`) have this form."""
    key_id = uuid.uuid4()
    secret = secrets.token_urlsafe(32)
    return key_id, f"{prefix}{tenant_id.hex}_{key_id.hex}_{secret}", digest(secret)


def split_secret_token(prefix: str, raw: str) -> ParsedKey:
    """The tenant, id and secret of a token made by `new_secret_token`; ValueError if malformed."""
    if not raw.startswith(prefix):
        raise ValueError("wrong prefix")
    tenant_hex, key_hex, secret = raw[len(prefix) :].split("_", 2)
    if not secret:
        raise ValueError("no secret")
    return ParsedKey(uuid.UUID(hex=tenant_hex), uuid.UUID(hex=key_hex), secret)


def secret_matches(secret_hash: str, secret: str) -> bool:
    return hmac.compare_digest(secret_hash, digest(secret))


def new_key(tenant_id: uuid.UUID) -> tuple[uuid.UUID, str, str]:
    """A fresh (key id, full key to show once, digest to store)."""
    return new_secret_token(KEY_PREFIX, tenant_id)


def parse_key(raw: str) -> ParsedKey:
    try:
        return split_secret_token(KEY_PREFIX, raw)
    except ValueError as exc:
        raise UnauthenticatedError("Invalid API key") from exc


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
    return record


def _record(session: Session, principal: Principal, action: str, record: ApiKey, before: dict[str, Any] | None) -> None:
    """The audit entry and the domain event of a change of a key (outbox, same transaction).

    The event carries the key as the API returns it (`api_object` of the GraphQL `ApiKey`),
    which has no field for the secret or its digest: no payload can carry them. The GraphQL
    type is imported here, not at the top: the schema imports this module (through the
    principal).
    """
    from saas.accounts.graphql.types import ApiKey as ApiKeyType

    record_change(session, principal, action, "ApiKey", record.id, before, snapshot(record))
    emit_event(session, action, {"apiKey": api_object(ApiKeyType.from_model(record))})
