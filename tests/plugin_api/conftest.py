"""Fixtures of the plugin API tests: the core's tenants and clients, and a client's principal."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import GraphQLClient, TenantHandle, add_member
from tests.schema.conftest import cheap_password_hashing

__all__ = ["cheap_password_hashing"]


@pytest.fixture
def rep(owner: GraphQLClient, tenant: TenantHandle) -> GraphQLClient:
    return add_member(owner, tenant, "sales")


@pytest.fixture
def principal_of(runtime: Any) -> Any:
    """The principal a client's token stands for (to call the API's functions directly)."""

    def resolve(client: GraphQLClient) -> Any:
        principal = runtime.authenticate(f"Bearer {client.token}")
        assert principal is not None
        return principal

    return resolve
