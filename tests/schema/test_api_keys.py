"""API keys: shown once, stored hashed, scoped, revocable."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from saas.tenancy.session import tenant_session
from tests.schema.helpers import (
    API_KEYS,
    AUDIT_LOG,
    CREATE_API_KEY,
    CREATE_CUSTOMER,
    CUSTOMER,
    CUSTOMERS,
    ME,
    MEMBERS,
    REVOKE_API_KEY,
    auth_error_code,
    codes,
    create_customer,
    raw_id,
    user_errors,
)


def make_key(owner: Any, scopes: list[str], name: str = "integration") -> tuple[dict[str, Any], str]:
    payload = owner.data(CREATE_API_KEY, {"input": {"name": name, "scopes": scopes}})["createApiKey"]
    assert payload["userErrors"] == [], payload
    return payload["apiKey"], payload["secret"]


def test_create_returns_the_secret_once(owner: Any, tenant: Any) -> None:
    key, secret = make_key(owner, ["customers:write", "customers:read", "customers:read"])
    assert key["name"] == "integration"
    assert key["scopes"] == ["customers:read", "customers:write"]
    assert key["revokedAt"] is None
    prefix, tenant_hex, key_hex, rest = secret.split("_", 3)
    assert (prefix, tenant_hex, key_hex) == ("crm", tenant.id.hex, raw_id(key["id"]).hex)
    assert len(rest) >= 40
    listed = owner.data(API_KEYS)["apiKeys"]
    assert [k["id"] for k in listed] == [key["id"]]
    assert secret not in orjson.dumps(listed).decode() and rest not in orjson.dumps(listed).decode()


def test_api_key_type_has_no_secret_field(owner: Any) -> None:
    assert codes(owner.execute("{ apiKeys { id secret } }")) == ["GRAPHQL_VALIDATION_FAILED"]


def test_only_a_hash_is_stored(owner: Any, tenant: Any, runtime: Any) -> None:
    key, secret = make_key(owner, ["customers:read"])
    plain = secret.split("_", 3)[3]
    with tenant_session(runtime.engine, tenant.id) as session:
        row = session.execute(text("SELECT * FROM api_keys WHERE id = :id"), {"id": raw_id(key["id"])}).mappings().one()
        audit = session.execute(
            text("SELECT before::text, after::text FROM audit_log WHERE entity_type = 'ApiKey'")
        ).all()
    stored = " ".join(str(v) for v in row.values())
    assert plain not in stored and secret not in stored
    assert row["secret_hash"] == hashlib.sha256(plain.encode()).hexdigest()
    assert len(audit) == 1
    assert plain not in str(audit) and row["secret_hash"] not in str(audit)


def test_two_keys_get_different_secrets(owner: Any) -> None:
    (_, first), (_, second) = make_key(owner, ["customers:read"]), make_key(owner, ["customers:read"])
    assert first.split("_", 3)[3] != second.split("_", 3)[3]


def test_read_key_reads_but_cannot_write(owner: Any, tenant: Any, counts: Any) -> None:
    mine = create_customer(owner, name="Readable", ownerId=owner.data(ME)["me"]["member"]["id"])
    _, secret = make_key(owner, ["customers:read"])
    client = owner.as_token(secret)
    page = client.data(CUSTOMERS, {"first": 10})["customers"]
    assert [e["node"]["id"] for e in page["edges"]] == [mine["id"]]  # a key sees every customer
    assert client.data(CUSTOMER, {"id": mine["id"]})["customer"]["name"] == "Readable"
    before = counts()
    assert codes(client.execute(CREATE_CUSTOMER, {"input": {"name": "x"}})) == ["FORBIDDEN"]
    assert counts() == before
    for query in (MEMBERS, AUDIT_LOG, API_KEYS):
        assert codes(client.execute(query)) == ["FORBIDDEN"], query
    me = client.data(ME)["me"]
    assert me["member"] is None and me["email"] is None and me["role"] is None
    assert me["permissions"] == ["customers:read"]
    assert me["tenant"]["slug"] == tenant.slug


def test_write_key_creates_and_is_the_actor(owner: Any) -> None:
    _, secret = make_key(owner, ["customers:read", "customers:write"], name="crm-sync")
    client = owner.as_token(secret)
    created = client.data(CREATE_CUSTOMER, {"input": {"name": "From integration"}})["createCustomer"]
    assert created["userErrors"] == [] and created["customer"]["owner"] is None
    entry = owner.data(AUDIT_LOG, {"first": 1})["auditLog"]["edges"][0]["node"]
    assert (entry["action"], entry["actor"], entry["entityId"]) == (
        "customer.created",
        "api-key:crm-sync",
        created["customer"]["id"],
    )
    assert codes(
        client.execute(
            "mutation($i: DeleteCustomerInput!) { deleteCustomer(input: $i) { customer { id } } }",
            {"i": {"id": created["customer"]["id"]}},
        )
    ) == ["FORBIDDEN"]


def test_key_of_another_tenant_sees_only_its_tenant(owner: Any, other_owner: Any) -> None:
    create_customer(owner, name="Not for them")
    theirs = create_customer(other_owner, name="Theirs")
    _, secret = make_key(other_owner, ["customers:read"])
    page = owner.as_token(secret).data(CUSTOMERS, {"first": 10})["customers"]
    assert [e["node"]["id"] for e in page["edges"]] == [theirs["id"]]


@pytest.mark.parametrize(
    ("input_", "field", "code"),
    [
        ({"name": "k", "scopes": ["customers:read", "root:everything"]}, ["input", "scopes"], "INVALID"),
        ({"name": "k", "scopes": ["CUSTOMERS:READ"]}, ["input", "scopes"], "INVALID"),
        ({"name": "k", "scopes": []}, ["input", "scopes"], "REQUIRED"),
        ({"name": "  ", "scopes": ["customers:read"]}, ["input", "name"], "REQUIRED"),
        ({"name": "n" * 101, "scopes": ["customers:read"]}, ["input", "name"], "TOO_LONG"),
    ],
)
def test_bad_key_input_is_a_user_error_and_writes_nothing(
    owner: Any, counts: Any, input_: dict[str, Any], field: list[str], code: str
) -> None:
    before = counts()
    result = owner.execute(CREATE_API_KEY, {"input": input_})
    assert [(e["field"], e["code"]) for e in user_errors(result, "createApiKey")] == [(field, code)]
    assert result["data"]["createApiKey"]["secret"] is None and result["data"]["createApiKey"]["apiKey"] is None
    assert counts() == before


def test_revoked_key_is_unauthenticated(owner: Any) -> None:
    key, secret = make_key(owner, ["customers:read"])
    client = owner.as_token(secret)
    assert client.data(CUSTOMERS, {"first": 1})  # works, and is cached now
    revoked = owner.data(REVOKE_API_KEY, {"input": {"id": key["id"]}})["revokeApiKey"]
    assert revoked["userErrors"] == [] and revoked["apiKey"]["revokedAt"]
    assert auth_error_code(client, CUSTOMERS, {"first": 1}) == "UNAUTHENTICATED"
    listed = {k["id"]: k for k in owner.data(API_KEYS)["apiKeys"]}
    assert listed[key["id"]]["revokedAt"] == revoked["apiKey"]["revokedAt"]
    # revoking again changes nothing
    again = owner.data(REVOKE_API_KEY, {"input": {"id": key["id"]}})["revokeApiKey"]
    assert again["apiKey"]["revokedAt"] == revoked["apiKey"]["revokedAt"]


def test_revoking_one_key_leaves_the_others(owner: Any) -> None:
    first, first_secret = make_key(owner, ["customers:read"])
    _, second_secret = make_key(owner, ["customers:read"])
    owner.data(REVOKE_API_KEY, {"input": {"id": first["id"]}})
    assert auth_error_code(owner.as_token(first_secret), ME) == "UNAUTHENTICATED"
    assert owner.as_token(second_secret).data(ME)["me"]["permissions"] == ["customers:read"]


def test_revoke_of_another_tenants_or_unknown_key_is_not_found(owner: Any, other_owner: Any) -> None:
    foreign, secret = make_key(other_owner, ["customers:read"])
    assert codes(owner.execute(REVOKE_API_KEY, {"input": {"id": foreign["id"]}})) == ["NOT_FOUND"]
    assert codes(owner.execute(REVOKE_API_KEY, {"input": {"id": "garbage"}})) == ["NOT_FOUND"]
    assert other_owner.as_token(secret).data(ME)["me"]["permissions"] == ["customers:read"]


def test_wrong_secret_or_tampered_key_is_unauthenticated(owner: Any, other_tenant: Any) -> None:
    _, secret = make_key(owner, ["customers:read"])
    prefix, tenant_hex, key_hex, plain = secret.split("_", 3)
    flipped = plain[:-1] + ("A" if plain[-1] != "A" else "B")
    candidates = [
        f"{prefix}_{tenant_hex}_{key_hex}_{flipped}",  # right format, wrong secret
        f"{prefix}_{tenant_hex}_{key_hex}_",  # no secret
        f"{prefix}_{other_tenant.id.hex}_{key_hex}_{plain}",  # the key's secret, another tenant
        f"{prefix}_{tenant_hex}_{uuid.uuid4().hex}_{plain}",  # unknown key id
        "crm_garbage",
        "crm_" + "0" * 32 + "_nothex_" + plain,
    ]
    for candidate in candidates:
        assert auth_error_code(owner.as_token(candidate), ME) == "UNAUTHENTICATED", candidate
    assert owner.as_token(secret).data(ME)["me"]["permissions"] == ["customers:read"]


def test_last_used_at_is_recorded(owner: Any) -> None:
    key, secret = make_key(owner, ["customers:read"])
    owner.as_token(secret).data(CUSTOMERS, {"first": 1})
    listed = {k["id"]: k for k in owner.data(API_KEYS)["apiKeys"]}
    assert listed[key["id"]]["lastUsedAt"] is not None


def test_node_fetches_an_api_key(owner: Any) -> None:
    key, _ = make_key(owner, ["customers:read"])
    node = owner.data("query($id: ID!) { node(id: $id) { id ... on ApiKey { name scopes } } }", {"id": key["id"]})[
        "node"
    ]
    assert node == {"id": key["id"], "name": "integration", "scopes": ["customers:read"]}
