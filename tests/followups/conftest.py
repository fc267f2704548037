"""Fixtures of the follow-up tests: a sales rep and a second rep of the owner's tenant."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import GraphQLClient, TenantHandle, add_member


@pytest.fixture(autouse=True, scope="module")
def cheap_password_hashing() -> Any:
    """Argon2id with minimal cost while these modules run (each tenant and login hashes once)."""
    from argon2 import PasswordHasher

    from saas.auth import passwords

    saved = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    passwords._hasher = saved


@pytest.fixture
def rep(owner: GraphQLClient, tenant: TenantHandle) -> GraphQLClient:
    return add_member(owner, tenant, "sales")


@pytest.fixture
def other_rep(owner: GraphQLClient, tenant: TenantHandle) -> GraphQLClient:
    return add_member(owner, tenant, "sales")


@pytest.fixture
def principal_of(runtime: Any) -> Any:
    """The principal a client's token stands for (to call services directly)."""

    def resolve(client: GraphQLClient) -> Any:
        principal = runtime.authenticate(f"Bearer {client.token}")
        assert principal is not None
        return principal

    return resolve
