"""Fixtures for the transport: the real application on the real engine, a client, a token, logs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from starlette.applications import Starlette
from starlette.testclient import TestClient

from saas.http import create_app
from saas.runtime import Runtime
from saas.schema.engine import GraphQLEngine


@pytest.fixture(scope="session")
def engine(graphql_engine: GraphQLEngine) -> GraphQLEngine:
    """The session's real engine (from the root conftest), under a shorter name."""
    return graphql_engine


@pytest.fixture
def app(runtime: Runtime, engine: GraphQLEngine) -> Starlette:
    return create_app(runtime, engine, ws_init_timeout=2.0)


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def token(client: TestClient, tenant: Any) -> str:
    """A bearer token of the tenant's owner, from the `login` mutation."""
    login = "mutation($input: LoginInput!) { login(input: $input) { token } }"
    variables = {"input": {"email": tenant.owner_email, "password": tenant.password, "tenant": tenant.slug}}
    response = client.post("/graphql", json={"query": login, "variables": variables})
    token: str = response.json()["data"]["login"]["token"]
    return token


@pytest.fixture
def captured_logs() -> Iterator[list[dict[str, Any]]]:
    """Log entries with the bound context merged in (structlog's capture_logs leaves it out)."""
    capture = structlog.testing.LogCapture()
    saved = structlog.get_config()
    structlog.configure(processors=[structlog.contextvars.merge_contextvars, capture], cache_logger_on_first_use=False)
    try:
        yield capture.entries
    finally:
        structlog.configure(**saved)
