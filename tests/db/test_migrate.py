"""`saas migrate` as a database owner that is not a superuser: it works, and twice."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from saas.config import Settings
from saas.db.engine import create_app_engine, create_owner_engine, owner_url
from saas.db.migrate import migrate
from saas.tenancy.service import create_tenant
from saas.tenancy.session import tenant_session


@pytest.fixture
def plain_owner(database_url: str) -> Iterator[tuple[URL, str]]:
    """A fresh database owned by a role with CREATEROLE but no superuser and no BYPASSRLS."""
    suffix = secrets.token_hex(4)
    role, database = f"saas_owner_{suffix}", f"saas_plain_{suffix}"
    server = owner_url(database_url)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN CREATEROLE NOSUPERUSER NOBYPASSRLS"))
        conn.execute(text(f"CREATE DATABASE {database} OWNER {role}"))
    yield server.set(username=role, password=None, database=database), f"saas_app_{suffix}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        conn.execute(text(f"DROP ROLE IF EXISTS saas_app_{suffix}"))
        conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
    admin.dispose()


def test_migrate_twice_as_a_non_superuser_owner(plain_owner: tuple[URL, str]) -> None:
    url, app_role = plain_owner
    url_text = url.render_as_string(hide_password=False)
    settings = Settings(SAAS_ENV="test", DATABASE_URL=url_text, SAAS_APP_ROLE=app_role)
    owner = create_owner_engine(url_text)
    try:
        with owner.connect() as conn:
            assert conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar() is False
        first = migrate(owner, settings)
        second = migrate(owner, settings)
        assert first == second and "customers" in first
    finally:
        owner.dispose()
    app = create_app_engine(settings, url_text)
    try:
        tenant = create_tenant(app, "plain", "Plain", "owner@plain.example.com", "a long password")
        with tenant_session(app, tenant.id) as session:
            assert session.execute(text("SELECT count(*) FROM memberships")).scalar() == 1
        with tenant_session(app, uuid.uuid4()) as session:
            assert session.execute(text("SELECT count(*) FROM memberships")).scalar() == 0
    finally:
        app.dispose()


def test_migrate_refuses_an_app_role_that_bypasses_rls(plain_owner: tuple[URL, str], database_url: str) -> None:
    url, app_role = plain_owner
    admin = create_engine(owner_url(database_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {app_role} LOGIN BYPASSRLS"))
    admin.dispose()
    url_text = url.render_as_string(hide_password=False)
    owner = create_owner_engine(url_text)
    try:
        with pytest.raises(RuntimeError, match="BYPASSRLS"):
            migrate(owner, Settings(SAAS_ENV="test", DATABASE_URL=url_text, SAAS_APP_ROLE=app_role))
        with owner.connect() as conn:
            assert conn.execute(text("SELECT to_regclass('customers')")).scalar() is None  # nothing was migrated
    finally:
        owner.dispose()
