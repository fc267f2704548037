"""The second wall: PostgreSQL row-level security, proven as the application role."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError

from saas.config import Settings
from saas.customers.models import Customer
from saas.db.engine import owner_url
from saas.runtime import Runtime
from saas.tenancy.rls import POLICY_NAME, tenant_tables
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient, TenantHandle


def _seed_customer(owner: GraphQLClient) -> str:
    owner.data('mutation { createCustomer(input: {name: "Secret Corp"}) { customer { id } } }')
    return "Secret Corp"


def test_app_role_is_neither_superuser_nor_bypassrls_nor_owner(runtime: Runtime) -> None:
    with runtime.engine.connect() as conn:
        role = conn.execute(
            text("SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        ).one()
        assert role.rolname == runtime.settings.app_role
        assert role.rolsuper is False and role.rolbypassrls is False
        owned = conn.execute(
            text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user")
        ).scalar()
        assert owned == 0


def test_every_tenant_table_has_forced_rls_and_the_policy(runtime: Runtime) -> None:
    with runtime.engine.connect() as conn:
        tables = tenant_tables(conn)
        assert {"customers", "contacts", "memberships", "api_keys", "audit_log"} <= set(tables)
        for table in tables:
            row = conn.execute(
                text("SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = CAST(:t AS regclass)"),
                {"t": table},
            ).one()
            assert row.relrowsecurity and row.relforcerowsecurity, table
            policies = conn.execute(
                text("SELECT policyname, qual, with_check FROM pg_policies WHERE tablename = :t"), {"t": table}
            ).all()
            assert [p.policyname for p in policies] == [POLICY_NAME], table
            assert "app.tenant_id" in policies[0].qual and "app.tenant_id" in policies[0].with_check, table


def test_every_tenant_table_leads_its_keys_and_indexes_with_tenant_id(runtime: Runtime) -> None:
    with runtime.engine.connect() as conn:
        for table in tenant_tables(conn):
            indexes = conn.execute(
                text(
                    """SELECT i.indexrelid::regclass::text AS name, a.attname AS first_column
                       FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                       JOIN pg_am am ON am.oid = (SELECT relam FROM pg_class WHERE oid = i.indexrelid)
                       WHERE i.indrelid = CAST(:t AS regclass) AND am.amname = 'btree'"""
                ),
                {"t": table},
            ).all()
            assert indexes, table
            for index in indexes:
                assert index.first_column == "tenant_id", (table, index.name)
            foreign_keys = conn.execute(
                text(
                    """SELECT conname, (SELECT array_agg(attname) FROM pg_attribute
                                         WHERE attrelid = conrelid AND attnum = ANY(conkey)) AS columns,
                              confrelid::regclass::text AS target
                       FROM pg_constraint WHERE conrelid = CAST(:t AS regclass) AND contype = 'f'"""
                ),
                {"t": table},
            ).all()
            for fk in foreign_keys:
                if fk.target in ("tenants", "users"):
                    continue
                assert "tenant_id" in fk.columns, (table, fk.conname)


def test_raw_sql_as_app_role_sees_only_the_current_tenant(
    runtime: Runtime, owner: GraphQLClient, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    """With the ORM filter bypassed (plain SQL), RLS alone hides the other tenant's rows."""
    _seed_customer(owner)
    with tenant_session(runtime.engine, other_tenant.id) as session:
        for table in ("customers", "contacts", "memberships", "api_keys", "audit_log"):
            foreign = session.execute(
                text(f"SELECT count(*) FROM {table} WHERE tenant_id <> :mine"), {"mine": other_tenant.id}
            ).scalar()
            assert foreign == 0, table
        assert session.execute(text("SELECT count(*) FROM customers WHERE name = 'Secret Corp'")).scalar() == 0
    with tenant_session(runtime.engine, tenant.id) as session:
        assert session.execute(text("SELECT count(*) FROM customers WHERE name = 'Secret Corp'")).scalar() == 1


def test_without_a_tenant_the_app_role_sees_no_tenant_rows(runtime: Runtime, owner: GraphQLClient) -> None:
    _seed_customer(owner)
    with runtime.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customers")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM memberships")).scalar() == 0


def test_app_role_cannot_write_into_another_tenant(
    runtime: Runtime, owner: GraphQLClient, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    _seed_customer(owner)
    with pytest.raises(DBAPIError, match="row-level security"):
        with tenant_session(runtime.engine, other_tenant.id) as session:
            session.execute(
                text("INSERT INTO customers (tenant_id, id, name) VALUES (:t, :id, 'Planted')"),
                {"t": tenant.id, "id": uuid.uuid4()},
            )
    with tenant_session(runtime.engine, other_tenant.id) as session:
        changed = session.execute(text("UPDATE customers SET name = 'Hijacked' WHERE name = 'Secret Corp'"))
        assert changed.rowcount == 0
        deleted = session.execute(text("DELETE FROM customers WHERE name = 'Secret Corp'"))
        assert deleted.rowcount == 0
    with tenant_session(runtime.engine, tenant.id) as session:
        assert session.execute(text("SELECT count(*) FROM customers WHERE name = 'Secret Corp'")).scalar() == 1


def test_orm_filter_alone_isolates_even_where_rls_is_bypassed(
    settings: Settings, migrated: str, owner: GraphQLClient, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    """The first wall on its own: a superuser session (RLS bypassed) bound to B gets no rows of A."""
    _seed_customer(owner)
    superuser = create_engine(owner_url(migrated))
    try:
        with superuser.connect() as conn:
            if not conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar():
                pytest.skip("needs a superuser connection to bypass RLS")
        with tenant_session(superuser, other_tenant.id) as session:
            assert session.scalars(select(Customer).where(Customer.name == "Secret Corp")).all() == []
        with tenant_session(superuser, tenant.id) as session:
            assert len(session.scalars(select(Customer).where(Customer.name == "Secret Corp")).all()) == 1
    finally:
        superuser.dispose()
