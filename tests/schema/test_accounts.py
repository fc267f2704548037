"""Accounts: login, tokens, me, members, roles and what each role may see and do."""

from __future__ import annotations

import secrets
from typing import Any

import jwt
import pytest

from saas.auth.tokens import issue_token, read_token
from tests.conftest import LOGIN, TEST_PASSWORD, accept, add_member, invite, login
from tests.schema.helpers import (
    ADD_MEMBER,
    AUDIT_LOG,
    CONTACT,
    CREATE_API_KEY,
    CREATE_CONTACT,
    CREATE_CUSTOMER,
    CUSTOMER,
    CUSTOMERS,
    DELETE_CUSTOMER,
    ME,
    MEMBERS,
    NODE,
    REMOVE_MEMBER,
    RESTORE_CUSTOMER,
    REVOKE_API_KEY,
    UPDATE_CONTACT,
    UPDATE_CUSTOMER,
    auth_error_code,
    codes,
    count_rows,
    create_contact,
    create_customer,
    global_id,
    my_member_id,
    raw_id,
    user_errors,
)
from tests.schema.helpers import UPDATE_MEMBER_ROLE as UPDATE_ROLE

# After-sales service: reading and running the knowledge base, returns and work orders.
SERVICE_READ = {"knowledge:read", "returns:read", "work_orders:read"}
SERVICE_ALL = SERVICE_READ | {"knowledge:write", "returns:write", "work_orders:write"}

# --- login -------------------------------------------------------------------------------------


def _login(anonymous: Any, email: str, password: str, slug: str) -> dict[str, Any]:
    return anonymous.data(
        LOGIN.replace("token userErrors", "token member { id } userErrors"),
        {"input": {"email": email, "password": password, "tenant": slug}},
    )["login"]


def test_login_returns_a_token_for_the_membership(anonymous: Any, tenant: Any, principal_of: Any, runtime: Any) -> None:
    payload = _login(anonymous, tenant.owner_email, tenant.password, tenant.slug)
    assert payload["userErrors"] == []
    claims = read_token(runtime.settings, payload["token"])
    assert claims.tenant_id == tenant.id
    assert payload["member"]["id"] == global_id("Member", claims.membership_id)
    me = anonymous.as_token(payload["token"]).data(ME)["me"]
    assert me["email"] == tenant.owner_email and me["role"] == "OWNER" and me["tenant"]["slug"] == tenant.slug


def test_login_ignores_email_case_and_surrounding_spaces(anonymous: Any, tenant: Any) -> None:
    payload = _login(anonymous, "  " + tenant.owner_email.upper() + " ", tenant.password, f" {tenant.slug.upper()} ")
    assert payload["token"] and payload["userErrors"] == []


def test_bad_credentials_all_look_the_same(
    anonymous: Any, tenant: Any, other_tenant: Any, counts: Any, runtime: Any
) -> None:
    before = counts()
    attempts = [
        (tenant.owner_email, "wrong password!!", tenant.slug),  # wrong password
        (f"nobody@{tenant.slug}.example.com", tenant.password, tenant.slug),  # unknown e-mail
        (tenant.owner_email, tenant.password, "no-such-tenant"),  # unknown tenant
        (tenant.owner_email, tenant.password, other_tenant.slug),  # a tenant the user is not a member of
        (tenant.owner_email, "", tenant.slug),  # empty password
    ]
    answers = [_login(anonymous, *attempt) for attempt in attempts]
    for answer in answers:
        assert answer["token"] is None and answer["member"] is None
        assert answer["userErrors"] == answers[0]["userErrors"]
    assert answers[0]["userErrors"][0]["code"] == "INVALID_CREDENTIALS"
    assert answers[0]["userErrors"][0]["field"] == ["input"]
    assert counts() == before
    # Each failure naming the tenant is an access entry of its log (tests/http/test_access_audit.py).
    failed = count_rows(runtime, tenant.id, "audit_log", "action = 'login.failed'")
    assert failed == 3


