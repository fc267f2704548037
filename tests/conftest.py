"""Test fixtures: a fresh database per run on a real PostgreSQL, real Redis, tenants and clients.

PostgreSQL and Redis come from `DATABASE_URL` / `REDIS_URL` when set (CI sets them to the
machine's servers when those answer), otherwise from the embedded servers.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from saas.accounts.service import create_tenant
from saas.config import Settings
from saas.db.engine import create_owner_engine, owner_url
from saas.db.migrate import migrate
from saas.embedded import start_postgres, start_redis
from saas.plugin_api.testing import GraphQLClient
from saas.runtime import Runtime, create_runtime, load_plugins

TEST_PASSWORD = "correct horse battery"
UNTHROTTLED = 1_000_000
DATA_DIR = Path(__file__).resolve().parent.parent / ".data" / "test"


def _server_url() -> str:
    return os.environ.get("DATABASE_URL") or start_postgres(DATA_DIR)


def _redis_url() -> str:
    return os.environ.get("REDIS_URL") or start_redis(DATA_DIR)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A database created for this run, migrated, and dropped at the end."""
    server = owner_url(_server_url())
    name = f"saas_test_{secrets.token_hex(4)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    # Every HTTP test comes from one client address ("testclient"): the per-address sign-in
    # throttle is tested with its default limit in tests/auth/test_throttle.py, the inbound
    # endpoint's per-address limit in tests/campaigns/test_inbound.py. A test tenant may
    # read far more in a minute than a real one: the cost budget is tested with per-tenant limits
    # (tests/schema/test_cost.py, tests/http/test_rate_limits.py), so the default is out of the way.
    return Settings(
        SAAS_ENV="test",
        DATABASE_URL=database_url,
        REDIS_URL=_redis_url(),
        LOG_JSON=False,
        THROTTLE_ADDRESS_FAILURES=UNTHROTTLED,
        INBOUND_PER_ADDRESS_PER_MINUTE=UNTHROTTLED,
        TENANT_COST_PER_MINUTE=100_000_000,
    )


@pytest.fixture(scope="session")
def migrated(settings: Settings, database_url: str) -> str:
    owner = create_owner_engine(database_url)
    # Parallel test workers share the cluster-wide application role: one migration at a time.
    with open(Path(tempfile.gettempdir()) / "saas-test-migrate.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        migrate(owner, settings, load_plugins())
    owner.dispose()
    return database_url


@pytest.fixture(scope="session")
def runtime(settings: Settings, migrated: str) -> Iterator[Runtime]:
    assert settings.redis_url
    rt = create_runtime(settings, migrated, settings.redis_url)
    yield rt
    rt.close()


@dataclass
class TenantHandle:
    id: uuid.UUID
    slug: str
    owner_email: str
    password: str = TEST_PASSWORD


@pytest.fixture
def make_tenant(runtime: Runtime):
    def make(slug: str | None = None) -> TenantHandle:
        slug = slug or f"t-{secrets.token_hex(4)}"
        email = f"owner@{slug}.example.com"
        tenant = create_tenant(runtime.engine, slug, f"Tenant {slug}", email, TEST_PASSWORD)
        return TenantHandle(tenant.id, slug, email)

    return make


@pytest.fixture
def tenant(make_tenant) -> TenantHandle:
    return make_tenant()


@pytest.fixture
def other_tenant(make_tenant) -> TenantHandle:
    return make_tenant()


LOGIN = """mutation Login($input: LoginInput!) {
  login(input: $input) { token userErrors { field code message } }
}"""


@pytest.fixture(scope="session")
def graphql_engine(runtime: Runtime) -> Any:
    from saas.schema.engine import GraphQLEngine

    return GraphQLEngine(runtime)


@pytest.fixture
def anonymous(graphql_engine: Any) -> GraphQLClient:
    return GraphQLClient(graphql_engine)


def login(client: GraphQLClient, email: str, password: str, slug: str) -> GraphQLClient:
    result = client.as_token(None).data(LOGIN, {"input": {"email": email, "password": password, "tenant": slug}})
    token = result["login"]["token"]
    assert token, result
    return client.as_token(token)


@pytest.fixture
def owner(anonymous: GraphQLClient, tenant: TenantHandle) -> GraphQLClient:
    """A client logged in as the owner of `tenant`."""
    return login(anonymous, tenant.owner_email, tenant.password, tenant.slug)


@pytest.fixture
def other_owner(anonymous: GraphQLClient, other_tenant: TenantHandle) -> GraphQLClient:
    """A client logged in as the owner of `other_tenant`."""
    return login(anonymous, other_tenant.owner_email, other_tenant.password, other_tenant.slug)


INVITE = """mutation($input: AddMemberInput!) {
  addMember(input: $input) { invitation { id } invitationToken userErrors { field code message } }
}"""
ACCEPT = """mutation($input: AcceptInvitationInput!) {
  acceptInvitation(input: $input) { member { id email name role active } token userErrors { field code message } }
}"""


def invite(owner_client: GraphQLClient, email: str, role: str) -> str:
    """Invite `email` with `role` (`addMember`); returns the invitation's token."""
    result = owner_client.data(INVITE, {"input": {"email": email, "role": role.upper()}})["addMember"]
    assert result["invitationToken"], result
    return str(result["invitationToken"])


def accept(client: GraphQLClient, token: str, password: str | None = TEST_PASSWORD) -> dict[str, Any]:
    """Accept an invitation (with the client's credential, if any); returns the payload."""
    variables: dict[str, Any] = {"token": token}
    if password is not None:
        variables["password"] = password
    return client.data(ACCEPT, {"input": variables})["acceptInvitation"]


def add_member(owner_client: GraphQLClient, tenant: TenantHandle, role: str) -> GraphQLClient:
    """A new member of the tenant with the role (invited, then accepted as a new account), logged in."""
    email = f"{role}-{secrets.token_hex(3)}@{tenant.slug}.example.com"
    accepted = accept(owner_client.as_token(None), invite(owner_client, email, role))
    assert accepted["member"], accepted
    return login(owner_client, email, TEST_PASSWORD, tenant.slug)


class CredentialClock:
    """The credential cache's clock, moved by hand: a test passes the cache window without sleeping."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now

    def pass_cache_window(self, runtime: Runtime) -> None:
        self.now += runtime.credentials.ttl_seconds + 0.001


@pytest.fixture
def credential_clock(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> CredentialClock:
    """Replaces the runtime's credential cache clock for one test (then puts it back)."""
    clock = CredentialClock()
    monkeypatch.setattr(runtime.credentials, "clock", clock)
    return clock
