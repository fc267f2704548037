"""Helpers shared by the transport tests (a module, not conftest, so that tests can import it)."""

from __future__ import annotations

import time
from typing import Any

from starlette.testclient import TestClient

from saas.realtime import channel
from saas.runtime import Runtime

LOGIN = "mutation Login($input: LoginInput!) { login(input: $input) { token userErrors { field code message } } }"
GRAPHQL_RESPONSE = "application/graphql-response+json"


def login_variables(tenant: Any) -> dict[str, Any]:
    return {"input": {"email": tenant.owner_email, "password": tenant.password, "tenant": tenant.slug}}


def login(client: TestClient, tenant: Any) -> str:
    response = client.post("/graphql", json={"query": LOGIN, "variables": login_variables(tenant)})
    token = response.json()["data"]["login"]["token"]
    assert token, response.json()
    return str(token)


def wait_for_listener(runtime: Runtime, tenant_id: Any, listeners: int = 1, timeout: float = 5.0) -> None:
    """Wait until the tenant's customer channel has `listeners` Redis subscribers."""
    name = channel(tenant_id, "customers")
    deadline = time.monotonic() + timeout
    while True:
        count = dict(runtime.redis.pubsub_numsub(name)).get(name.encode(), 0)
        if count == listeners:
            return
        assert time.monotonic() < deadline, f"{count} listeners on {name}, expected {listeners}"
        time.sleep(0.02)


def without_cost(payload: dict[str, Any]) -> dict[str, Any]:
    """A response without its `extensions.cost` (tests/schema/test_cost.py checks that part)."""
    extensions = {k: v for k, v in (payload.get("extensions") or {}).items() if k != "cost"}
    rest = {k: v for k, v in payload.items() if k != "extensions"}
    return {**rest, "extensions": extensions} if extensions else rest
