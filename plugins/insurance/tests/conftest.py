"""Fixtures of the insurance plugin's tests, on the plugin test kit (`saas.plugin_api.testing`):
a fresh PostgreSQL database migrated with every installed plugin, real Redis, tenants and clients.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from ins_helpers import enable

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
def ins(tenant: PluginTestTenant) -> GraphQLClient:
    """The owner of `tenant`, with the insurance plugin enabled."""
    return enable(tenant.client)


@pytest.fixture
def other_ins(other_tenant: PluginTestTenant) -> GraphQLClient:
    """The owner of `other_tenant`, with the plugin enabled there too."""
    return enable(other_tenant.client)
