"""The form of API keys and other secret tokens: `crm_<tenant>_<key id>_<secret>`, stored as a SHA-256 digest.

The secret has 256 bits of entropy, so a fast digest is the right hash (a slow password
hash would only slow every request). The tenant and key id in the key say where to look;
they grant nothing without the matching secret. The key rows (creating, revoking, checking)
are the accounts domain's: `saas/accounts/api_keys.py`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

from saas.errors import UnauthenticatedError

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
