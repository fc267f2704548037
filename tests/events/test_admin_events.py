"""Members, invitations, API keys, webhooks and plugins emit events shaped like the API, without secrets."""

from __future__ import annotations

import re
import uuid
from typing import Any

import orjson
from sqlalchemy import select

from saas.accounts.models import ApiKey, Invitation
from saas.events.dispatch import dispatch_pending
from saas.events.models import OutboxEvent
from saas.runtime import Runtime
from saas.webhooks import delivery
from saas.webhooks.models import WebhookDelivery
from tests.conftest import TEST_PASSWORD, GraphQLClient, TenantHandle, accept
from tests.events.support import DELETE_WEBHOOK, SECRET, Receiver, create_webhook, in_tenant

RAW_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
USER_ERRORS = "userErrors { field code message }"
MEMBER_FIELDS = "id email name role active createdAt"
INVITATION_FIELDS = "id email name role state createdAt expiresAt acceptedAt revokedAt invitedBy { id }"
API_KEY_FIELDS = "id name scopes createdAt lastUsedAt revokedAt"
PLUGIN_FIELDS = "name title version description requires enabled settings problems"

INVITE = f"""mutation($input: AddMemberInput!) {{
  addMember(input: $input) {{ invitation {{ {INVITATION_FIELDS} }} invitationToken {USER_ERRORS} }}
}}"""
REVOKE_INVITATION = f"""mutation($input: RevokeInvitationInput!) {{
  revokeInvitation(input: $input) {{ invitation {{ {INVITATION_FIELDS} }} {USER_ERRORS} }}
}}"""
INVITATIONS = f"{{ invitations(state: ACCEPTED) {{ {INVITATION_FIELDS} }} }}"
MEMBERS = f"{{ members {{ {MEMBER_FIELDS} }} }}"
UPDATE_ROLE = f"""mutation($input: UpdateMemberRoleInput!) {{
  updateMemberRole(input: $input) {{ member {{ {MEMBER_FIELDS} }} {USER_ERRORS} }}
}}"""
REMOVE_MEMBER = f"""mutation($input: RemoveMemberInput!) {{
  removeMember(input: $input) {{ member {{ {MEMBER_FIELDS} }} {USER_ERRORS} }}
}}"""
CREATE_API_KEY = f"""mutation($input: CreateApiKeyInput!) {{
  createApiKey(input: $input) {{ apiKey {{ {API_KEY_FIELDS} }} secret {USER_ERRORS} }}
}}"""
REVOKE_API_KEY = f"""mutation($input: RevokeApiKeyInput!) {{
  revokeApiKey(input: $input) {{ apiKey {{ {API_KEY_FIELDS} }} {USER_ERRORS} }}
}}"""
API_KEYS = f"{{ apiKeys {{ {API_KEY_FIELDS} }} }}"
WEBHOOKS = "{ webhooks { id url events createdAt } }"
ENABLE = f"""mutation($input: EnablePluginInput!) {{
  enablePlugin(input: $input) {{ plugin {{ {PLUGIN_FIELDS} }} {USER_ERRORS} }}
}}"""
UPDATE_SETTINGS = f"""mutation($input: UpdatePluginSettingsInput!) {{
  updatePluginSettings(input: $input) {{ plugin {{ {PLUGIN_FIELDS} }} {USER_ERRORS} }}
}}"""
DISABLE = f"""mutation($input: DisablePluginInput!) {{
  disablePlugin(input: $input) {{ plugin {{ {PLUGIN_FIELDS} }} {USER_ERRORS} }}
}}"""
PLUGINS = f"{{ plugins {{ {PLUGIN_FIELDS} }} }}"


def _events(runtime: Runtime, tenant_id: uuid.UUID) -> list[tuple[str, dict[str, Any]]]:
    rows = in_tenant(runtime, tenant_id, lambda s: list(s.scalars(select(OutboxEvent).order_by(OutboxEvent.seq))))
    return [(row.type, row.payload) for row in rows]


def _since(runtime: Runtime, tenant_id: uuid.UUID, start: int) -> list[tuple[str, dict[str, Any]]]:
    return _events(runtime, tenant_id)[start:]


def _ok(client: GraphQLClient, query: str, variables: dict[str, Any], field: str) -> dict[str, Any]:
    payload: dict[str, Any] = client.data(query, variables)[field]
    assert payload["userErrors"] == [], payload
    return payload


def _text(payload: dict[str, Any]) -> str:
    return orjson.dumps(payload).decode()


