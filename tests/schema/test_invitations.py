"""Invitations: adding someone reveals nothing about other tenants, and only they can accept."""

from __future__ import annotations

import secrets
import threading
from typing import Any

import pytest
from sqlalchemy import select, text

from saas.accounts.models import User
from saas.runtime import Runtime
from saas.tenancy.session import tenant_session
from tests.conftest import TEST_PASSWORD, TenantHandle, accept, add_member, invite, login
from tests.schema.helpers import (
    ACCEPT_INVITATION,
    ADD_MEMBER,
    CREATE_API_KEY,
    INVITATIONS,
    ME,
    MEMBERS,
    NODE,
    REVOKE_INVITATION,
    codes,
    count_rows,
    user_errors,
)

INVITATION_NODE = "query($id: ID!) { node(id: $id) { id ... on Invitation { email state } } }"


def _new_email(tenant: TenantHandle) -> str:
    return f"new-{secrets.token_hex(3)}@{tenant.slug}.example.com"


def _accept(client: Any, token: str, **fields: Any) -> dict[str, Any]:
    return client.execute(ACCEPT_INVITATION, {"input": {"token": token, **fields}})


def _errors(result: dict[str, Any], field: str = "acceptInvitation") -> list[tuple[list[str], str]]:
    return [(e["field"], e["code"]) for e in user_errors(result, field)]


def _user(runtime: Runtime, email: str) -> User | None:
    with tenant_session(runtime.engine, None) as session:
        return session.scalar(select(User).where(User.email == email))


def test_adding_a_user_of_another_tenant_answers_exactly_as_for_a_new_address(
    owner: Any, other_tenant: TenantHandle, tenant: TenantHandle, anonymous: Any, counts: Any
) -> None:
    before = counts()

    def add(email: str) -> dict[str, Any]:
        payload = owner.data(ADD_MEMBER, {"input": {"email": email, "role": "SALES"}})["addMember"]
        assert payload["invitationToken"].startswith("inv_")
        invitation = dict(payload["invitation"])
        assert invitation.pop("email") == email and invitation.pop("id")
        return {**payload, "invitation": invitation, "invitationToken": "<token>"}

    existing, new = add(other_tenant.owner_email), add(_new_email(tenant))
    assert existing == new
    assert existing["invitation"] == {"name": None, "role": "SALES", "state": "PENDING"}
    # nobody joined: the other tenant's user cannot log in here until they accept
    assert counts()["memberships"] == before["memberships"]
    assert codes(anonymous.execute(MEMBERS)) == ["UNAUTHENTICATED"]
    result = anonymous.execute(
        "mutation($i: LoginInput!) { login(input: $i) { token userErrors { code } } }",
        {"i": {"email": other_tenant.owner_email, "password": TEST_PASSWORD, "tenant": tenant.slug}},
    )
    assert result["data"]["login"]["userErrors"] == [{"code": "INVALID_CREDENTIALS"}]


def test_a_user_of_another_tenant_joins_by_accepting_signed_in_as_themselves(
    owner: Any, other_owner: Any, tenant: TenantHandle, other_tenant: TenantHandle, anonymous: Any
) -> None:
    token = invite(owner, other_tenant.owner_email, "manager")
    accepted = accept(other_owner, token, password=None)
    assert accepted["userErrors"] == []
    assert (accepted["member"]["email"], accepted["member"]["role"]) == (other_tenant.owner_email, "MANAGER")
    here = other_owner.as_token(accepted["token"]).data(ME)["me"]
    assert (here["tenant"]["slug"], here["role"]) == (tenant.slug, "MANAGER")
    # their own login works for both tenants, with their own password
    assert login(anonymous, other_tenant.owner_email, TEST_PASSWORD, tenant.slug).data(ME)["me"]["role"] == "MANAGER"
    assert other_owner.data(ME)["me"]["role"] == "OWNER"
    assert [i["state"] for i in owner.data(INVITATIONS, {"state": "ACCEPTED"})["invitations"]] == ["ACCEPTED"]
    assert owner.data(INVITATIONS)["invitations"] == []


def test_without_a_credential_an_existing_account_accepts_with_its_own_password(
    owner: Any, tenant: TenantHandle, other_tenant: TenantHandle, anonymous: Any, runtime: Runtime, counts: Any
) -> None:
    token = invite(owner, other_tenant.owner_email, "sales")
    before = counts()
    wrong = _accept(anonymous, token, password="not the password", name="Renamed")
    assert _errors(wrong) == [(["input"], "INVALID_CREDENTIALS")]
    assert counts() == before
    accepted = accept(anonymous, token, password=TEST_PASSWORD)
    assert accepted["member"]["role"] == "SALES"
    user = _user(runtime, other_tenant.owner_email)
    assert user is not None and user.name == ""  # the invitee's account is not renamed by anyone


