"""A portal token's `ticketEvents` on an open socket: its customer's tickets while its access stands;
revoking the access, or deleting its contact or customer, ends the running subscription (close
4403), and the token cannot connect again."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from saas.http import create_app
from saas.realtime import channel
from saas.runtime import Runtime
from saas.schema.engine import GraphQLEngine
from tests.conftest import GraphQLClient, TenantHandle
from tests.http.test_websocket import PROTOCOL, closed_with, connected
from tests.tickets.support import CREATE_ACCESS, REVOKE_ACCESS, create_contact, create_customer, create_ticket, ok

RECHECK_SECONDS = 0.05
TICKET_EVENTS = "subscription { ticketEvents { kind ticketId } }"


@pytest.fixture
def client(runtime: Runtime, engine: GraphQLEngine) -> Iterator[TestClient]:
    """The application, re-checking the credentials of running subscriptions every 50 ms."""
    app = create_app(runtime, engine, ws_init_timeout=2.0, ws_credential_check_interval=RECHECK_SECONDS)
    with TestClient(app) as test_client:
        yield test_client


def _wait_for_ticket_listeners(runtime: Runtime, tenant_id: Any, listeners: int) -> None:
    name = channel(tenant_id, "tickets")
    deadline = time.monotonic() + 5
    while dict(runtime.redis.pubsub_numsub(name)).get(name.encode(), 0) != listeners:
        assert time.monotonic() < deadline, f"expected {listeners} listeners on {name}"
        time.sleep(0.02)


@pytest.mark.parametrize("ending", ["revoked", "contact deleted", "customer deleted"])
def test_an_ended_portal_access_ends_its_ticket_events(
    client: TestClient, runtime: Runtime, owner: GraphQLClient, tenant: TenantHandle, ending: str
) -> None:
    mine, theirs = create_customer(owner, "Mine Co"), create_customer(owner, "Theirs Co")
    contact = create_contact(owner, mine)
    made = ok(owner, CREATE_ACCESS, {"contactId": contact}, "createPortalAccess")
    token = made["token"]
    with connected(client, token) as ws:
        ws.send_json({"id": "events", "type": "subscribe", "payload": {"query": TICKET_EVENTS}})
        _wait_for_ticket_listeners(runtime, tenant.id, 1)
        create_ticket(owner, theirs)  # not its customer's: not heard
        ticket = create_ticket(owner, mine)["id"]
        assert ws.receive_json() == {
            "id": "events",
            "type": "next",
            "payload": {"data": {"ticketEvents": {"kind": "ticket.created", "ticketId": ticket}}},
        }
        if ending == "revoked":
            ok(owner, REVOKE_ACCESS, {"id": made["portalAccess"]["id"]}, "revokePortalAccess")
        elif ending == "contact deleted":
            owner.data("mutation($id: ID!) { deleteContact(input: {id: $id}) { contact { id } } }", {"id": contact})
        else:
            owner.data("mutation($id: ID!) { deleteCustomer(input: {id: $id}) { customer { id } } }", {"id": mine})
        _wait_for_ticket_listeners(runtime, tenant.id, 0)  # the subscription was ended
        assert closed_with(ws) == 4403
    # The token does not connect again.
    with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        assert closed_with(ws) == 4403