def test_removed_member_cannot_log_in(owner: Any, tenant: Any, anonymous: Any) -> None:
    leaver = add_member(owner, tenant, "sales")
    email, member_id = leaver.data(ME)["me"]["email"], my_member_id(leaver)
    assert _login(anonymous, email, TEST_PASSWORD, tenant.slug)["token"]
    owner.data(REMOVE_MEMBER, {"input": {"id": member_id}})
    answer = _login(anonymous, email, TEST_PASSWORD, tenant.slug)
    assert answer["token"] is None
    assert [e["code"] for e in answer["userErrors"]] == ["INVALID_CREDENTIALS"]


# --- tokens ------------------------------------------------------------------------------------


def _claims(principal_of: Any, client: Any) -> tuple[Any, Any, Any, int]:
    principal = principal_of(client)
    generation = read_token(client.engine.runtime.settings, client.token).generation
    return principal.user_id, principal.tenant_id, principal.membership_id, generation


def test_expired_token_is_unauthenticated(owner: Any, runtime: Any, principal_of: Any) -> None:
    expired = issue_token(runtime.settings.model_copy(update={"token_ttl_seconds": -60}), *_claims(principal_of, owner))
    assert auth_error_code(owner.as_token(expired), ME) == "UNAUTHENTICATED"


def test_token_signed_with_another_secret_is_unauthenticated(owner: Any, runtime: Any, principal_of: Any) -> None:
    forged = issue_token(
        runtime.settings.model_copy(update={"secret_key": "another-secret-" + "x" * 40}), *_claims(principal_of, owner)
    )
    assert auth_error_code(owner.as_token(forged), ME) == "UNAUTHENTICATED"


def test_fresh_token_made_the_same_way_works(owner: Any, runtime: Any, principal_of: Any) -> None:
    """The control for the two tests above: only the ttl or the secret differs."""
    token = issue_token(runtime.settings, *_claims(principal_of, owner))
    assert owner.as_token(token).data(ME)["me"]["role"] == "OWNER"