def test_a_new_address_accepts_by_choosing_its_password(
    owner: Any, tenant: TenantHandle, anonymous: Any, counts: Any
) -> None:
    email = _new_email(tenant)
    token = owner.data(ADD_MEMBER, {"input": {"email": email, "role": "SERVICE", "name": "Sam Service"}})["addMember"][
        "invitationToken"
    ]
    before = counts()
    assert _errors(_accept(anonymous, token)) == [(["input", "password"], "REQUIRED")]
    assert _errors(_accept(anonymous, token, password="short")) == [(["input", "password"], "TOO_SHORT")]
    assert counts() == before
    accepted = accept(anonymous, token, password="my own long password")
    assert (accepted["member"]["name"], accepted["member"]["role"]) == ("Sam Service", "SERVICE")
    assert login(anonymous, email, "my own long password", tenant.slug).data(ME)["me"]["email"] == email


def test_another_user_cannot_accept_with_the_token(
    owner: Any, other_owner: Any, tenant: TenantHandle, counts: Any
) -> None:
    token = invite(owner, _new_email(tenant), "admin")
    before = counts()
    assert _errors(_accept(other_owner, token)) == [(["input", "token"], "INVALID")]
    assert counts() == before


def test_an_api_key_cannot_accept(owner: Any, tenant: TenantHandle) -> None:
    token = invite(owner, _new_email(tenant), "viewer")
    key = owner.data(CREATE_API_KEY, {"input": {"name": "k", "scopes": ["members:manage"]}})["createApiKey"]
    assert codes(_accept(owner.as_token(key["secret"]), token)) == ["FORBIDDEN"]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"),  # wrong secret
        lambda token: "inv_" + "0" * 32 + token[36:],  # another tenant's id
        lambda token: "inv_garbage",
        lambda token: "crm_" + token[4:],  # not an invitation
    ],
    ids=["secret", "tenant", "garbage", "prefix"],
)
def test_a_tampered_token_is_not_valid(owner: Any, tenant: TenantHandle, anonymous: Any, counts: Any, tamper) -> None:
    token = invite(owner, _new_email(tenant), "viewer")
    before = counts()
    result = _accept(anonymous, tamper(token), password=TEST_PASSWORD)
    assert _errors(result) == [(["input", "token"], "INVALID")]
    assert counts() == before


def test_an_invitation_is_accepted_once(owner: Any, tenant: TenantHandle, anonymous: Any) -> None:
    token = invite(owner, _new_email(tenant), "viewer")
    assert accept(anonymous, token)["member"]
    assert _errors(_accept(anonymous, token, password=TEST_PASSWORD)) == [(["input", "token"], "INVALID")]


def test_concurrent_acceptances_make_one_membership(
    owner: Any, tenant: TenantHandle, anonymous: Any, runtime: Runtime
) -> None:
    token = invite(owner, other_email := _new_email(tenant), "viewer")
    start, answers = threading.Barrier(4), []

    def attempt() -> None:
        start.wait()
        answers.append(_accept(anonymous, token, password=TEST_PASSWORD))

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(bool(a["data"]["acceptInvitation"]["member"]) for a in answers) == [False, False, False, True]
    assert (
        count_rows(
            runtime, tenant.id, "memberships m", "m.user_id = (SELECT id FROM users WHERE email = :e)", e=other_email
        )
        == 1
    )


