"""updateWebhook: partial changes checked as at creation, the secret re-encrypted, audited, an event."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from saas.crypto import secret_box
from saas.runtime import Runtime
from saas.schema.relay import decode_id
from saas.webhooks.models import Webhook
from tests.conftest import GraphQLClient, add_member
from tests.events.support import SECRET, create_webhook, in_tenant
from tests.leads.support import events

UPDATE = """mutation($input: UpdateWebhookInput!) {
  updateWebhook(input: $input) { webhook { id url events } userErrors { field code message } }
}"""


def _row(runtime: Runtime, tenant_id: Any, webhook_id: str) -> Webhook:
    raw = decode_id(webhook_id, "Webhook")
    return in_tenant(runtime, tenant_id, lambda s: s.scalars(select(Webhook).where(Webhook.id == raw)).one())


def test_each_field_changes_alone_and_the_rest_is_kept(owner: GraphQLClient, tenant: Any, runtime: Runtime) -> None:
    webhook_id = create_webhook(owner, "https://example.com/hook", ["customer.*"])
    moved = owner.data(UPDATE, {"input": {"id": webhook_id, "url": "https://example.org/new"}})["updateWebhook"]
    assert moved == {
        "webhook": {"id": webhook_id, "url": "https://example.org/new", "events": ["customer.*"]},
        "userErrors": [],
    }
    retyped = owner.data(UPDATE, {"input": {"id": webhook_id, "events": ["lead.created", "contact.*", "lead.created"]}})
    assert retyped["updateWebhook"]["webhook"]["events"] == ["contact.*", "lead.created"]
    new_secret = "another-long-shared-secret"
    assert owner.data(UPDATE, {"input": {"id": webhook_id, "secret": new_secret}})["updateWebhook"]["userErrors"] == []
    row = _row(runtime, tenant.id, webhook_id)
    assert row.url == "https://example.org/new"
    assert new_secret not in row.secret_encrypted
    assert secret_box(runtime.settings).decrypt(row.secret_encrypted) == new_secret

    updates = [payload for kind, payload in events(runtime, tenant.id, "webhook.updated")]
    assert len(updates) == 3
    assert all("url" not in p["webhook"] and "secret" not in p["webhook"] for p in updates)
    assert updates[1]["webhook"]["events"] == ["contact.*", "lead.created"]


def test_an_update_that_changes_nothing_records_nothing(owner: GraphQLClient, tenant: Any, runtime: Runtime) -> None:
    webhook_id = create_webhook(owner, "https://example.com/hook", ["customer.*"])
    same = {"id": webhook_id, "url": "https://example.com/hook", "events": ["customer.*"]}
    assert owner.data(UPDATE, {"input": same})["updateWebhook"]["userErrors"] == []
    assert events(runtime, tenant.id, "webhook.updated") == []


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({}, "input", "REQUIRED"),
        ({"url": ""}, "url", "REQUIRED"),
        ({"url": None}, "url", "REQUIRED"),
        ({"url": "ftp://example.com/x"}, "url", "INVALID"),
        ({"url": "https://example.com/" + "x" * 2000}, "url", "TOO_LONG"),
        ({"url": "http://127.0.0.1/hook"}, "url", "ADDRESS_NOT_ALLOWED"),
        ({"events": []}, "events", "REQUIRED"),
        ({"events": ["no.such.event"]}, "events", "INVALID"),
        ({"events": ["mfg.*"]}, "events", "PLUGIN_NOT_ENABLED"),
        ({"secret": "short"}, "secret", "TOO_SHORT"),
        ({"secret": "x" * 201}, "secret", "TOO_LONG"),
    ],
)
def test_bad_input_is_a_user_error_and_writes_nothing(
    owner: GraphQLClient, tenant: Any, runtime: Runtime, change: dict[str, Any], field: str, code: str
) -> None:
    webhook_id = create_webhook(owner, "https://example.com/hook", ["customer.*"])
    before = _row(runtime, tenant.id, webhook_id)
    result = owner.data(UPDATE, {"input": {"id": webhook_id, **change}})["updateWebhook"]
    assert result["webhook"] is None
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == [
        (["input"] if field == "input" else ["input", field], code)
    ]
    after = _row(runtime, tenant.id, webhook_id)
    assert (after.url, after.events, after.secret_encrypted) == (before.url, before.events, before.secret_encrypted)
    assert events(runtime, tenant.id, "webhook.updated") == []


def test_another_tenant_and_other_roles_cannot_update(
    owner: GraphQLClient, other_owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    webhook_id = create_webhook(owner, "https://example.com/hook", ["customer.*"])
    change = {"id": webhook_id, "url": "https://attacker.example.net/"}
    assert other_owner.error_codes(UPDATE, {"input": change}) == ["NOT_FOUND"]
    assert add_member(owner, tenant, "manager").error_codes(UPDATE, {"input": change}) == ["FORBIDDEN"]
    assert owner.error_codes(UPDATE, {"input": {"id": "nonsense", "url": "https://example.org/"}}) == ["NOT_FOUND"]
    assert _row(runtime, tenant.id, webhook_id).url == "https://example.com/hook"
    deleted = create_webhook(owner, "https://example.com/gone", ["*"])
    owner.data("mutation($id: ID!) { deleteWebhook(input: {id: $id}) { webhook { id } } }", {"id": deleted})
    assert owner.error_codes(UPDATE, {"input": {"id": deleted, "secret": SECRET}}) == ["NOT_FOUND"]
