"""Engines over hosts built from plugin objects (`PluginHost.add`), on the test database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from saas.config import Settings
from saas.plugin_api.testing import GraphQLClient
from saas.plugin_host.host import PluginHost
from saas.runtime import Runtime, create_runtime
from saas.schema.engine import GraphQLEngine
from tests.conftest import TenantHandle
from tests.plugin_host.samples import SamplePlugin


def host_of(*plugins: SamplePlugin) -> PluginHost:
    """A host with the given plugins, checked as `load_entry_points` checks installed ones."""
    host = PluginHost()
    for plugin in plugins:
        host.add(plugin, plugin.name)
    host.check_requirements()
    return host


@pytest.fixture
def engine_with(settings: Settings, migrated: str, runtime: Runtime) -> Iterator[Callable[..., GraphQLEngine]]:
    """`engine_with(*plugins)`: a GraphQL engine (and runtime) whose host holds just these plugins."""
    from saas.events.pipeline import install

    runtimes: list[Runtime] = []

    def build(*plugins: SamplePlugin) -> GraphQLEngine:
        assert settings.redis_url
        built = create_runtime(settings, migrated, settings.redis_url, plugins=host_of(*plugins))
        runtimes.append(built)
        return GraphQLEngine(built)

    yield build
    for built in runtimes:
        built.close()
    # `create_runtime` points webhook delivery and live notifications at itself: back to the suite's.
    install(runtime)


@pytest.fixture
def owner_of(tenant: TenantHandle) -> Callable[[Any], GraphQLClient]:
    """`owner_of(engine)`: the owner of `tenant`, logged in through that engine."""

    def login(engine: Any) -> GraphQLClient:
        return GraphQLClient(engine).login(tenant.owner_email, tenant.password, tenant.slug)

    return login