def test_invitations_of_two_tenants_accepted_at_once_make_one_account(
    owner: Any, other_owner: Any, tenant: TenantHandle, other_tenant: TenantHandle, anonymous: Any, runtime: Runtime
) -> None:
    """A new address invited by two tenants, both accepted at the same moment: the second
    acceptance waits for the first one's account and signs in with it, no unique-index failure."""
    email = _new_email(tenant)
    tokens = [invite(owner, email, "viewer"), invite(other_owner, email, "sales")]
    start, answers = threading.Barrier(2), []

    def attempt(token: str) -> None:
        start.wait()
        answers.append(_accept(anonymous, token, password=TEST_PASSWORD, name="Pat"))

    threads = [threading.Thread(target=attempt, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [a.get("errors") for a in answers] == [None, None], answers
    assert all(a["data"]["acceptInvitation"]["member"] for a in answers), answers
    for handle in (tenant, other_tenant):
        where = "m.user_id = (SELECT id FROM users WHERE lower(email) = lower(:e))"
        assert count_rows(runtime, handle.id, "memberships m", where, e=email) == 1


def test_a_revoked_invitation_cannot_be_accepted(owner: Any, tenant: TenantHandle, anonymous: Any) -> None:
    email = _new_email(tenant)
    invited = owner.data(ADD_MEMBER, {"input": {"email": email, "role": "SALES"}})["addMember"]
    revoked = owner.data(REVOKE_INVITATION, {"input": {"id": invited["invitation"]["id"]}})["revokeInvitation"]
    assert revoked["invitation"]["state"] == "REVOKED" and revoked["invitation"]["revokedAt"]
    assert _errors(_accept(anonymous, invited["invitationToken"], password=TEST_PASSWORD)) == [
        (["input", "token"], "INVALID")
    ]
    again = owner.execute(REVOKE_INVITATION, {"input": {"id": invited["invitation"]["id"]}})
    assert _errors(again, "revokeInvitation") == [(["input", "id"], "INVALID")]
    assert [i["email"] for i in owner.data(INVITATIONS, {"state": "REVOKED"})["invitations"]] == [email]
    assert owner.data(INVITATIONS)["invitations"] == []


def test_an_expired_invitation_cannot_be_accepted(
    owner: Any, tenant: TenantHandle, anonymous: Any, runtime: Runtime
) -> None:
    invited = owner.data(ADD_MEMBER, {"input": {"email": _new_email(tenant), "role": "SALES"}})["addMember"]
    with tenant_session(runtime.engine, tenant.id) as session:
        session.execute(text("UPDATE invitations SET expires_at = now() - interval '1 second'"))
    assert _errors(_accept(anonymous, invited["invitationToken"], password=TEST_PASSWORD)) == [
        (["input", "token"], "EXPIRED")
    ]
    assert owner.data(INVITATIONS)["invitations"] == []
    assert [i["state"] for i in owner.data(INVITATIONS, {"state": "EXPIRED"})["invitations"]] == ["EXPIRED"]


def test_inviting_again_replaces_the_open_invitation(owner: Any, tenant: TenantHandle, anonymous: Any) -> None:
    email = _new_email(tenant)
    first, second = invite(owner, email, "sales"), invite(owner, email.upper(), "manager")
    assert _errors(_accept(anonymous, first, password=TEST_PASSWORD)) == [(["input", "token"], "INVALID")]
    [pending] = owner.data(INVITATIONS)["invitations"]
    assert pending["role"] == "MANAGER" and pending["invitedBy"]["id"]
    assert accept(anonymous, second)["member"]["role"] == "MANAGER"


def test_an_active_member_is_taken(owner: Any, tenant: TenantHandle, anonymous: Any, counts: Any) -> None:
    member = add_member(owner, tenant, "sales")
    email = member.data(ME)["me"]["email"]
    before = counts()
    result = owner.execute(ADD_MEMBER, {"input": {"email": email, "role": "VIEWER"}})
    assert _errors(result, "addMember") == [(["input", "email"], "TAKEN")]
    assert counts() == before


@pytest.mark.parametrize("role", ["manager", "sales", "service", "viewer"])
def test_only_owners_and_admins_invite_list_and_revoke(owner: Any, tenant: TenantHandle, role: str) -> None:
    client = add_member(owner, tenant, role)
    invited = owner.data(ADD_MEMBER, {"input": {"email": _new_email(tenant), "role": "SALES"}})["addMember"]
    assert codes(client.execute(ADD_MEMBER, {"input": {"email": _new_email(tenant), "role": "SALES"}})) == ["FORBIDDEN"]
    assert codes(client.execute(INVITATIONS)) == ["FORBIDDEN"]
    assert codes(client.execute(REVOKE_INVITATION, {"input": {"id": invited["invitation"]["id"]}})) == ["FORBIDDEN"]
    assert codes(client.execute(INVITATION_NODE, {"id": invited["invitation"]["id"]})) == ["FORBIDDEN"]


def test_invitations_of_another_tenant_are_not_found(
    owner: Any, other_owner: Any, tenant: TenantHandle, other_tenant: TenantHandle, runtime: Runtime
) -> None:
    invited = owner.data(ADD_MEMBER, {"input": {"email": _new_email(tenant), "role": "SALES"}})["addMember"]
    foreign = invited["invitation"]["id"]
    assert codes(other_owner.execute(REVOKE_INVITATION, {"input": {"id": foreign}})) == ["NOT_FOUND"]
    assert codes(other_owner.execute(INVITATION_NODE, {"id": foreign})) == ["NOT_FOUND"]
    assert codes(other_owner.execute(NODE, {"id": foreign})) == ["NOT_FOUND"]
    assert other_owner.data(INVITATIONS)["invitations"] == []
    assert owner.data(INVITATION_NODE, {"id": foreign})["node"]["state"] == "PENDING"
    # row-level security alone (plain SQL as the application role) hides them too
    with tenant_session(runtime.engine, other_tenant.id) as session:
        assert session.execute(text("SELECT count(*) FROM invitations")).scalar() == 0
    with tenant_session(runtime.engine, tenant.id) as session:
        assert session.execute(text("SELECT count(*) FROM invitations")).scalar() == 1


def test_each_change_is_audited_and_emits_an_event(
    owner: Any, tenant: TenantHandle, anonymous: Any, runtime: Runtime
) -> None:
    email = _new_email(tenant)
    invited = owner.data(ADD_MEMBER, {"input": {"email": email, "role": "SALES"}})["addMember"]
    owner.data(REVOKE_INVITATION, {"input": {"id": invited["invitation"]["id"]}})
    accept(anonymous, invite(owner, email, "sales"))
    expected = ["invitation.created", "invitation.revoked", "invitation.created", "member.added", "invitation.accepted"]
    with tenant_session(runtime.engine, tenant.id) as session:
        audited = list(session.execute(text("SELECT action, actor_label FROM audit_log ORDER BY id")))
        events = list(session.scalars(text("SELECT type FROM outbox_events ORDER BY seq")))
    assert [a.action for a in audited][-5:] == expected
    assert [a.actor_label for a in audited][-2:] == [email, email]
    assert events[-5:] == expected
    assert all("secret_hash" not in str(row) for row in audited)
