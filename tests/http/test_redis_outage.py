"""Redis going away, for real: a private redis-server is started for the test, then stopped.

A change committed before Redis failed answers success (its live copy is lost, logged and
counted in /metrics); a live subscription cut by the failure ends with a code that tells the
client to subscribe again.
"""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from saas.embedded import _redis_executable
from saas.http import create_app
from saas.runtime import Runtime, create_runtime
from saas.schema.engine import GraphQLEngine
from tests.http.transport_helpers import login, wait_for_listener, without_cost
from tests.jobs.helpers import customers_named

EVENTS = "subscription Events { customerEvents { kind } }"
CREATE_CUSTOMER = (
    "mutation($name: String!) { createCustomer(input: {name: $name}) { customer { name } userErrors { code } } }"
)


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PrivateRedis:
    process: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    """A redis-server of this test only, on a free port, without persistence."""
    port = unused_port()
    with tempfile.TemporaryDirectory() as workdir:
        command = [str(_redis_executable()), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", workdir]
        server = PrivateRedis(subprocess.Popen(command, stdout=subprocess.DEVNULL), f"redis://127.0.0.1:{port}/0")
        client = redis.Redis.from_url(server.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "the private redis-server did not start"
                time.sleep(0.05)
        client.close()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def outage_runtime(runtime: Runtime, private_redis: PrivateRedis) -> Iterator[Runtime]:
    """The test database with the private Redis."""
    own = create_runtime(runtime.settings, runtime.database_url, private_redis.url, plugins=runtime.plugins)
    try:
        yield own
    finally:
        own.close()


def after_commit_failures(client: TestClient) -> float:
    """`after_commit_failures_total` as /metrics shows it (0 while it is not there)."""
    for family in text_string_to_metric_families(client.get("/metrics").text):
        if family.name == "after_commit_failures":
            return sum(sample.value for sample in family.samples if sample.name.endswith("_total"))
    return 0.0


def test_a_change_committed_while_redis_is_down_answers_success_once(
    outage_runtime: Runtime, private_redis: PrivateRedis, runtime: Runtime, tenant: Any
) -> None:
    with TestClient(create_app(outage_runtime, GraphQLEngine(outage_runtime))) as client:
        headers = {"authorization": f"Bearer {login(client, tenant)}"}
        failures = after_commit_failures(client)
        private_redis.stop()

        answer = client.post(
            "/graphql", json={"query": CREATE_CUSTOMER, "variables": {"name": "Stored Ltd"}}, headers=headers
        )

        assert answer.status_code == 200
        assert without_cost(answer.json()) == {
            "data": {"createCustomer": {"customer": {"name": "Stored Ltd"}, "userErrors": []}}
        }
        assert customers_named(runtime, tenant.id, "Stored Ltd") == 1
        assert after_commit_failures(client) >= failures + 1


def test_a_subscription_cut_by_redis_ends_with_a_code_to_subscribe_again(
    outage_runtime: Runtime, private_redis: PrivateRedis, tenant: Any
) -> None:
    with TestClient(create_app(outage_runtime, GraphQLEngine(outage_runtime))) as client:
        token = login(client, tenant)
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
            assert ws.receive_json() == {"type": "connection_ack"}
            ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": EVENTS}})
            wait_for_listener(outage_runtime, tenant.id)
            client.post(
                "/graphql",
                json={"query": CREATE_CUSTOMER, "variables": {"name": "Live Ltd"}},
                headers={"authorization": f"Bearer {token}"},
            )
            assert ws.receive_json()["payload"] == {"data": {"customerEvents": {"kind": "customer.created"}}}

            private_redis.stop()

            ended = ws.receive_json()
            assert ended["type"] == "next" and ended["id"] == "1"
            [error] = ended["payload"]["errors"]
            assert error["extensions"]["code"] == "SUBSCRIPTION_INTERRUPTED"
            assert "subscribe again" in error["message"]
            assert ws.receive_json() == {"id": "1", "type": "complete"}
