"""Enabling, reconfiguring or disabling a plugin changes the tenant's permissions: the service makes
this process's credential cache forget the tenant once the change commits, whoever calls it (here
plain code, no GraphQL); a change that fails, or one in another tenant, forgets nothing."""

from __future__ import annotations

import pytest

from saas.auth.principal import Principal
from saas.errors import InputInvalid
from saas.plugin_host import enablement
from saas.runtime import Runtime
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient, TenantHandle
from tests.plugin_host.conftest import host_of
from tests.plugin_host.samples import SamplePlugin


def _checked(runtime: Runtime, client: GraphQLClient) -> tuple[str, Principal]:
    header = f"Bearer {client.token}"
    principal = runtime.authenticate(header)
    assert principal is not None and runtime.cached_principal(header) == principal
    return header, principal


def test_each_enablement_change_from_plain_code_forgets_the_tenants_cached_credentials(
    runtime: Runtime, owner: GraphQLClient, tenant: TenantHandle
) -> None:
    host = host_of(SamplePlugin("alpha"))
    changes = (
        lambda session, principal: enablement.enable_plugin(session, principal, host, "alpha", None),
        lambda session, principal: enablement.update_plugin_settings(session, principal, host, "alpha", {}),
        lambda session, principal: enablement.disable_plugin(session, principal, host, "alpha"),
    )
    for change in changes:
        header, principal = _checked(runtime, owner)
        with tenant_session(runtime.engine, tenant.id) as session:
            change(session, principal)
            assert runtime.cached_principal(header) == principal  # not before the commit
        assert runtime.cached_principal(header) is None


def test_a_failed_change_or_another_tenants_change_forgets_nothing(
    runtime: Runtime, owner: GraphQLClient, other_owner: GraphQLClient, tenant: TenantHandle
) -> None:
    host = host_of(SamplePlugin("alpha"))
    header, principal = _checked(runtime, owner)
    with pytest.raises(InputInvalid), tenant_session(runtime.engine, tenant.id) as session:
        enablement.disable_plugin(session, principal, host, "alpha")  # not enabled
    assert runtime.cached_principal(header) == principal

    _, other_principal = _checked(runtime, other_owner)
    with tenant_session(runtime.engine, other_principal.tenant_id) as session:
        enablement.enable_plugin(session, other_principal, host, "alpha", None)
    assert runtime.cached_principal(header) == principal
