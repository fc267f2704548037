"""The plugin test kit: a pytest plugin with a real, migrated database, tenants and GraphQL clients.

Load it with `pytest -p saas.plugin_api.testing` (e.g. in `addopts`) or with
`pytest_plugins = ["saas.plugin_api.testing"]` in your top-level conftest.py, then:

    def test_items_start_empty(saas_plugin_client):
        client = saas_plugin_client("fleet")  # a tenant that enabled the plugin `fleet`
        assert client.data("{ fleetItems { id } }") == {"fleetItems": []}

PostgreSQL and Redis come from `DATABASE_URL` / `REDIS_URL` when set, otherwise embedded
servers are started (data in `$SAAS_DATA_DIR/test`, default `.data/test`). Each run gets a
fresh database, migrated with every installed plugin, dropped at the end.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import secrets
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from saas.accounts.service import create_tenant
from saas.config import Settings
from saas.db.engine import create_owner_engine, owner_url
from saas.db.migrate import migrate
from saas.plugin_host.host import PluginHost
from saas.runtime import Runtime, create_runtime, load_plugins
from saas.tenancy.session import tenant_session

if TYPE_CHECKING:
    from saas.schema.engine import GraphQLEngine

__all__ = [
    "TEST_PASSWORD",
    "GraphQLClient",
    "PluginTestTenant",
    "disable_plugin",
    "enable_plugin",
    "fresh_database",
    "migrate_database",
    "redis_url",
    "server_url",
    "settings_for",
]

TEST_PASSWORD = "correct horse battery"
# The application role is cluster-wide: parallel test processes migrate one at a time.
MIGRATION_LOCK = Path(tempfile.gettempdir()) / "saas-test-migrate.lock"

LOGIN = """mutation Login($input: LoginInput!) {
  login(input: $input) { token userErrors { field code message } }
}"""
ENABLE = """mutation Enable($input: EnablePluginInput!) {
  enablePlugin(input: $input) { plugin { name enabled settings } userErrors { field code message } }
}"""
DISABLE = """mutation Disable($input: DisablePluginInput!) {
  disablePlugin(input: $input) { plugin { name enabled settings } userErrors { field code message } }
}"""


# -- servers and databases -----------------------------------------------------------------


def _data_dir() -> Path:
    return Path(os.environ.get("SAAS_DATA_DIR", ".data")) / "test"


def server_url() -> str:
    """`DATABASE_URL`, or the embedded PostgreSQL (started if needed)."""
    from saas.embedded import start_postgres

    return os.environ.get("DATABASE_URL") or start_postgres(_data_dir())


def redis_url() -> str:
    """`REDIS_URL`, or the embedded Redis (started if needed)."""
    from saas.embedded import start_redis

    return os.environ.get("REDIS_URL") or start_redis(_data_dir())


@contextmanager
def fresh_database(server: str | None = None) -> Iterator[str]:
    """A new, empty database on `server` (default: `server_url()`), dropped afterwards."""
    admin_url = owner_url(server or server_url())
    name = f"saas_test_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def settings_for(database_url: str) -> Settings:
    """The settings a test runtime uses (test environment, plain-text logs)."""
    return Settings(SAAS_ENV="test", DATABASE_URL=database_url, REDIS_URL=redis_url(), LOG_JSON=False)


def migrate_database(database_url: str, settings: Settings, plugins: PluginHost | None = None) -> list[str]:
    """`saas migrate` for a test database: the core and the plugins' branches; returns the tenant tables."""
    owner = create_owner_engine(database_url)
    try:
        with open(MIGRATION_LOCK, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return migrate(owner, settings, plugins if plugins is not None else load_plugins())
    finally:
        owner.dispose()


# -- the GraphQL client --------------------------------------------------------------------


class GraphQLClient:
    """Runs operations through the real engine (parse, validate, execute, serialise) as a token holder.

    A token the server refuses (expired, revoked) is answered as the server answers it: one
    `UNAUTHENTICATED` error and no data."""

    def __init__(self, engine: Any, token: str | None = None) -> None:
        self.engine = engine
        self.token = token
        self.last_statements = 0

    def execute(
        self, query: str, variables: dict[str, Any] | None = None, operation_name: str | None = None
    ) -> dict[str, Any]:
        from saas.errors import UnauthenticatedError
        from saas.http.errors import error_payload
        from saas.schema.engine import OperationError, dumps

        async def run() -> dict[str, Any]:
            try:
                principal = await asyncio.to_thread(
                    self.engine.runtime.authenticate, f"Bearer {self.token}" if self.token else None
                )
            except UnauthenticatedError as error:  # as the server answers it (HTTP 401): no data
                return error_payload(error.message, error.code)
            try:
                prepared = await self.engine.prepare_async(query, operation_name, principal)
            except OperationError as error:
                return {"errors": error.errors}
            outcome = await self.engine.execute(prepared, variables, principal, "test-request")
            self.last_statements = outcome.statements
            result: dict[str, Any] = orjson.loads(dumps(outcome.payload))
            return result

        return asyncio.run(run())

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The data of a call that must succeed without errors."""
        result = self.execute(query, variables)
        assert "errors" not in result, result
        data: dict[str, Any] = result["data"]
        return data

    def error_codes(self, query: str, variables: dict[str, Any] | None = None) -> list[str]:
        result = self.execute(query, variables)
        return [e["extensions"]["code"] for e in result.get("errors", [])]

    def as_token(self, token: str | None) -> GraphQLClient:
        return GraphQLClient(self.engine, token)

    def login(self, email: str, password: str, tenant_slug: str) -> GraphQLClient:
        """A client holding the token of a successful `login`."""
        variables = {"input": {"email": email, "password": password, "tenant": tenant_slug}}
        result = self.as_token(None).data(LOGIN, variables)
        token = result["login"]["token"]
        assert token, result
        return self.as_token(token)


def _plugin_change(client: GraphQLClient, mutation: str, field: str, variables: dict[str, Any]) -> dict[str, Any]:
    payload = client.data(mutation, {"input": variables})[field]
    assert not payload["userErrors"], f"{field}({variables}) failed: {payload['userErrors']}"
    plugin: dict[str, Any] = payload["plugin"]
    return plugin


def enable_plugin(client: GraphQLClient, name: str, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Enable `name` for the client's tenant (as a tenant admin would); returns the plugin's state."""
    variables: dict[str, Any] = {"name": name} if settings is None else {"name": name, "settings": settings}
    return _plugin_change(client, ENABLE, "enablePlugin", variables)


def disable_plugin(client: GraphQLClient, name: str) -> dict[str, Any]:
    """Disable `name` for the client's tenant; its data is kept."""
    return _plugin_change(client, DISABLE, "disablePlugin", {"name": name})


# -- tenants -------------------------------------------------------------------------------


@dataclass
class PluginTestTenant:
    """A tenant made for one test, with its owner logged in (`client`)."""

    id: uuid.UUID
    slug: str
    owner_email: str
    client: GraphQLClient
    engine: Engine
    password: str = TEST_PASSWORD

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session bound to this tenant, as the application role (RLS applies); commits at the end."""
        with tenant_session(self.engine, self.id) as session:
            yield session


def _require_healthy(host: PluginHost, name: str) -> None:
    plugin = host.plugins.get(name)
    if plugin is None:
        installed = ", ".join(sorted(host.plugins)) or "none"
        pytest.fail(f"plugin {name!r} is not installed (pip install -e . ?); installed: {installed}", pytrace=False)
    if plugin.broken:
        pytest.fail(f"plugin {name!r} is broken: {'; '.join(plugin.problems)}", pytrace=False)


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def saas_plugin_host() -> PluginHost:
    """The installed plugins (entry points `saas.plugins`), checked as at server start."""
    return load_plugins()


@pytest.fixture(scope="session")
def saas_database_url(saas_plugin_host: PluginHost) -> Iterator[str]:
    """A fresh database for this run, migrated with the installed plugins, dropped at the end."""
    with fresh_database() as url:
        migrate_database(url, settings_for(url), saas_plugin_host)
        yield url


@pytest.fixture(scope="session")
def saas_settings(saas_database_url: str) -> Settings:
    return settings_for(saas_database_url)


@pytest.fixture(scope="session")
def saas_runtime(saas_settings: Settings, saas_database_url: str, saas_plugin_host: PluginHost) -> Iterator[Runtime]:
    """What a server process has: engines (as the application role), Redis, the plugin host."""
    assert saas_settings.redis_url
    runtime = create_runtime(saas_settings, saas_database_url, saas_settings.redis_url, plugins=saas_plugin_host)
    yield runtime
    runtime.close()


@pytest.fixture(scope="session")
def saas_graphql(saas_runtime: Runtime) -> GraphQLEngine:
    """The GraphQL engine (one schema per set of enabled plugins), as the server runs it."""
    from saas.schema.engine import GraphQLEngine

    return GraphQLEngine(saas_runtime)


@pytest.fixture
def saas_make_tenant(saas_runtime: Runtime, saas_graphql: GraphQLEngine) -> Callable[[], PluginTestTenant]:
    """A factory of new tenants, each with an owner logged in."""

    def make() -> PluginTestTenant:
        slug = f"t-{secrets.token_hex(4)}"
        email = f"owner@{slug}.example.com"
        tenant = create_tenant(saas_runtime.engine, slug, f"Tenant {slug}", email, TEST_PASSWORD)
        client = GraphQLClient(saas_graphql).login(email, TEST_PASSWORD, slug)
        return PluginTestTenant(tenant.id, slug, email, client, saas_runtime.engine)

    return make


@pytest.fixture
def saas_tenant(saas_make_tenant: Callable[[], PluginTestTenant]) -> PluginTestTenant:
    """A new tenant and its owner; no plugin enabled yet."""
    return saas_make_tenant()


@pytest.fixture
def saas_client(saas_tenant: PluginTestTenant) -> GraphQLClient:
    """A GraphQL client logged in as the owner of `saas_tenant`."""
    return saas_tenant.client


@pytest.fixture
def saas_plugin_client(saas_tenant: PluginTestTenant, saas_plugin_host: PluginHost) -> Callable[..., GraphQLClient]:
    """`saas_plugin_client(name, settings=None)`: the owner's client of `saas_tenant`, with `name` enabled."""

    def make(name: str, settings: dict[str, Any] | None = None) -> GraphQLClient:
        _require_healthy(saas_plugin_host, name)
        enable_plugin(saas_tenant.client, name, settings)
        return saas_tenant.client

    return make


async def wait_for_listeners(runtime: Any, tenant_id: Any, topic: str, count: int = 1, timeout: float = 3.0) -> bool:
    """Wait until `count` subscribers listen on the tenant's real-time `topic` (True), or time out (False)."""
    from saas.realtime import channel

    name = channel(tenant_id, topic)
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        counts = dict(await asyncio.to_thread(runtime.redis.pubsub_numsub, name))
        if counts.get(name.encode(), 0) >= count:
            return True
        await asyncio.sleep(0.01)
    return False


def collect_events(
    listener: GraphQLClient, subscription: str, variables: dict[str, Any] | None, topic: str, act: Callable[[], None]
) -> list[dict[str, Any]]:
    """What `listener` receives on `subscription` while `act()` runs (then a short grace period)."""
    engine = listener.engine

    async def main() -> list[dict[str, Any]]:
        principal = await asyncio.to_thread(engine.runtime.authenticate, f"Bearer {listener.token}")
        stream = await engine.subscribe(engine.prepare(subscription, None, principal), variables, principal, "sub")
        received: list[dict[str, Any]] = []

        async def pump() -> None:
            async for payload in stream:
                received.append(payload)

        task = asyncio.create_task(pump())
        await wait_for_listeners(engine.runtime, principal.tenant_id, topic)
        await asyncio.to_thread(act)
        await asyncio.sleep(0.3)  # let the last messages arrive
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        return received

    return asyncio.run(main())