def test_unsigned_or_tampered_tokens_are_unauthenticated(owner: Any, runtime: Any) -> None:
    claims = jwt.decode(owner.token, options={"verify_signature": False})
    unsigned = jwt.encode(claims, key=None, algorithm="none")
    header, payload, signature = owner.token.split(".")
    tampered = ".".join([header, payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB"), signature])
    for token in (unsigned, tampered, "garbage", owner.token + "x"):
        assert auth_error_code(owner.as_token(token), ME) == "UNAUTHENTICATED", token


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Token abc"])
def test_malformed_authorization_header_is_unauthenticated(runtime: Any, header: str) -> None:
    from saas.errors import UnauthenticatedError

    with pytest.raises(UnauthenticatedError):
        runtime.authenticate(header)


def test_token_naming_another_tenant_with_this_membership_is_unauthenticated(
    owner: Any, other_tenant: Any, runtime: Any, principal_of: Any
) -> None:
    """A validly signed token whose tenant does not hold the membership grants nothing."""
    user_id, tenant_id, membership_id, generation = _claims(principal_of, owner)
    runtime.credentials.forget_tenant(tenant_id)
    mixed = issue_token(runtime.settings, user_id, other_tenant.id, membership_id, generation)
    assert auth_error_code(owner.as_token(mixed), ME) == "UNAUTHENTICATED"


def test_cached_membership_does_not_accept_a_token_with_other_claims(
    owner: Any, other_tenant: Any, runtime: Any, principal_of: Any
) -> None:
    user_id, _, membership_id, generation = _claims(principal_of, owner)  # now cached
    mixed = issue_token(runtime.settings, user_id, other_tenant.id, membership_id, generation)
    assert auth_error_code(owner.as_token(mixed), ME) == "UNAUTHENTICATED"


def test_user_in_two_tenants_gets_a_token_for_each_and_sees_each_tenants_data(
    owner: Any, other_owner: Any, tenant: Any, other_tenant: Any, anonymous: Any, runtime: Any
) -> None:
    # the owner of `tenant` is invited to `other_tenant` as a viewer and accepts, signed in as themselves
    accepted = accept(owner, invite(other_owner, tenant.owner_email, "viewer"), password=None)
    assert accepted["userErrors"] == [] and accepted["member"]["role"] == "VIEWER"
    mine = create_customer(owner, name="In the first tenant")
    theirs = create_customer(other_owner, name="In the second tenant")

    in_first = login(anonymous, tenant.owner_email, TEST_PASSWORD, tenant.slug)
    in_second = login(anonymous, tenant.owner_email, TEST_PASSWORD, other_tenant.slug)
    assert read_token(runtime.settings, in_first.token).tenant_id == tenant.id
    assert read_token(runtime.settings, in_second.token).tenant_id == other_tenant.id
    assert read_token(runtime.settings, in_first.token).user_id == read_token(runtime.settings, in_second.token).user_id

    first_me, second_me = in_first.data(ME)["me"], in_second.data(ME)["me"]
    assert (first_me["tenant"]["slug"], first_me["role"]) == (tenant.slug, "OWNER")
    assert (second_me["tenant"]["slug"], second_me["role"]) == (other_tenant.slug, "VIEWER")

    def listed(client: Any) -> set[str]:
        return {e["node"]["id"] for e in client.data(CUSTOMERS, {"first": 100})["customers"]["edges"]}

    assert listed(in_first) == {mine["id"]}
    assert listed(in_second) == {theirs["id"]}
    assert codes(in_second.execute(CUSTOMER, {"id": mine["id"]})) == ["NOT_FOUND"]
    assert codes(in_first.execute(CUSTOMER, {"id": theirs["id"]})) == ["NOT_FOUND"]
    # the viewer role holds in the second tenant only
    assert codes(in_second.execute(CREATE_CUSTOMER, {"input": {"name": "x"}})) == ["FORBIDDEN"]
    assert in_first.data(CREATE_CUSTOMER, {"input": {"name": "x"}})["createCustomer"]["customer"]


# --- me and members ----------------------------------------------------------------------------


def test_me(owner: Any, tenant: Any) -> None:
    me = owner.data(ME)["me"]
    assert me["email"] == tenant.owner_email
    assert me["role"] == "OWNER"
    assert me["member"]["email"] == tenant.owner_email
    assert me["tenant"]["slug"] == tenant.slug
    assert set(me["permissions"]) >= {
        "customers:read",
        "customers:write",
        "customers:delete",
        "members:manage",
        "api_keys:manage",
        "audit:read",
    }
    assert me["permissions"] == sorted(me["permissions"])


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (
            "ADMIN",
            {
                "customers:read",
                "customers:write",
                "customers:delete",
                "members:read",
                "members:manage",
                "api_keys:manage",
                "audit:read",
                "plugins:manage",
                "jobs:read",
                "jobs:manage",
                "products:read",
                "products:write",
                "webhooks:manage",
                "leads:read",
                "leads:write",
                "channels:manage",
                "teams:manage",
                "sales_settings:manage",
                "deals:read",
                "deals:write",
                "pipeline:manage",
                "custom_fields:manage",
                *SERVICE_ALL,
                "tickets:read",
                "tickets:write",
                "tickets:manage",
                "portal:manage",
                "sensitive:read",
                "automation:manage",
            },
        ),
        (
            "SALES",
            {
                "customers:read",
                "customers:write",
                "members:read",
                "products:read",
                "deals:read",
                "deals:write",
                "leads:read",
                "leads:write",
                *SERVICE_READ,
                "returns:write",
                "tickets:read",
                "tickets:write",
            },
        ),
        (
            "SERVICE",
            {"customers:read", "customers:write", "members:read", "products:read", "deals:read", "leads:read"}
            | SERVICE_ALL
            | {"tickets:read", "tickets:write"},
        ),
        (
            "VIEWER",
            {"customers:read", "members:read", "products:read", "deals:read", "leads:read", "tickets:read"}
            | SERVICE_READ,
        ),
    ],
)
def test_me_permissions_by_role(owner: Any, tenant: Any, role: str, expected: set[str]) -> None:
    me = add_member(owner, tenant, role.lower()).data(ME)["me"]
    assert me["role"] == role
    assert set(me["permissions"]) == expected


