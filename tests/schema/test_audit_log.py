"""The audit log: every change of customer data, who made it, before and after, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.conftest import add_member
from tests.schema.helpers import (
    AUDIT_LOG,
    CREATE_API_KEY,
    CREATE_CUSTOMER,
    DELETE_CONTACT,
    DELETE_CUSTOMER,
    ME,
    RESTORE_CUSTOMER,
    REVOKE_API_KEY,
    UPDATE_CONTACT,
    UPDATE_CUSTOMER,
    UPDATE_MEMBER_ROLE,
    codes,
    create_contact,
    create_customer,
    cursor_of,
    global_id,
    my_member_id,
    raw_id,
)


def entries(client: Any, **variables: Any) -> list[dict[str, Any]]:
    return [e["node"] for e in client.data(AUDIT_LOG, {"first": 100, **variables})["auditLog"]["edges"]]


def test_customer_lifecycle_is_logged(owner: Any, tenant: Any) -> None:
    customer = create_customer(owner, name="Old name", tier="gold")
    owner.data(UPDATE_CUSTOMER, {"input": {"id": customer["id"], "version": 1, "name": "New name"}})
    owner.data(DELETE_CUSTOMER, {"input": {"id": customer["id"], "version": 2}})
    owner.data(RESTORE_CUSTOMER, {"input": {"id": customer["id"]}})
    log = entries(owner)
    assert [e["action"] for e in log] == [
        "customer.restored",
        "customer.deleted",
        "customer.updated",
        "customer.created",
    ]
    for entry in log:
        assert entry["entityType"] == "Customer"
        assert entry["entityId"] == customer["id"]
        assert entry["actor"] == tenant.owner_email
    restored, deleted, updated, created = log
    assert created["before"] is None
    assert (
        created["after"]["name"] == "Old name"
        and created["after"]["tier"] == "gold"
        and created["after"]["version"] == 1
    )
    assert created["after"]["id"] == str(raw_id(customer["id"]))
    assert "tenant_id" not in created["after"]
    assert (updated["before"]["name"], updated["after"]["name"]) == ("Old name", "New name")
    assert (updated["before"]["version"], updated["after"]["version"]) == (1, 2)
    assert updated["after"]["tier"] == "gold"
    assert deleted["before"]["deleted_at"] is None and deleted["after"]["deleted_at"] is not None
    assert restored["before"]["deleted_at"] is not None and restored["after"]["deleted_at"] is None
    times = [datetime.fromisoformat(e["createdAt"]) for e in log]
    assert times == sorted(times, reverse=True)


def test_contact_changes_are_logged(owner: Any, tenant: Any) -> None:
    customer = create_customer(owner, name="With contacts")
    contact = create_contact(owner, customer["id"], name="Jane", email="jane@example.com")
    owner.data(
        UPDATE_CONTACT,
        {"input": {"id": contact["id"], "version": 1, "email": "JANE@Example.com", "phone": "+44 20 7946 0958"}},
    )
    owner.data(DELETE_CONTACT, {"input": {"id": contact["id"]}})
    log = entries(owner, entityId=contact["id"])
    assert [e["action"] for e in log] == ["contact.deleted", "contact.updated", "contact.created"]
    assert all(
        e["entityType"] == "Contact" and e["entityId"] == contact["id"] and e["actor"] == tenant.owner_email
        for e in log
    )
    deleted, updated, created = log
    assert created["before"] is None and created["after"]["email"] == "jane@example.com"
    assert created["after"]["customer_id"] == str(raw_id(customer["id"]))
    assert (updated["before"]["email"], updated["after"]["email"]) == ("jane@example.com", "JANE@example.com")
    assert (updated["before"]["phone"], updated["after"]["phone"]) == (None, "+442079460958")
    assert deleted["after"]["deleted_at"] is not None and deleted["after"]["is_primary"] is False


def test_actor_is_the_member_who_made_the_change(owner: Any, tenant: Any) -> None:
    sales = add_member(owner, tenant, "sales")
    email = sales.data("{ me { email } }")["me"]["email"]
    customer = create_customer(sales, name="By the rep")
    log = entries(owner, entityId=customer["id"])
    assert [(e["action"], e["actor"]) for e in log] == [("customer.created", email)]


def test_refused_changes_are_not_logged(owner: Any, tenant: Any) -> None:
    customer = create_customer(owner, name="Only once")
    owner.execute(CREATE_CUSTOMER, {"input": {"name": ""}})
    owner.execute(UPDATE_CUSTOMER, {"input": {"id": customer["id"], "version": 9, "name": "conflict"}})
    owner.execute(UPDATE_CUSTOMER, {"input": {"id": customer["id"], "version": 1, "name": "x" * 300}})
    add_member(owner, tenant, "viewer").execute(DELETE_CUSTOMER, {"input": {"id": customer["id"]}})
    assert [e["action"] for e in entries(owner, entityId=customer["id"])] == ["customer.created"]


def test_entity_filter(owner: Any) -> None:
    first = create_customer(owner, name="First")
    second = create_customer(owner, name="Second")
    owner.data(UPDATE_CUSTOMER, {"input": {"id": first["id"], "version": 1, "tier": "a"}})
    owner.data(UPDATE_CUSTOMER, {"input": {"id": second["id"], "version": 1, "tier": "b"}})
    contact = create_contact(owner, first["id"])
    assert [e["action"] for e in entries(owner, entityId=first["id"])] == ["customer.updated", "customer.created"]
    assert [e["action"] for e in entries(owner, entityId=second["id"])] == ["customer.updated", "customer.created"]
    assert [e["action"] for e in entries(owner, entityId=contact["id"])] == ["contact.created"]
    # the same uuid under another type is another entity
    assert entries(owner, entityId=global_id("Contact", raw_id(first["id"]))) == []
    assert len(entries(owner)) == 5


def test_entity_filter_with_a_garbage_id_is_not_found(owner: Any) -> None:
    assert codes(owner.execute(AUDIT_LOG, {"entityId": "garbage"})) == ["NOT_FOUND"]


def test_log_is_per_tenant(owner: Any, other_owner: Any) -> None:
    theirs = create_customer(other_owner, name="Theirs")
    create_customer(owner, name="Mine")
    assert [e["after"]["name"] for e in entries(owner)] == ["Mine"]
    assert entries(owner, entityId=theirs["id"]) == []
    assert [e["after"]["name"] for e in entries(other_owner)] == ["Theirs"]


@pytest.mark.parametrize("first", [1, 3, 7])
def test_paging_newest_first(owner: Any, first: int) -> None:
    for index in range(10):
        create_customer(owner, name=f"Audit {index:02d}")
    seen: list[dict[str, Any]] = []
    after = None
    while True:
        page = owner.data(AUDIT_LOG, {"first": first, "after": after})["auditLog"]
        edges, info = page["edges"], page["pageInfo"]
        assert info["hasPreviousPage"] is (after is not None)
        assert len(edges) <= first
        if edges:
            assert (info["startCursor"], info["endCursor"]) == (edges[0]["cursor"], edges[-1]["cursor"])
        seen.extend(e["node"] for e in edges)
        if not info["hasNextPage"]:
            break
        assert len(edges) == first
        after = info["endCursor"]
    assert [e["after"]["name"] for e in seen] == [f"Audit {index:02d}" for index in reversed(range(10))]
    assert len({e["id"] for e in seen}) == 10


def test_paging_limits(owner: Any) -> None:
    create_customer(owner, name="x")
    assert codes(owner.execute(AUDIT_LOG, {"first": 101})) == ["BAD_USER_INPUT"]
    assert codes(owner.execute(AUDIT_LOG, {"first": -1})) == ["BAD_USER_INPUT"]
    assert codes(owner.execute(AUDIT_LOG, {"after": "garbage!"})) == ["BAD_USER_INPUT"]
    assert codes(owner.execute(AUDIT_LOG, {"after": cursor_of([1, 2])})) == ["BAD_USER_INPUT"]
    empty = owner.data(AUDIT_LOG, {"first": 0})["auditLog"]
    assert empty["edges"] == [] and empty["pageInfo"]["hasNextPage"] is True


@pytest.mark.parametrize("values", [["x"], [None], [{"a": 1}]], ids=["string", "null", "object"])
def test_cursor_with_a_non_number_is_bad_user_input(owner: Any, values: list[Any]) -> None:
    assert codes(owner.execute(AUDIT_LOG, {"after": cursor_of(values)})) == ["BAD_USER_INPUT"]


def test_member_and_api_key_changes_are_logged(owner: Any, tenant: Any) -> None:
    sales = add_member(owner, tenant, "sales")
    owner.data(UPDATE_MEMBER_ROLE, {"input": {"id": my_member_id(sales), "role": "VIEWER"}})
    key = owner.data(CREATE_API_KEY, {"input": {"name": "k", "scopes": ["customers:read"]}})["createApiKey"]["apiKey"]
    owner.data(REVOKE_API_KEY, {"input": {"id": key["id"]}})
    log = entries(owner)
    assert [e["action"] for e in log] == [
        "api_key.revoked",
        "api_key.created",
        "member.role_changed",
        "invitation.accepted",
        "member.added",
        "invitation.created",
    ]
    invitee = sales.data(ME)["me"]["email"]
    assert [e["actor"] for e in log] == [tenant.owner_email] * 3 + [invitee, invitee, tenant.owner_email]
    role_changed = log[2]
    assert (role_changed["before"]["role"], role_changed["after"]["role"]) == ("sales", "viewer")
    assert [e["action"] for e in entries(owner, entityId=key["id"])] == ["api_key.revoked", "api_key.created"]


def test_member_changes_are_found_by_the_member_id(owner: Any, tenant: Any) -> None:
    member = my_member_id(add_member(owner, tenant, "sales"))
    owner.data(UPDATE_MEMBER_ROLE, {"input": {"id": member, "role": "VIEWER"}})
    log = entries(owner, entityId=member)
    assert [e["action"] for e in log] == ["member.role_changed", "member.added"]
    assert {e["entityId"] for e in log} == {member}
