"""Fixtures of the finance plugin's tests, on the plugin test kit (`saas.plugin_api.testing`):
a fresh PostgreSQL database migrated with every installed plugin, real Redis, tenants and clients.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from fin_helpers import enable

if TYPE_CHECKING:  # imported by pytest as a plugin (below), so that its asserts are rewritten
    from saas.plugin_api.testing import GraphQLClient, PluginTestTenant

pytest_plugins = ["saas.plugin_api.testing"]


@pytest.fixture
def tenant(saas_tenant: PluginTestTenant) -> PluginTestTenant:
    return saas_tenant


@pytest.fixture
def other_tenant(saas_make_tenant: Callable[[], PluginTestTenant]) -> PluginTestTenant:
    return saas_make_tenant()


@pytest.fixture
def owner(tenant: PluginTestTenant) -> GraphQLClient:
    """The owner of `tenant`; the plugin is not enabled yet."""
    return tenant.client


@pytest.fixture
def fin(owner: GraphQLClient) -> GraphQLClient:
    """The owner of `tenant`, with the finance plugin enabled."""
    return enable(owner)


@pytest.fixture
def other_fin(other_tenant: PluginTestTenant) -> GraphQLClient:
    """The owner of `other_tenant`, with the plugin enabled there too."""
    return enable(other_tenant.client)