def test_member_and_invitation_events_carry_what_the_api_returns(
    owner: GraphQLClient, anonymous: GraphQLClient, tenant: TenantHandle, runtime: Runtime,
    dispatch_requests: list[uuid.UUID],
) -> None:  # fmt: skip
    start = len(_events(runtime, tenant.id))
    email = f"joiner-{uuid.uuid4().hex[:6]}@{tenant.slug}.example.com"
    first = _ok(owner, INVITE, {"input": {"email": email, "role": "SALES", "name": "Jo"}}, "addMember")
    revoked = _ok(owner, REVOKE_INVITATION, {"input": {"id": first["invitation"]["id"]}}, "revokeInvitation")
    second = _ok(owner, INVITE, {"input": {"email": email, "role": "SALES"}}, "addMember")
    member = accept(anonymous, second["invitationToken"], TEST_PASSWORD)["member"]
    changed = _ok(owner, UPDATE_ROLE, {"input": {"id": member["id"], "role": "MANAGER"}}, "updateMemberRole")
    removed = _ok(owner, REMOVE_MEMBER, {"input": {"id": member["id"]}}, "removeMember")

    events = _since(runtime, tenant.id, start)
    assert [t for t, _ in events] == [
        "invitation.created", "invitation.revoked", "invitation.created", "member.added",
        "invitation.accepted", "member.role_changed", "member.removed",
    ]  # fmt: skip
    payloads = [p for _, p in events]
    assert payloads[0] == {"invitation": first["invitation"]}
    assert payloads[0]["invitation"]["state"] == "PENDING" and payloads[0]["invitation"]["invitedBy"] is not None
    assert payloads[1] == {"invitation": revoked["invitation"]}
    assert payloads[2] == {"invitation": second["invitation"]}
    [accepted] = [i for i in owner.data(INVITATIONS)["invitations"] if i["id"] == second["invitation"]["id"]]
    assert accepted["state"] == "ACCEPTED"
    assert payloads[4] == {"invitation": accepted, "member": {"id": member["id"]}}
    added = dict(changed["member"], role="SALES")
    assert payloads[3] == {"member": added}
    assert payloads[5] == {"member": changed["member"]}
    assert payloads[6] == {"member": removed["member"]} and removed["member"]["active"] is False

    def digests(session: Any) -> list[str]:
        return list(session.scalars(select(Invitation.secret_hash)))

    secrets = [first["invitationToken"], second["invitationToken"], *in_tenant(runtime, tenant.id, digests)]
    # A token's random part may itself hold "_": search the whole token and every long piece of it,
    # not a short tail that any text could contain by chance.
    pieces = {piece for secret in secrets for piece in (secret, *secret.split("_")) if len(piece) >= 12}
    for payload in payloads:
        text = _text(payload)
        assert not RAW_UUID.search(text), payload
        assert not any(piece in text for piece in pieces), payload


def test_api_key_events_carry_what_the_api_returns_and_never_the_secret(
    owner: GraphQLClient, tenant: TenantHandle, runtime: Runtime, dispatch_requests: list[uuid.UUID]
) -> None:
    start = len(_events(runtime, tenant.id))
    created = _ok(owner, CREATE_API_KEY, {"input": {"name": "ERP sync", "scopes": ["customers:read"]}}, "createApiKey")
    revoke = {"input": {"id": created["apiKey"]["id"]}}
    _ok(owner, REVOKE_API_KEY, revoke, "revokeApiKey")
    _ok(owner, REVOKE_API_KEY, revoke, "revokeApiKey")  # revoked already: no change, no event

    events = _since(runtime, tenant.id, start)
    assert [t for t, _ in events] == ["api_key.created", "api_key.revoked"]
    assert events[0][1] == {"apiKey": created["apiKey"]}
    [listed] = [k for k in owner.data(API_KEYS)["apiKeys"] if k["id"] == created["apiKey"]["id"]]
    assert events[1][1] == {"apiKey": listed} and listed["revokedAt"] is not None
    digest = in_tenant(runtime, tenant.id, lambda s: s.scalar(select(ApiKey.secret_hash)))
    for _, payload in events:
        text = _text(payload)
        assert created["secret"] not in text and created["secret"].rpartition("_")[2] not in text
        assert digest not in text and not RAW_UUID.search(text)


