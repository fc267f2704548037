"""createWebhook, deleteWebhook, webhooks: validation, permissions, secrets, tenant isolation."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from saas.crypto import secret_box
from saas.plugin_api.testing import enable_plugin
from saas.runtime import Runtime
from saas.webhooks.models import Webhook
from tests.conftest import GraphQLClient, add_member
from tests.events.support import (
    CREATE_WEBHOOK,
    DELETE_WEBHOOK,
    DELIVERIES,
    SECRET,
    WEBHOOKS,
    create_webhook,
    in_tenant,
)


def _count(runtime: Runtime, tenant_id: Any) -> int:
    return in_tenant(runtime, tenant_id, lambda s: s.scalar(select(func.count()).select_from(Webhook)))


def test_create_list_delete(owner: GraphQLClient, tenant: Any, runtime: Runtime) -> None:
    result = owner.data(
        CREATE_WEBHOOK,
        {"input": {"url": "https://example.com/hook", "events": ["customer.*", "contact.created"], "secret": SECRET}},
    )["createWebhook"]
    assert result["userErrors"] == []
    webhook = result["webhook"]
    assert webhook["url"] == "https://example.com/hook"
    assert webhook["events"] == ["contact.created", "customer.*"]
    assert owner.data(WEBHOOKS)["webhooks"] == [
        {"id": webhook["id"], "url": webhook["url"], "events": webhook["events"]}
    ]
    deleted = owner.data(DELETE_WEBHOOK, {"input": {"id": webhook["id"]}})["deleteWebhook"]
    assert deleted == {"webhook": {"id": webhook["id"]}, "userErrors": []}
    assert owner.data(WEBHOOKS)["webhooks"] == []
    assert owner.error_codes(DELETE_WEBHOOK, {"input": {"id": webhook["id"]}}) == ["NOT_FOUND"]
    assert _count(runtime, tenant.id) == 1  # soft delete: the delivery log keeps its webhook


def test_the_secret_is_stored_encrypted_and_never_returned(owner: GraphQLClient, tenant: Any, runtime: Runtime) -> None:
    create_webhook(owner, "https://example.com/hook", ["*"])
    stored = in_tenant(runtime, tenant.id, lambda s: s.scalars(select(Webhook)).one().secret_encrypted)
    assert SECRET not in stored
    assert secret_box(runtime.settings).decrypt(stored) == SECRET
    errors = owner.execute("{ webhooks { secret } }")["errors"]
    assert errors and "secret" in errors[0]["message"]


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"url": "ftp://example.com/hook"}, "url", "INVALID"),
        ({"url": "not a url"}, "url", "INVALID"),
        ({"url": "https://user:pw@example.com/"}, "url", "INVALID"),
        ({"url": "https://example.com/" + "a" * 2000}, "url", "TOO_LONG"),
        ({"url": ""}, "url", "REQUIRED"),
        ({"events": []}, "events", "REQUIRED"),
        ({"events": ["customer.exploded"]}, "events", "INVALID"),
        ({"events": ["nothing.*"]}, "events", "INVALID"),
        ({"secret": "short"}, "secret", "TOO_SHORT"),
    ],
)
def test_bad_input_is_a_user_error_and_writes_nothing(
    owner: GraphQLClient, tenant: Any, runtime: Runtime, change: dict[str, Any], field: str, code: str
) -> None:
    data = {"url": "https://example.com/hook", "events": ["customer.created"], "secret": SECRET, **change}
    result = owner.data(CREATE_WEBHOOK, {"input": data})["createWebhook"]
    assert result["webhook"] is None
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == [(["input", field], code)]
    assert _count(runtime, tenant.id) == 0


def test_every_problem_is_reported_at_once(owner: GraphQLClient) -> None:
    result = owner.data(CREATE_WEBHOOK, {"input": {"url": "gopher://x", "events": [], "secret": "x"}})
    assert {e["field"][1] for e in result["createWebhook"]["userErrors"]} == {"url", "events", "secret"}


@pytest.mark.parametrize("role", ["manager", "sales", "viewer"])
def test_only_owners_and_admins_manage_webhooks(owner: GraphQLClient, tenant: Any, role: str) -> None:
    webhook_id = create_webhook(owner, "https://example.com/hook", ["*"])
    member = add_member(owner, tenant, role)
    data = {"url": "https://example.com/other", "events": ["*"], "secret": SECRET}
    assert member.error_codes(CREATE_WEBHOOK, {"input": data}) == ["FORBIDDEN"]
    assert member.error_codes(DELETE_WEBHOOK, {"input": {"id": webhook_id}}) == ["FORBIDDEN"]
    assert member.error_codes(WEBHOOKS) == ["FORBIDDEN"]
    assert member.error_codes(DELIVERIES) == ["FORBIDDEN"]
    admin = add_member(owner, tenant, "admin")
    assert len(admin.data(WEBHOOKS)["webhooks"]) == 1


def test_another_tenants_webhooks_are_invisible(
    owner: GraphQLClient, other_owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    webhook_id = create_webhook(owner, "https://example.com/hook", ["*"])
    assert other_owner.data(WEBHOOKS)["webhooks"] == []
    assert other_owner.error_codes(DELETE_WEBHOOK, {"input": {"id": webhook_id}}) == ["NOT_FOUND"]
    assert other_owner.error_codes(DELIVERIES, {"webhookId": webhook_id}) == ["NOT_FOUND"]
    assert [w["id"] for w in owner.data(WEBHOOKS)["webhooks"]] == [webhook_id]  # untouched
    assert _count(runtime, tenant.id) == 1


def test_malformed_ids_are_not_found(owner: GraphQLClient) -> None:
    assert owner.error_codes(DELETE_WEBHOOK, {"input": {"id": "nonsense"}}) == ["NOT_FOUND"]
    assert owner.error_codes(DELIVERIES, {"webhookId": "nonsense"}) == ["NOT_FOUND"]


@pytest.mark.parametrize("events", [["mfg.stock.low"], ["mfg.*"], ["customer.created", "mfg.shipment.delivered"]])
def test_event_types_of_a_plugin_the_tenant_has_not_enabled_are_refused(
    owner: GraphQLClient, other_owner: GraphQLClient, tenant: Any, runtime: Runtime, events: list[str]
) -> None:
    data = {"url": "https://example.com/hook", "events": events, "secret": SECRET}
    result = owner.data(CREATE_WEBHOOK, {"input": data})["createWebhook"]
    assert result["webhook"] is None
    [error] = result["userErrors"]
    assert (error["field"], error["code"]) == (["input", "events"], "PLUGIN_NOT_ENABLED")
    assert "manufacturing" in error["message"]
    assert _count(runtime, tenant.id) == 0
    enable_plugin(owner, "manufacturing")
    assert owner.data(CREATE_WEBHOOK, {"input": data})["createWebhook"]["userErrors"] == []
    # Another tenant's plugins count for nothing here.
    other = other_owner.data(CREATE_WEBHOOK, {"input": data})["createWebhook"]
    assert [e["code"] for e in other["userErrors"]] == ["PLUGIN_NOT_ENABLED"]


def test_every_tenant_may_subscribe_to_everything_it_has(owner: GraphQLClient) -> None:
    create_webhook(owner, "https://example.com/all", ["*"])
    create_webhook(owner, "https://example.com/core", ["customer.*", "contact.*"])