def test_anonymous_me_is_unauthenticated(anonymous: Any) -> None:
    assert codes(anonymous.execute(ME)) == ["UNAUTHENTICATED"]
    assert codes(anonymous.execute(MEMBERS)) == ["UNAUTHENTICATED"]


def test_members_lists_active_members_of_the_tenant_only(owner: Any, other_owner: Any, tenant: Any) -> None:
    sales = add_member(owner, tenant, "sales")
    viewer = add_member(owner, tenant, "viewer")
    members = owner.data(MEMBERS)["members"]
    assert [m["role"] for m in members] == ["OWNER", "SALES", "VIEWER"]
    assert all(m["active"] for m in members)
    assert viewer.data(MEMBERS)["members"] == members  # members:read
    owner.data(REMOVE_MEMBER, {"input": {"id": my_member_id(sales)}})
    assert [m["role"] for m in owner.data(MEMBERS)["members"]] == ["OWNER", "VIEWER"]
    assert [m["role"] for m in other_owner.data(MEMBERS)["members"]] == ["OWNER"]


# --- visibility by role ------------------------------------------------------------------------


@pytest.fixture
def team(owner: Any, tenant: Any) -> dict[str, Any]:
    """Two sales reps, each owning a customer with a contact, and an unowned customer."""
    rep, other_rep = add_member(owner, tenant, "sales"), add_member(owner, tenant, "sales")
    mine = create_customer(rep, name="Rep's own")
    assert mine["owner"]["id"] == my_member_id(rep)  # a rep owns what they create
    theirs = create_customer(owner, name="Other rep's", ownerId=my_member_id(other_rep))
    bosses = create_customer(owner, name="Owner's", ownerId=my_member_id(owner))
    pool = create_customer(owner, name="Pool")
    return {
        "rep": rep,
        "other_rep": other_rep,
        "mine": mine,
        "theirs": theirs,
        "bosses": bosses,
        "pool": pool,
        "their_contact": create_contact(owner, theirs["id"], name="Hidden Contact"),
        "pool_contact": create_contact(owner, pool["id"], name="Pool Contact"),
    }


def _listed(client: Any, state: str = "ACTIVE") -> set[str]:
    return {
        e["node"]["id"]
        for e in client.data(CUSTOMERS, {"first": 100, "filter": {"state": state}})["customers"]["edges"]
    }


def test_sales_sees_own_and_unowned_only(team: dict[str, Any]) -> None:
    rep = team["rep"]
    assert _listed(rep) == {team["mine"]["id"], team["pool"]["id"]}
    assert rep.data(CUSTOMERS, {"first": 100})["customers"]["totalCount"] == 2
    for hidden in (team["theirs"], team["bosses"]):
        assert codes(rep.execute(CUSTOMER, {"id": hidden["id"]})) == ["NOT_FOUND"]
        assert codes(rep.execute(NODE, {"id": hidden["id"]})) == ["NOT_FOUND"]
    for visible in (team["mine"], team["pool"]):
        assert rep.data(CUSTOMER, {"id": visible["id"]})["customer"]["id"] == visible["id"]
        assert rep.data(NODE, {"id": visible["id"]})["node"]["id"] == visible["id"]
    assert codes(rep.execute(CONTACT, {"id": team["their_contact"]["id"]})) == ["NOT_FOUND"]
    assert codes(rep.execute(NODE, {"id": team["their_contact"]["id"]})) == ["NOT_FOUND"]
    assert rep.data(CONTACT, {"id": team["pool_contact"]["id"]})["contact"]["name"] == "Pool Contact"


