"""Helpers of the live-event tests: a `customerEvents` subscriber on graphql-transport-ws, and plain-code changes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select
from starlette.testclient import TestClient

from saas.auth.permissions import CUSTOMERS_DELETE, CUSTOMERS_WRITE
from saas.auth.principal import Principal
from saas.customers.models import Customer
from saas.http import create_app
from saas.runtime import Runtime
from saas.schema.engine import GraphQLEngine
from saas.schema.relay import to_global_id
from saas.tenancy.session import tenant_session
from tests.http.transport_helpers import wait_for_listener

EVENTS = "subscription Events { customerEvents { kind customerId contactId } }"
TIMEOUT_SECONDS = 10.0


class Subscriber:
    """A socket with a running `customerEvents` subscription; `next_event` waits at most TIMEOUT_SECONDS."""

    def __init__(self, ws: Any, waiter: ThreadPoolExecutor) -> None:
        self.ws = ws
        self.waiter = waiter

    def next_event(self) -> dict[str, Any]:
        message = self.waiter.submit(self.ws.receive_json).result(timeout=TIMEOUT_SECONDS)
        assert message["type"] == "next" and message["id"] == "events", message
        event: dict[str, Any] = message["payload"]["data"]["customerEvents"]
        return event


@contextmanager
def subscriber(
    runtime: Runtime, engine: GraphQLEngine, tenant_id: uuid.UUID, token: str, query: str = EVENTS
) -> Iterator[Subscriber]:
    """A client of its own (own event loop, own Redis subscriber connection) subscribed to `customerEvents`
    (`query`: an `Events` operation of it)."""
    with (
        ThreadPoolExecutor(max_workers=1) as waiter,
        TestClient(create_app(runtime, engine)) as client,
        client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws,
    ):
        ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        assert ws.receive_json() == {"type": "connection_ack"}
        ws.send_json({"id": "events", "type": "subscribe", "payload": {"query": query, "operationName": "Events"}})
        wait_for_listener(runtime, tenant_id)
        yield Subscriber(ws, waiter)


def event(kind: str, customer_id: uuid.UUID, contact_id: uuid.UUID | None = None) -> dict[str, Any]:
    """A `customerEvents` event as a subscriber receives it."""
    return {
        "kind": kind,
        "customerId": to_global_id("Customer", customer_id),
        "contactId": to_global_id("Contact", contact_id) if contact_id else None,
    }


def operator(tenant_id: uuid.UUID) -> Principal:
    """Who a script acts as: no member, allowed to change customers, sees them all."""
    return Principal(tenant_id=tenant_id, label="script", permissions=frozenset({CUSTOMERS_WRITE, CUSTOMERS_DELETE}))


def customer_named(runtime: Runtime, tenant_id: uuid.UUID, name: str) -> uuid.UUID:
    with tenant_session(runtime.engine, tenant_id) as session:
        return session.scalars(select(Customer.id).where(Customer.name == name)).one()
