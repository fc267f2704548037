"""`enabled_plugins`: the tenant's enabled plugins that run here, with their settings, and no other tenant's."""

from __future__ import annotations

from typing import Any

from saas.plugin_host.enabled import enabled_plugins
from saas.plugin_host.models import TenantPlugin
from saas.runtime import Runtime
from saas.tenancy.session import tenant_session
from tests.conftest import TenantHandle
from tests.plugin_host.conftest import host_of
from tests.plugin_host.samples import SamplePlugin


def _store(runtime: Runtime, tenant: TenantHandle, name: str, enabled: bool, settings: dict[str, Any]) -> None:
    with tenant_session(runtime.engine, tenant.id) as session:
        session.add(TenantPlugin(name=name, enabled=enabled, settings=settings))


def _enabled(runtime: Runtime, tenant: TenantHandle, *plugins: SamplePlugin) -> dict[str, dict[str, Any]]:
    with tenant_session(runtime.engine, tenant.id) as session:
        return enabled_plugins(session, host_of(*plugins))


def test_only_enabled_plugins_installed_here_count_with_their_settings(runtime: Runtime, tenant: TenantHandle) -> None:
    _store(runtime, tenant, "alpha", True, {"level": 2})
    _store(runtime, tenant, "beta", False, {"level": 3})
    _store(runtime, tenant, "gone", True, {})  # enabled once, not installed in this process
    assert _enabled(runtime, tenant, SamplePlugin("alpha"), SamplePlugin("beta")) == {"alpha": {"level": 2}}


def test_another_tenants_plugins_do_not_count(
    runtime: Runtime, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    _store(runtime, other_tenant, "alpha", True, {"secret": "theirs"})
    assert _enabled(runtime, tenant, SamplePlugin("alpha")) == {}
    assert _enabled(runtime, other_tenant, SamplePlugin("alpha")) == {"alpha": {"secret": "theirs"}}
