"""Fixtures of the schema tests (the shared ones live in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from saas.auth.principal import Principal
from saas.runtime import Runtime
from tests.schema.helpers import snapshot_counts


@pytest.fixture
def counts(runtime: Runtime, tenant: Any) -> Callable[[], dict[str, int]]:
    """Row counts of `tenant`'s tables: compare before and after a refused change."""
    return lambda: snapshot_counts(runtime, tenant.id)


@pytest.fixture
def principal_of(runtime: Runtime) -> Callable[[Any], Principal]:
    def resolve(client: Any) -> Principal:
        principal = runtime.authenticate(f"Bearer {client.token}")
        assert principal is not None
        return principal

    return resolve


@pytest.fixture(autouse=True, scope="module")
def cheap_password_hashing() -> Any:
    """Argon2id with minimal cost while these modules run (each tenant and login hashes once).

    Verification reads the cost from the stored hash, so hashes made either way still verify.
    """
    from argon2 import PasswordHasher

    from saas.auth import passwords

    saved = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    passwords._hasher = saved