def test_sales_cannot_change_others_customers(team: dict[str, Any], counts: Any) -> None:
    rep, theirs = team["rep"], team["theirs"]
    before = counts()
    assert codes(rep.execute(UPDATE_CUSTOMER, {"input": {"id": theirs["id"], "version": 1, "name": "Mine now"}})) == [
        "NOT_FOUND"
    ]
    assert codes(rep.execute(CREATE_CONTACT, {"input": {"customerId": theirs["id"], "name": "x"}})) == ["NOT_FOUND"]
    contact = team["their_contact"]
    assert codes(rep.execute(UPDATE_CONTACT, {"input": {"id": contact["id"], "version": 1, "name": "x"}})) == [
        "NOT_FOUND"
    ]
    assert counts() == before
    assert team["other_rep"].data(CUSTOMER, {"id": theirs["id"]})["customer"]["name"] == "Other rep's"


def test_sales_can_change_own_and_pool_customers(team: dict[str, Any]) -> None:
    rep = team["rep"]
    for customer in (team["mine"], team["pool"]):
        payload = rep.data(UPDATE_CUSTOMER, {"input": {"id": customer["id"], "version": 1, "tier": "gold"}})[
            "updateCustomer"
        ]
        assert payload["userErrors"] == [] and payload["customer"]["tier"] == "gold"


def test_sales_cannot_give_a_customer_to_someone_else(team: dict[str, Any], counts: Any) -> None:
    rep, other = team["rep"], my_member_id(team["other_rep"])
    before = counts()
    created = rep.execute(CREATE_CUSTOMER, {"input": {"name": "x", "ownerId": other}})
    assert [(e["field"], e["code"]) for e in user_errors(created, "createCustomer")] == [
        (["input", "ownerId"], "INVALID")
    ]
    updated = rep.execute(UPDATE_CUSTOMER, {"input": {"id": team["mine"]["id"], "version": 1, "ownerId": other}})
    assert [(e["field"], e["code"]) for e in user_errors(updated, "updateCustomer")] == [
        (["input", "ownerId"], "INVALID")
    ]
    assert counts() == before


def test_sales_claims_a_pool_customer_by_taking_ownership(team: dict[str, Any]) -> None:
    rep, pool = team["rep"], team["pool"]
    payload = rep.data(UPDATE_CUSTOMER, {"input": {"id": pool["id"], "version": 1, "ownerId": my_member_id(rep)}})[
        "updateCustomer"
    ]
    assert payload["customer"]["owner"]["id"] == my_member_id(rep)
    assert pool["id"] not in _listed(team["other_rep"])


def test_sales_cannot_delete_or_restore(team: dict[str, Any], owner: Any, counts: Any) -> None:
    rep = team["rep"]
    before = counts()
    assert codes(rep.execute(DELETE_CUSTOMER, {"input": {"id": team["mine"]["id"]}})) == ["FORBIDDEN"]
    assert codes(rep.execute(DELETE_CUSTOMER, {"input": {"id": team["pool"]["id"]}})) == ["FORBIDDEN"]
    owner.data(DELETE_CUSTOMER, {"input": {"id": team["pool"]["id"]}})
    after_delete = counts()
    assert codes(rep.execute(RESTORE_CUSTOMER, {"input": {"id": team["pool"]["id"]}})) == ["FORBIDDEN"]
    assert counts() == after_delete
    assert after_delete["customers"] == before["customers"]


# Managers see their teams' customers (tests/teams/test_visibility.py), not every one.
@pytest.mark.parametrize("role", ["admin", "viewer", "service"])
def test_other_roles_see_every_customer(team: dict[str, Any], owner: Any, tenant: Any, role: str) -> None:
    client = add_member(owner, tenant, role)
    everything = {team[k]["id"] for k in ("mine", "theirs", "bosses", "pool")}
    assert _listed(client) == everything
    assert client.data(CUSTOMER, {"id": team["theirs"]["id"]})["customer"]["name"] == "Other rep's"
    assert client.data(CONTACT, {"id": team["their_contact"]["id"]})["contact"]["name"] == "Hidden Contact"