def test_webhook_events_carry_neither_the_secret_nor_the_address(
    owner: GraphQLClient, tenant: TenantHandle, runtime: Runtime, dispatch_requests: list[uuid.UUID]
) -> None:
    start = len(_events(runtime, tenant.id))
    url = "https://hooks.example.com/services/T0K3N-IN-THE-PATH"
    webhook_id = create_webhook(owner, url, ["customer.*", "api_key.created"])
    [api] = [w for w in owner.data(WEBHOOKS)["webhooks"] if w["id"] == webhook_id]
    _ok(owner, DELETE_WEBHOOK, {"input": {"id": webhook_id}}, "deleteWebhook")

    events = _since(runtime, tenant.id, start)
    assert [t for t, _ in events] == ["webhook.created", "webhook.deleted"]
    shown = {key: value for key, value in api.items() if key != "url"}
    assert events[0][1] == {"webhook": shown} and events[1][1] == {"webhook": shown}
    for _, payload in events:
        text = _text(payload)
        assert SECRET not in text and "T0K3N" not in text and not RAW_UUID.search(text)


def test_plugin_events_carry_what_the_api_returns(
    owner: GraphQLClient, tenant: TenantHandle, runtime: Runtime, dispatch_requests: list[uuid.UUID]
) -> None:
    start = len(_events(runtime, tenant.id))
    enabled = _ok(owner, ENABLE, {"input": {"name": "manufacturing", "settings": {"lowStockThreshold": 3}}},
                  "enablePlugin")  # fmt: skip
    after_enable = len(_events(runtime, tenant.id))
    updated = _ok(owner, UPDATE_SETTINGS, {"input": {"name": "manufacturing", "settings": {"lowStockThreshold": 7}}},
                  "updatePluginSettings")  # fmt: skip
    [listed] = [p for p in owner.data(PLUGINS)["plugins"] if p["name"] == "manufacturing"]
    disabled = _ok(owner, DISABLE, {"input": {"name": "manufacturing"}}, "disablePlugin")

    events = _since(runtime, tenant.id, start)
    types = [t for t, _ in events]
    # Enabling comes first; what the plugin does when enabled (its default warehouse) follows it.
    assert types[0] == "plugin.enabled" and "mfg.warehouse.created" in types[1 : after_enable - start]
    assert types[after_enable - start :] == ["plugin.settings_changed", "plugin.disabled"]
    assert events[0][1] == {"plugin": enabled["plugin"]}
    assert enabled["plugin"]["settings"]["lowStockThreshold"] == 3
    assert events[after_enable - start][1] == {"plugin": updated["plugin"]} == {"plugin": listed}
    assert events[-1][1] == {"plugin": disabled["plugin"]} and disabled["plugin"]["enabled"] is False


def test_a_tenants_admin_events_reach_only_its_own_webhooks(
    receiver: Receiver,
    owner: GraphQLClient,
    other_owner: GraphQLClient,
    tenant: TenantHandle,
    other_tenant: TenantHandle,
    runtime: Runtime,
    dispatch_requests: list[uuid.UUID],
) -> None:
    create_webhook(owner, f"{receiver.url}/a", ["api_key.*", "member.*", "invitation.*"])
    create_webhook(other_owner, f"{receiver.url}/b", ["*"])
    key = _ok(owner, CREATE_API_KEY, {"input": {"name": "A's key", "scopes": ["customers:read"]}}, "createApiKey")
    email = f"a-only-{uuid.uuid4().hex[:6]}@{tenant.slug}.example.com"
    _ok(owner, INVITE, {"input": {"email": email, "role": "VIEWER"}}, "addMember")
    for handle in (tenant, other_tenant):
        in_tenant(runtime, handle.id, lambda s, h=handle: dispatch_pending(s, h.id, runtime.plugins))
        rows = in_tenant(runtime, handle.id, lambda s: list(s.scalars(select(WebhookDelivery))))
        for row in rows:
            delivery.attempt_delivery(runtime.webhook_sender, runtime.engine, handle.id, row.id)

    received = [(r.path, orjson.loads(r.body)["event"]) for r in receiver.received]
    to_a = [event["type"] for path, event in received if path.endswith("/a")]
    to_b = [event for path, event in received if path.endswith("/b")]
    assert to_a == ["api_key.created", "invitation.created"]
    assert [event["type"] for event in to_b] == ["webhook.created"]  # its own creation only
    assert key["apiKey"]["id"] not in orjson.dumps(to_b).decode()
    # The other tenant cannot read the first one's events through the API either.
    edges = other_owner.data("{ webhookDeliveries { edges { node { eventType payload } } } }")
    assert [e["node"]["eventType"] for e in edges["webhookDeliveries"]["edges"]] == ["webhook.created"]
