"""Signed, expiring access tokens (JWT, HS256): member tokens name one membership; scoped ones a subject."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from functools import cached_property, lru_cache

import jwt

from saas.config import Settings
from saas.errors import UnauthenticatedError

ALGORITHM = "HS256"
AUDIENCE = "saas-crm"


@dataclass(frozen=True)
class TokenClaims:
    user_id: uuid.UUID
    tenant_id: uuid.UUID
    membership_id: uuid.UUID
    generation: int
    expires_at: int

    @cached_property
    def member_key(self) -> str:
        """The credential cache's key of this membership (`saas.accounts.credentials.member_cache_key`):
        every claim that names it, formatted once per claims object. A token's claims are kept
        (`_verified`), so a request with a token seen before formats no UUID to find its principal."""
        return f"m:{self.tenant_id}:{self.user_id}:{self.membership_id}:{self.generation}"


def issue_token(
    settings: Settings, user_id: uuid.UUID, tenant_id: uuid.UUID, membership_id: uuid.UUID, generation: int
) -> str:
    now = int(time.time())
    payload = {
        "sub": str(user_id),
        "tid": str(tenant_id),
        "mid": str(membership_id),
        "gen": generation,
        "iat": now,
        "exp": now + settings.token_ttl_seconds,
        "aud": AUDIENCE,
    }
    return jwt.encode(payload, settings.secret_key, algorithm=ALGORITHM)


def read_token(settings: Settings, token: str) -> TokenClaims:
    """The token's claims; raises `UnauthenticatedError` for a token that is invalid or expired.

    A token's signature is checked once per process (its claims are kept, bounded, keyed by the
    secret and the token); its expiry on every read."""
    claims = _verified(settings.secret_key, token)
    if claims.expires_at <= time.time():
        raise UnauthenticatedError("Token expired")
    return claims


@lru_cache(maxsize=4096)
def _verified(secret_key: str, token: str) -> TokenClaims:
    try:
        payload = jwt.decode(
            token,
            secret_key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["exp", "sub", "tid", "mid", "gen"]},
        )
        return TokenClaims(
            user_id=uuid.UUID(payload["sub"]),
            tenant_id=uuid.UUID(payload["tid"]),
            membership_id=uuid.UUID(payload["mid"]),
            generation=int(payload["gen"]),
            expires_at=int(payload["exp"]),
        )
    except jwt.ExpiredSignatureError as exc:
        raise UnauthenticatedError("Token expired") from exc
    except (jwt.InvalidTokenError, ValueError, KeyError, TypeError) as exc:
        raise UnauthenticatedError("Invalid token") from exc


# Scoped tokens: for principals that are not members, e.g. a customer's contact using a
# self-service portal. They carry their own permissions, a scope, and the plugin that issued
# them; `saas.accounts.credentials` checks on every use that what they stand for still stands.
SCOPED_PREFIX = "sc_"
SCOPED_AUDIENCE = "saas-crm-scoped"


@dataclass(frozen=True)
class ScopedClaims:
    tenant_id: uuid.UUID
    subject: str
    permissions: frozenset[str]
    scope: tuple[tuple[str, str], ...]
    expires_at: int
    plugin: str | None = None  # the issuing plugin: the token works while the tenant has it enabled


def issue_scoped_token(
    settings: Settings,
    tenant_id: uuid.UUID,
    subject: str,
    permissions: frozenset[str],
    scope: dict[str, str],
    ttl_seconds: int,
    plugin: str | None = None,
) -> str:
    now = int(time.time())
    payload: dict[str, object] = {
        "sub": subject,
        "tid": str(tenant_id),
        "perm": sorted(permissions),
        "scope": scope,
        "iat": now,
        "exp": now + ttl_seconds,
        "aud": SCOPED_AUDIENCE,
    }
    if plugin is not None:
        payload["plg"] = plugin
    return SCOPED_PREFIX + jwt.encode(payload, settings.secret_key, algorithm=ALGORITHM)


def read_scoped_token(settings: Settings, token: str) -> ScopedClaims:
    try:
        payload = jwt.decode(
            token.removeprefix(SCOPED_PREFIX),
            settings.secret_key,
            algorithms=[ALGORITHM],
            audience=SCOPED_AUDIENCE,
            options={"require": ["exp", "sub", "tid", "perm", "scope"]},
        )
        return ScopedClaims(
            tenant_id=uuid.UUID(payload["tid"]),
            subject=str(payload["sub"]),
            permissions=frozenset(str(p) for p in payload["perm"]),
            scope=tuple(sorted((str(k), str(v)) for k, v in dict(payload["scope"]).items())),
            expires_at=int(payload["exp"]),
            plugin=str(payload["plg"]) if payload.get("plg") is not None else None,
        )
    except jwt.ExpiredSignatureError as exc:
        raise UnauthenticatedError("Token expired") from exc
    except (jwt.InvalidTokenError, ValueError, KeyError, TypeError) as exc:
        raise UnauthenticatedError("Invalid token") from exc