def test_viewer_cannot_change_anything(owner: Any, tenant: Any, counts: Any) -> None:
    viewer = add_member(owner, tenant, "viewer")
    customer = create_customer(owner, name="Look only")
    before = counts()
    assert codes(viewer.execute(CREATE_CUSTOMER, {"input": {"name": "x"}})) == ["FORBIDDEN"]
    assert codes(viewer.execute(UPDATE_CUSTOMER, {"input": {"id": customer["id"], "version": 1, "name": "x"}})) == [
        "FORBIDDEN"
    ]
    assert codes(viewer.execute(DELETE_CUSTOMER, {"input": {"id": customer["id"]}})) == ["FORBIDDEN"]
    assert codes(viewer.execute(CREATE_CONTACT, {"input": {"customerId": customer["id"], "name": "x"}})) == [
        "FORBIDDEN"
    ]
    assert counts() == before


def test_forbidden_comes_before_validation(owner: Any, tenant: Any) -> None:
    """A viewer learns nothing about the input's validity."""
    viewer = add_member(owner, tenant, "viewer")
    assert codes(viewer.execute(CREATE_CUSTOMER, {"input": {"name": ""}})) == ["FORBIDDEN"]


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_manager_and_admin_can_delete_and_restore(owner: Any, tenant: Any, role: str) -> None:
    client = add_member(owner, tenant, role)
    customer = create_customer(owner, name="Temp")
    assert client.data(DELETE_CUSTOMER, {"input": {"id": customer["id"]}})["deleteCustomer"]["customer"]["deletedAt"]
    assert (
        client.data(RESTORE_CUSTOMER, {"input": {"id": customer["id"]}})["restoreCustomer"]["customer"]["deletedAt"]
        is None
    )


# --- managing members --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["manager", "sales", "service", "viewer"])
def test_only_owners_and_admins_manage_members_keys_and_audit(owner: Any, tenant: Any, counts: Any, role: str) -> None:
    client = add_member(owner, tenant, role)
    victim = my_member_id(add_member(owner, tenant, "sales"))
    key = owner.data(CREATE_API_KEY, {"input": {"name": "k", "scopes": ["customers:read"]}})["createApiKey"]["apiKey"]
    before = counts()
    operations = [
        (
            ADD_MEMBER,
            {"input": {"email": f"n-{secrets.token_hex(3)}@x.example.com", "role": "VIEWER"}},
        ),
        (UPDATE_ROLE, {"input": {"id": victim, "role": "VIEWER"}}),
        (REMOVE_MEMBER, {"input": {"id": victim}}),
        (CREATE_API_KEY, {"input": {"name": "mine", "scopes": ["customers:read"]}}),
        (REVOKE_API_KEY, {"input": {"id": key["id"]}}),
        ("{ apiKeys { id } }", None),
    ]
    for query, variables in operations:
        assert codes(client.execute(query, variables)) == ["FORBIDDEN"], query
    assert counts() == before
    assert [m["role"] for m in owner.data(MEMBERS)["members"] if m["id"] == victim] == ["SALES"]


@pytest.mark.parametrize("role", ["sales", "service", "viewer"])
def test_audit_log_is_forbidden_below_manager(owner: Any, tenant: Any, role: str) -> None:
    assert codes(add_member(owner, tenant, role).execute(AUDIT_LOG)) == ["FORBIDDEN"]


def test_manager_cannot_read_the_audit_log(owner: Any, tenant: Any) -> None:
    assert codes(add_member(owner, tenant, "manager").execute(AUDIT_LOG)) == ["FORBIDDEN"]


def test_admin_manages_members(owner: Any, tenant: Any) -> None:
    admin = add_member(owner, tenant, "admin")
    email = f"new-{secrets.token_hex(3)}@{tenant.slug}.example.com"
    invited = admin.data(ADD_MEMBER, {"input": {"email": email, "role": "SALES", "name": "New Rep"}})["addMember"]
    assert invited["userErrors"] == [] and invited["invitation"]["role"] == "SALES"
    added = accept(admin.as_token(None), invited["invitationToken"])
    assert added["userErrors"] == [] and added["member"]["role"] == "SALES" and added["member"]["name"] == "New Rep"
    changed = admin.data(UPDATE_ROLE, {"input": {"id": added["member"]["id"], "role": "MANAGER"}})["updateMemberRole"]
    assert changed["member"]["role"] == "MANAGER"
    removed = admin.data(REMOVE_MEMBER, {"input": {"id": added["member"]["id"]}})["removeMember"]
    assert removed["member"]["active"] is False


