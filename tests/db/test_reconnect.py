"""PostgreSQL dropping the pooled connections (a restart, a failover) costs no request an error.

The shared server is not restarted: the backends of a runtime of this test are ended with
`pg_terminate_backend` from an owner connection, as a restart would end them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from saas.db.async_reads import AsyncReadPool
from saas.db.engine import create_owner_engine
from saas.plugin_api.testing import GraphQLClient
from saas.runtime import Runtime, create_runtime
from saas.schema.engine import GraphQLEngine
from tests.conftest import login

POOLED = 4


@pytest.fixture
def own_runtime(runtime: Runtime) -> Iterator[Runtime]:
    """Engines of this test only, so that ending their backends disturbs no other test."""
    own = create_runtime(runtime.settings, runtime.database_url, runtime.redis_url, plugins=runtime.plugins)
    try:
        yield own
    finally:
        own.close()


def fill_pool_and_end_its_backends(engine: Engine, database_url: str) -> None:
    """Open `POOLED` connections, return them to the pool, and end their backends."""
    connections = [engine.connect() for _ in range(POOLED)]
    pids = [conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() for conn in connections]
    for conn in connections:
        conn.close()
    end_backends(pids, database_url)


def fill_read_pool_and_end_its_backends(pool: AsyncReadPool, database_url: str) -> None:
    """The same for the compiled reads' pool of asynchronous connections."""

    async def fill() -> list[int]:
        connections = [await pool.acquire() for _ in range(POOLED)]
        pids = [(await conn.fetch_one("SELECT pg_backend_pid()", {}))[0] for conn in connections]
        for conn in connections:
            pool.release(conn)
        return pids

    end_backends(asyncio.run(fill()), database_url)


def end_backends(pids: list[int], database_url: str) -> None:
    owner = create_owner_engine(database_url)
    try:
        # Autocommit: pg_stat_activity is read afresh by each statement, not once per transaction.
        with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for pid in pids:
                assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
            deadline = time.monotonic() + 10
            while conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"), {"pids": pids}
            ).scalar():
                assert time.monotonic() < deadline, "the backends did not end"
                time.sleep(0.05)
    finally:
        owner.dispose()


@pytest.fixture
def client(own_runtime: Runtime, tenant: Any) -> GraphQLClient:
    client = login(GraphQLClient(GraphQLEngine(own_runtime)), tenant.owner_email, tenant.password, tenant.slug)
    client.data('mutation { createCustomer(input: {name: "Before The Restart"}) { customer { id } } }')
    return client


def test_compiled_reads_recover_from_ended_connections(own_runtime: Runtime, client: GraphQLClient) -> None:
    fill_read_pool_and_end_its_backends(own_runtime.read_pool, own_runtime.database_url)
    for _ in range(POOLED + 1):
        assert client.data("{ customers { totalCount edges { node { name } } } }")["customers"] == {
            "totalCount": 1,
            "edges": [{"node": {"name": "Before The Restart"}}],
        }


def test_session_reads_recover_from_ended_connections(own_runtime: Runtime, client: GraphQLClient, tenant: Any) -> None:
    fill_pool_and_end_its_backends(own_runtime.engine, own_runtime.database_url)
    for _ in range(POOLED + 1):
        assert client.data("{ me { email } }")["me"] == {"email": tenant.owner_email}
