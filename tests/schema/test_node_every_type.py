"""node(id) resolves every core `Node` type, and another tenant's ids are NOT_FOUND for it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from saas.notifications.service import notify
from saas.runtime import Runtime
from saas.schema.builder import CORE_CONTRIBUTIONS, build_schema
from saas.schema.relay import decode_id, to_global_id
from saas.tenancy.session import tenant_session
from saas.webhooks.models import WebhookDelivery
from tests.conftest import GraphQLClient, add_member
from tests.events.support import create_webhook

NODE = """query($id: ID!) { node(id: $id) { __typename id
  ... on Webhook { url } ... on WebhookDelivery { eventType } ... on Notification { title } } }"""
ME = "{ me { member { id } } }"


def _delivery(runtime: Runtime, tenant_id: uuid.UUID, webhook_id: str) -> str:
    row = WebhookDelivery(
        id=uuid.uuid4(),
        webhook_id=decode_id(webhook_id, "Webhook"),
        event_id=uuid.uuid4(),
        event_type="customer.created",
        payload={},
        occurred_at=datetime.now(UTC),
    )
    with tenant_session(runtime.engine, tenant_id) as session:
        session.add(row)
    return to_global_id("WebhookDelivery", row.id)


def _notification(runtime: Runtime, tenant_id: uuid.UUID, client: GraphQLClient) -> str:
    recipient = decode_id(client.data(ME)["me"]["member"]["id"], "Member")
    with tenant_session(runtime.engine, tenant_id) as session:
        row = notify(session, recipient, "test.note", "Hello")
        session.flush()
        return to_global_id("Notification", row.id)


def _ids(owner: GraphQLClient, tenant: Any, runtime: Runtime) -> dict[str, str]:
    webhook = create_webhook(owner, "https://example.com/hook", ["*"])
    return {
        "Webhook": webhook,
        "WebhookDelivery": _delivery(runtime, tenant.id, webhook),
        "Notification": _notification(runtime, tenant.id, owner),
    }


def test_node_resolves_webhooks_deliveries_and_notifications(
    owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    ids = _ids(owner, tenant, runtime)
    nodes = {name: owner.data(NODE, {"id": node_id})["node"] for name, node_id in ids.items()}
    assert nodes == {
        "Webhook": {"__typename": "Webhook", "id": ids["Webhook"], "url": "https://example.com/hook"},
        "WebhookDelivery": {
            "__typename": "WebhookDelivery",
            "id": ids["WebhookDelivery"],
            "eventType": "customer.created",
        },
        "Notification": {"__typename": "Notification", "id": ids["Notification"], "title": "Hello"},
    }


def test_another_tenants_ids_are_not_found(
    owner: GraphQLClient, other_owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    for node_id in _ids(owner, tenant, runtime).values():
        assert owner.data(NODE, {"id": node_id})["node"]["id"] == node_id
        assert other_owner.error_codes(NODE, {"id": node_id}) == ["NOT_FOUND"]


def test_a_colleagues_notification_is_not_found(owner: GraphQLClient, tenant: Any, runtime: Runtime) -> None:
    colleague = add_member(owner, tenant, "admin")
    mine = _notification(runtime, tenant.id, owner)
    assert owner.data(NODE, {"id": mine})["node"]["title"] == "Hello"
    assert colleague.error_codes(NODE, {"id": mine}) == ["NOT_FOUND"]


def test_every_node_type_is_declared_by_a_contribution(runtime: Runtime) -> None:
    """A type implementing `Node` that no contribution reads would make node(id) NOT_FOUND for a real id."""
    plugins = runtime.plugins.healthy()
    assert {"loyalty", "manufacturing"} <= {p.name for p in plugins}
    schema = build_schema(plugins)._schema
    implementing = {t.name for t in schema.get_possible_types(schema.get_type("Node"))}  # type: ignore[arg-type]
    declared: set[str] = set()
    for contribution in [*CORE_CONTRIBUTIONS, *(p.graphql for p in plugins)]:
        declared |= set(contribution.nodes) | set(contribution.compiled_nodes)
    assert implementing == declared