def test_admin_cannot_make_or_touch_owners(owner: Any, tenant: Any, counts: Any) -> None:
    admin = add_member(owner, tenant, "admin")
    sales = my_member_id(add_member(owner, tenant, "sales"))
    owner_id = my_member_id(owner)
    before = counts()
    add = admin.execute(ADD_MEMBER, {"input": {"email": f"o-{secrets.token_hex(3)}@x.example.com", "role": "OWNER"}})
    assert [(e["field"], e["code"]) for e in user_errors(add, "addMember")] == [(["input", "role"], "INVALID")]
    promote = admin.execute(UPDATE_ROLE, {"input": {"id": sales, "role": "OWNER"}})
    assert [(e["field"], e["code"]) for e in user_errors(promote, "updateMemberRole")] == [
        (["input", "role"], "INVALID")
    ]
    self_promote = admin.execute(UPDATE_ROLE, {"input": {"id": my_member_id(admin), "role": "OWNER"}})
    assert [e["code"] for e in user_errors(self_promote, "updateMemberRole")] == ["INVALID"]
    demote = admin.execute(UPDATE_ROLE, {"input": {"id": owner_id, "role": "VIEWER"}})
    assert [(e["field"], e["code"]) for e in user_errors(demote, "updateMemberRole")] == [(["input", "id"], "INVALID")]
    remove = admin.execute(REMOVE_MEMBER, {"input": {"id": owner_id}})
    assert [(e["field"], e["code"]) for e in user_errors(remove, "removeMember")] == [(["input", "id"], "INVALID")]
    assert counts() == before
    assert owner.data(ME)["me"]["role"] == "OWNER"


def test_owner_can_make_owners_and_the_last_owner_stays(owner: Any, tenant: Any, counts: Any) -> None:
    owner_id = my_member_id(owner)
    before = counts()
    for query, input_, field in (
        (UPDATE_ROLE, {"id": owner_id, "role": "ADMIN"}, "updateMemberRole"),
        (REMOVE_MEMBER, {"id": owner_id}, "removeMember"),
    ):
        result = owner.execute(query, {"input": input_})
        assert [(e["field"], e["code"]) for e in user_errors(result, field)] == [(["input", "id"], "LAST_OWNER")]
    assert counts() == before
    second = add_member(owner, tenant, "sales")
    promoted = owner.data(UPDATE_ROLE, {"input": {"id": my_member_id(second), "role": "OWNER"}})["updateMemberRole"]
    assert promoted["member"]["role"] == "OWNER"
    # with two owners, one may step down; then the other is the last one again
    assert (
        owner.data(UPDATE_ROLE, {"input": {"id": owner_id, "role": "ADMIN"}})["updateMemberRole"]["member"]["role"]
        == "ADMIN"
    )
    last = second.execute(REMOVE_MEMBER, {"input": {"id": my_member_id(second)}})
    assert [e["code"] for e in user_errors(last, "removeMember")] == ["LAST_OWNER"]
    # the demoted owner is an admin now, effective at once
    assert owner.data(ME)["me"]["role"] == "ADMIN"


@pytest.mark.parametrize(
    ("input_", "expected"),
    [
        ({"email": "not-an-email", "role": "SALES"}, [(["input", "email"], "INVALID_EMAIL")]),
        ({"email": "", "role": "OWNER", "name": ""}, [(["input", "email"], "REQUIRED")]),
        ({"email": "   ", "role": "SALES"}, [(["input", "email"], "REQUIRED")]),
        ({"email": "new-user@x.example.com", "role": "SALES", "name": "x" * 201}, [(["input", "name"], "TOO_LONG")]),
    ],
)
def test_add_member_bad_input(owner: Any, counts: Any, input_: dict[str, Any], expected: list[Any]) -> None:
    before = counts()
    result = owner.execute(ADD_MEMBER, {"input": input_})
    assert [(e["field"], e["code"]) for e in user_errors(result, "addMember")] == expected
    assert counts() == before


