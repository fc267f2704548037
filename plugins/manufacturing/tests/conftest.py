"""Fixtures of the manufacturing plugin's tests, on the plugin test kit (`saas.plugin_api.testing`):
a fresh PostgreSQL database migrated with every installed plugin, real Redis, tenants and clients.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from mfg_helpers import create_product, default_warehouse, enable, move

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
def other_owner(other_tenant: PluginTestTenant) -> GraphQLClient:
    return other_tenant.client


@pytest.fixture
def mfg(owner: GraphQLClient) -> GraphQLClient:
    """The owner of `tenant`, with the manufacturing plugin enabled."""
    return enable(owner)


@pytest.fixture
def other_mfg(other_owner: GraphQLClient) -> GraphQLClient:
    """The owner of `other_tenant`, with the plugin enabled there too."""
    return enable(other_owner)


@pytest.fixture
def stocked(mfg: GraphQLClient) -> dict[str, Any]:
    """A product (10.00 EUR) with 10 units received in the default warehouse."""
    product = create_product(mfg, "STOCKED-1")
    warehouse = default_warehouse(mfg)
    move(mfg, product, warehouse, "RECEIPT", 10)
    return {"product": product, "warehouse": warehouse}
