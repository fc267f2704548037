"""Member tokens: a token's signature is verified once per process, its expiry on every read."""

from __future__ import annotations

import uuid
from typing import Any

import jwt
import pytest

from saas.auth import tokens
from saas.auth.tokens import issue_token, read_token
from saas.config import Settings
from saas.errors import UnauthenticatedError


def _settings(secret: str = "a-test-secret-of-enough-length-0123456789") -> Settings:
    return Settings(SECRET_KEY=secret, TOKEN_TTL_SECONDS=60)


def test_a_token_is_verified_once_and_its_expiry_checked_on_every_read(monkeypatch: Any) -> None:
    settings = _settings()
    user, tenant, member = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    token = issue_token(settings, user, tenant, member, 3)
    decodes = 0
    real_decode = jwt.decode

    def counting_decode(*args: Any, **kwargs: Any) -> Any:
        nonlocal decodes
        decodes += 1
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(tokens.jwt, "decode", counting_decode)
    first = read_token(settings, token)
    assert (first.user_id, first.tenant_id, first.membership_id, first.generation) == (user, tenant, member, 3)
    assert read_token(settings, token) == first
    assert decodes == 1

    # Another secret verifies again, and refuses the token.
    with pytest.raises(UnauthenticatedError, match="Invalid token"):
        read_token(_settings("another-secret-of-enough-length-9876543210"), token)
    assert decodes == 2

    # Once its `exp` has passed, the kept claims do not make it valid.
    now = first.expires_at
    monkeypatch.setattr(tokens.time, "time", lambda: now)
    with pytest.raises(UnauthenticatedError, match="Token expired"):
        read_token(settings, token)


def test_an_invalid_or_expired_token_is_refused_every_time() -> None:
    settings = _settings()
    expired = issue_token(
        settings.model_copy(update={"token_ttl_seconds": -60}), uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), 1
    )
    for _ in range(2):
        with pytest.raises(UnauthenticatedError, match="Token expired"):
            read_token(settings, expired)
        with pytest.raises(UnauthenticatedError, match="Invalid token"):
            read_token(settings, "not-a-token")
