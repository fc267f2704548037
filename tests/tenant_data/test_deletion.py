"""Deleting a tenant: refused at once, erased after the grace period (or now), others untouched."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from saas.plugin_api.testing import GraphQLClient
from saas.runtime import Runtime
from saas.tenancy.rls import tenant_tables
from saas.tenant_data.deletion import DeletionError, delete_tenant, purge_due_tenants, undelete_tenant
from tests.conftest import LOGIN, TEST_PASSWORD

ME = "{ customers(first: 1) { totalCount } }"
CREATE = 'mutation { createCustomer(input: {name: "Acme"}) { customer { id } userErrors { code } } }'


def _rows(runtime: Runtime, tenant_id) -> dict[str, int]:
    counts = {}
    with runtime.engine.connect() as conn:
        for table in tenant_tables(conn):
            conn.execute(text("SELECT set_config('app.tenant_id', :t, false)"), {"t": str(tenant_id)})
            counts[table] = conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
        conn.execute(text("SELECT set_config('app.tenant_id', '', false)"))
    return counts


def test_deletion_refuses_tokens_and_logins_at_once(runtime: Runtime, owner: GraphQLClient, tenant) -> None:
    assert owner.data(ME)
    delete_tenant(runtime.engine, tenant.slug, timedelta(days=30))
    assert owner.error_codes(ME) == ["UNAUTHENTICATED"]
    login = owner.as_token(None).execute(
        LOGIN, {"input": {"email": tenant.owner_email, "password": TEST_PASSWORD, "tenant": tenant.slug}}
    )
    assert login["data"]["login"]["token"] is None
    undelete_tenant(runtime.engine, tenant.slug)
    assert owner.data(ME)


def test_purge_erases_every_row_of_the_tenant_and_nothing_else(
    runtime: Runtime, owner: GraphQLClient, other_owner: GraphQLClient, tenant, other_tenant
) -> None:
    import saas_plugin_loyalty

    owner.data(CREATE)
    other_owner.data(CREATE)
    other_before = _rows(runtime, other_tenant.id)
    assert sum(_rows(runtime, tenant.id).values()) > 0
    delete_tenant(runtime.engine, tenant.slug, timedelta(days=30))
    assert tenant.id not in purge_due_tenants(runtime.engine, timedelta(days=30), runtime.plugins)  # in its grace
    assert tenant.id in purge_due_tenants(runtime.engine, timedelta(0), runtime.plugins)
    assert tenant.id in saas_plugin_loyalty.erased_tenants
    assert set(_rows(runtime, tenant.id).values()) == {0}
    assert _rows(runtime, other_tenant.id) == other_before
    with pytest.raises(DeletionError) as raised:
        undelete_tenant(runtime.engine, tenant.slug)
    assert raised.value.code == "PURGED"


def test_unknown_or_repeated_deletions_are_refused(runtime: Runtime, tenant) -> None:
    with pytest.raises(DeletionError) as raised:
        delete_tenant(runtime.engine, "no-such-tenant", timedelta(days=1))
    assert raised.value.code == "NOT_FOUND"
    delete_tenant(runtime.engine, tenant.slug, timedelta(days=1))
    with pytest.raises(DeletionError) as raised:
        delete_tenant(runtime.engine, tenant.slug, timedelta(days=1))
    assert raised.value.code == "ALREADY_DELETED"


def test_deletion_refuses_the_tenants_api_keys_at_once(runtime: Runtime, owner: GraphQLClient, tenant) -> None:
    from saas.accounts import api_keys
    from saas.auth.permissions import CUSTOMERS_READ
    from saas.errors import UnauthenticatedError
    from saas.tenancy.session import tenant_session

    principal = runtime.authenticate(f"Bearer {owner.token}")
    with tenant_session(runtime.engine, tenant.id) as session:
        _, secret = api_keys.create_api_key(session, principal, {"name": "sync", "scopes": [CUSTOMERS_READ]})
    header = f"Bearer {secret}"
    assert runtime.authenticate(header) is not None  # checked, and now cached
    delete_tenant(runtime.engine, tenant.slug, timedelta(days=30))
    assert runtime.cached_principal(header) is None
    with pytest.raises(UnauthenticatedError):
        runtime.authenticate(header)


def test_the_cli_deletes_undeletes_and_purges(runtime: Runtime, owner: GraphQLClient, tenant, cli) -> None:
    assert cli("tenant", "delete", "--slug", tenant.slug, "--yes").exit_code == 0
    assert owner.error_codes(ME) == ["UNAUTHENTICATED"]
    assert cli("tenant", "undelete", "--slug", tenant.slug).exit_code == 0
    assert owner.data(ME)
    assert cli("tenant", "delete", "--slug", tenant.slug, "--yes", "--purge-now").exit_code == 0
    assert set(_rows(runtime, tenant.id).values()) == {0}
    refused = cli("tenant", "delete", "--slug", "no-such-tenant", "--yes")
    assert refused.exit_code == 2 and "NOT_FOUND" in refused.output


def test_the_hourly_task_erases_a_tenant_once_its_grace_is_over(
    runtime: Runtime, owner: GraphQLClient, other_owner: GraphQLClient, tenant, other_tenant
) -> None:
    """The scheduler's maintenance task `saas.tenant_data.purge_deleted`, with the setting's grace
    (TENANT_DELETION_GRACE_DAYS, 30 by default): a tenant deleted 31 days ago is erased, one
    deleted now is kept."""
    import importlib

    from saas.accounts.models import Tenant
    from saas.config import load_settings
    from saas.jobs.broker import CORE_JOB_MODULES
    from saas.jobs.periodic import MAINTENANCE
    from saas.tenancy.session import tenant_session

    for module in CORE_JOB_MODULES:  # as the scheduler's setup imports them
        importlib.import_module(module)
    task = MAINTENANCE["saas.tenant_data.purge_deleted"]
    assert task.interval == timedelta(hours=1)
    owner.data(CREATE)
    other_owner.data(CREATE)
    delete_tenant(runtime.engine, tenant.slug, timedelta(days=30))
    delete_tenant(runtime.engine, other_tenant.slug, timedelta(days=30))
    grace = timedelta(days=load_settings().tenant_deletion_grace_days)
    with tenant_session(runtime.engine, None) as session:
        session.get(Tenant, tenant.id).deleted_at -= grace + timedelta(days=1)  # type: ignore[union-attr]
    task.run(runtime.engine)
    assert set(_rows(runtime, tenant.id).values()) == {0}
    assert sum(_rows(runtime, other_tenant.id).values()) > 0
