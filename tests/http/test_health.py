"""Liveness, readiness (real PostgreSQL and Redis, and unreachable ones) and the metrics endpoint."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy import create_engine
from starlette.testclient import TestClient

from saas.http import create_app
from saas.runtime import Runtime
from saas.schema.engine import GraphQLEngine

NOWHERE_POSTGRES = "postgresql+psycopg2://nobody@127.0.0.1:1/nothing?connect_timeout=2"
NOWHERE_REDIS = "redis://127.0.0.1:1/0"


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["x-request-id"]


def test_readyz_when_both_answer(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


@pytest.fixture
def unreachable(runtime: Runtime, request: pytest.FixtureRequest) -> Iterator[Runtime]:
    """The runtime with its database or its Redis replaced by one that is not there."""
    if request.param == "database":
        broken = dataclasses.replace(runtime, engine=create_engine(NOWHERE_POSTGRES))
    else:
        broken = dataclasses.replace(runtime, redis=redis.Redis.from_url(NOWHERE_REDIS, socket_connect_timeout=2))
    yield broken
    if request.param == "database":
        broken.engine.dispose()
    else:
        broken.redis.close()


@pytest.mark.parametrize("unreachable", ["database", "redis"], indirect=True)
def test_readyz_names_what_fails(unreachable: Runtime, engine: GraphQLEngine, request: pytest.FixtureRequest) -> None:
    failing = request.node.callspec.params["unreachable"]
    with TestClient(create_app(unreachable, engine)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"][failing].startswith("failed: ")
    working = ({"database", "redis"} - {failing}).pop()
    assert body["checks"][working] == "ok"
    assert "127.0.0.1" not in response.text  # names the failure, not the connection details


def test_metrics_count_graphql_requests(client: TestClient) -> None:
    client.post("/graphql", json={"query": "query Hello { __typename }"})
    client.post("/graphql", json={"query": "{ __typename }"})
    client.post("/graphql", json={"query": "{ nope }"})
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'graphql_requests_total{operation="Hello",outcome="success",type="query"} 1.0' in text
    assert 'graphql_requests_total{operation="anonymous",outcome="success",type="query"} 1.0' in text
    assert 'graphql_requests_total{operation="unknown",outcome="request_error",type="unknown"} 1.0' in text
    assert 'graphql_errors_total{code="GRAPHQL_VALIDATION_FAILED",operation="unknown"} 1.0' in text
    assert 'graphql_request_duration_seconds_count{operation="Hello",type="query"} 1.0' in text
    assert 'http_requests_total{path="/graphql",status="200"} 3.0' in text
    assert 'http_requests_total{path="/healthz",status="200"} 1.0' in text


def test_metrics_label_unknown_paths_as_other(client: TestClient) -> None:
    assert client.get("/no/such/path/123").status_code == 404
    assert 'http_requests_total{path="other",status="404"} 1.0' in client.get("/metrics").text


def test_each_app_has_its_own_registry(runtime: Runtime, engine: GraphQLEngine) -> None:
    first, second = TestClient(create_app(runtime, engine)), TestClient(create_app(runtime, engine))
    first.post("/graphql", json={"query": "query OnlyFirst { __typename }"})
    assert 'operation="OnlyFirst"' in first.get("/metrics").text
    assert 'operation="OnlyFirst"' not in second.get("/metrics").text