def test_add_existing_member_is_taken(owner: Any, tenant: Any, counts: Any) -> None:
    before = counts()
    result = owner.execute(ADD_MEMBER, {"input": {"email": tenant.owner_email.upper(), "role": "SALES"}})
    assert [(e["field"], e["code"]) for e in user_errors(result, "addMember")] == [(["input", "email"], "TAKEN")]
    assert counts() == before


def test_members_of_another_tenant_are_not_found(owner: Any, other_owner: Any) -> None:
    foreign = my_member_id(other_owner)
    assert codes(owner.execute(UPDATE_ROLE, {"input": {"id": foreign, "role": "VIEWER"}})) == ["NOT_FOUND"]
    assert codes(owner.execute(REMOVE_MEMBER, {"input": {"id": foreign}})) == ["NOT_FOUND"]
    assert codes(owner.execute(NODE, {"id": foreign})) == ["NOT_FOUND"]
    assert other_owner.data(ME)["me"]["role"] == "OWNER"


def test_member_node(owner: Any, tenant: Any) -> None:
    member = my_member_id(owner)
    assert owner.data(NODE, {"id": member})["node"] == {"id": member, "email": tenant.owner_email}


# --- credentials follow membership changes -----------------------------------------------------


def test_removed_members_token_stops_working(owner: Any, tenant: Any) -> None:
    sales = add_member(owner, tenant, "sales")
    assert sales.data(ME)["me"]["role"] == "SALES"  # the credential is now cached
    owner.data(REMOVE_MEMBER, {"input": {"id": my_member_id(sales)}})
    assert auth_error_code(sales, ME) == "UNAUTHENTICATED"
    assert auth_error_code(sales, CUSTOMERS, {"first": 1}) == "UNAUTHENTICATED"
    # removing twice: the member is not there any more
    assert codes(owner.execute(REMOVE_MEMBER, {"input": {"id": raw_member(sales, owner)}})) == ["NOT_FOUND"]


def raw_member(client: Any, owner: Any) -> str:
    """The member id inside a (no longer working) token."""
    claims = jwt.decode(client.token, options={"verify_signature": False})
    return global_id("Member", claims["mid"])


def test_role_change_applies_at_once(owner: Any, tenant: Any) -> None:
    admin = add_member(owner, tenant, "admin")
    assert admin.data(CREATE_CUSTOMER, {"input": {"name": "While admin"}})["createCustomer"]["customer"]
    owner.data(UPDATE_ROLE, {"input": {"id": my_member_id(admin), "role": "VIEWER"}})
    assert codes(admin.execute(CREATE_CUSTOMER, {"input": {"name": "After demotion"}})) == ["FORBIDDEN"]
    assert admin.data(ME)["me"]["role"] == "VIEWER"


def test_old_token_stays_dead_after_the_member_is_re_added(owner: Any, tenant: Any) -> None:
    sales = add_member(owner, tenant, "sales")
    email = sales.data(ME)["me"]["email"]
    owner.data(REMOVE_MEMBER, {"input": {"id": my_member_id(sales)}})
    assert auth_error_code(sales, ME) == "UNAUTHENTICATED"
    assert accept(owner.as_token(None), invite(owner, email, "sales"))["member"]["active"]
    assert auth_error_code(sales, ME) == "UNAUTHENTICATED"


def test_re_added_member_can_log_in_again(owner: Any, tenant: Any, anonymous: Any) -> None:
    sales = add_member(owner, tenant, "sales")
    email = sales.data(ME)["me"]["email"]
    owner.data(REMOVE_MEMBER, {"input": {"id": my_member_id(sales)}})
    readded = accept(owner.as_token(None), invite(owner, email, "viewer"))
    assert readded["userErrors"] == [] and readded["member"]["role"] == "VIEWER" and readded["member"]["active"]
    assert readded["member"]["id"] == my_member_id(sales.as_token(readded["token"]))  # the same membership again
    assert login(anonymous, email, TEST_PASSWORD, tenant.slug).data(ME)["me"]["role"] == "VIEWER"
    assert raw_id(readded["member"]["id"])
