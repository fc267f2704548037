"""Signed, expiring access tokens (JWT, HS256) that name one membership."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

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
    try:
        payload = jwt.decode(
            token,
            settings.secret_key,
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
