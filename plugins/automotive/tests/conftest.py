"""Fixtures of the automotive plugin's tests, on the plugin test kit (`saas.plugin_api.testing`):
a fresh PostgreSQL database migrated with every installed plugin, real Redis, tenants and clients.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from auto_helpers import enable, seed_supply

if TYPE_CHECKING:
    from saas.plugin_api.testing import GraphQLClient, PluginTestTenant

pytest_plugins = ["saas.plugin_api.testing"]


@pytest.fixture
def tenant(saas_tenant: PluginTestTenant) -> PluginTestTenant:
    return saas_tenant


@pytest.fixture
def other_tenant(saas_make_tenant: Callable[[], PluginTestTenant]) -> PluginTestTenant:
    return saas_make_tenant()


@pytest.fixture
def auto(tenant: PluginTestTenant) -> GraphQLClient:
    """The owner of `tenant`, with the automotive plugin enabled."""
    return enable(tenant.client)


@pytest.fixture
def other_auto(other_tenant: PluginTestTenant) -> GraphQLClient:
    return enable(other_tenant.client)


@pytest.fixture
def supply(auto: GraphQLClient) -> dict[str, Any]:
    """Two suppliers with a part each, and a customer."""
    return seed_supply(auto)
