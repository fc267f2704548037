"""Liveness (also while a document is validated), readiness (real and unreachable servers), metrics and its token."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import create_engine
from starlette.applications import Starlette
from starlette.testclient import TestClient

from saas.config import ConfigurationError, Settings
from saas.http import create_app
from saas.runtime import Runtime
from saas.schema.engine import GraphQLEngine
from tests.http.transport_helpers import without_cost

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


def test_healthz_answers_while_a_document_is_validated(app: Starlette, monkeypatch: pytest.MonkeyPatch) -> None:
    """Validation runs off the event loop: /healthz is served while a validation is held open.

    The validation below waits (bounded) until the test releases it, and the test releases it
    only after /healthz has answered. Were validation on the event loop, /healthz could not be
    served until the wait ran out, and the validation would report that it was not released.
    """
    from saas.schema import engine as engine_module

    started, released = threading.Event(), threading.Event()
    outcome: dict[str, bool] = {}
    real_validate = engine_module.validate

    def held_validation(schema: Any, document: Any, rules: Any) -> Any:
        started.set()
        outcome["released_by_test"] = released.wait(timeout=5)
        return real_validate(schema, document, rules)

    monkeypatch.setattr(engine_module, "validate", held_validation)
    query = f"query Held{uuid.uuid4().hex} {{ __typename }}"  # never validated before: no cache hit

    async def scenario() -> tuple[httpx.Response, httpx.Response, bool]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            graphql = asyncio.create_task(client.post("/graphql", json={"query": query}))
            for _ in range(500):  # at most ~5 s for the request to reach validation
                if started.is_set():
                    break
                await asyncio.sleep(0.01)
            health = await client.get("/healthz")
            answered_during_validation = "released_by_test" not in outcome
            released.set()
            return health, await graphql, answered_during_validation

    health, graphql, answered_during_validation = asyncio.run(scenario())
    assert health.status_code == 200
    assert answered_during_validation and outcome["released_by_test"]
    assert without_cost(graphql.json()) == {"data": {"__typename": "Query"}}


METRICS_TOKEN = "m" * 40


def test_metrics_need_the_bearer_token_when_one_is_set(runtime: Runtime, engine: GraphQLEngine) -> None:
    secured = dataclasses.replace(
        runtime, settings=runtime.settings.model_copy(update={"metrics_token": METRICS_TOKEN})
    )
    with TestClient(create_app(secured, engine)) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": METRICS_TOKEN}):
            refused = client.get("/metrics", headers=headers)
            assert refused.status_code == 401, headers
            assert refused.headers["www-authenticate"] == "Bearer"
            assert "graphql_requests_total" not in refused.text
        allowed = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert allowed.status_code == 200 and "http_requests_total" in allowed.text


MASTER_KEYS = "2026-12:" + base64.urlsafe_b64encode(b"k" * 32).decode()


def test_production_refuses_to_start_without_encryption_master_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENCRYPTION_MASTER_KEYS", raising=False)
    production = {
        "SAAS_ENV": "production",
        "SECRET_KEY": "s" * 40,
        "DATABASE_URL": "postgresql://db.internal/saas",
        "REDIS_URL": "redis://redis.internal/0",
        "SAAS_APP_ROLE_PASSWORD": "not-the-default",
        "METRICS_TOKEN": METRICS_TOKEN,
    }
    with pytest.raises(ConfigurationError, match="ENCRYPTION_MASTER_KEYS must be set"):
        Settings(**production)
    with pytest.raises(ConfigurationError, match="ENCRYPTION_MASTER_KEYS must be set"):
        Settings(**production, ENCRYPTION_MASTER_KEYS=" , ")
    assert Settings(**production, ENCRYPTION_MASTER_KEYS=MASTER_KEYS).encryption_master_keys == (MASTER_KEYS,)
    for environment in ("development", "test"):  # a key derived from SECRET_KEY will do there
        assert Settings(**{**production, "SAAS_ENV": environment}).encryption_master_keys == ()


def test_production_refuses_to_start_without_a_metrics_token() -> None:
    production = {
        "SAAS_ENV": "production",
        "SECRET_KEY": "s" * 40,
        "DATABASE_URL": "postgresql://db.internal/saas",
        "REDIS_URL": "redis://redis.internal/0",
        "SAAS_APP_ROLE_PASSWORD": "not-the-default",
        "ENCRYPTION_MASTER_KEYS": MASTER_KEYS,
    }
    with pytest.raises(ConfigurationError, match="METRICS_TOKEN must be set"):
        Settings(**production)
    with pytest.raises(ConfigurationError, match="METRICS_TOKEN must be set"):
        Settings(**production, METRICS_TOKEN="short")
    assert Settings(**production, METRICS_TOKEN=METRICS_TOKEN).metrics_token == METRICS_TOKEN
    assert METRICS_TOKEN not in repr(Settings(**production, METRICS_TOKEN=METRICS_TOKEN))
