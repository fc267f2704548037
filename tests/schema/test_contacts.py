"""Contacts: e-mail and phone checks and normalisation, primary contact, versions, visibility."""

from __future__ import annotations

from typing import Any

import pytest

from tests.schema.helpers import (
    CONTACT,
    CREATE_CONTACT,
    CUSTOMER,
    DELETE_CONTACT,
    DELETE_CUSTOMER,
    NODE,
    UPDATE_CONTACT,
    codes,
    create_contact,
    create_customer,
    global_id,
    raw_id,
    user_errors,
)


@pytest.fixture
def customer(owner: Any) -> dict[str, Any]:
    return create_customer(owner, name="Contacts Inc")


def refused(client: Any, counts: Any, input_: dict[str, Any]) -> list[dict[str, Any]]:
    before = counts()
    result = client.execute(CREATE_CONTACT, {"input": input_})
    errors = user_errors(result, "createContact")
    assert result["data"]["createContact"]["contact"] is None
    assert counts() == before
    return [(e["field"], e["code"]) for e in errors]


@pytest.mark.parametrize(
    "email", ["not-an-email", "a@", "@example.com", "a b@example.com", "a@@example.com", "jane@example..com"]
)
def test_invalid_email_is_refused(owner: Any, customer: dict[str, Any], counts: Any, email: str) -> None:
    assert refused(owner, counts, {"customerId": customer["id"], "name": "X", "email": email}) == [
        (["input", "email"], "INVALID_EMAIL")
    ]


@pytest.mark.parametrize(
    ("email", "stored"),
    [
        ("Jane.Doe@Example.COM", "Jane.Doe@example.com"),
        ("  jane@example.com  ", "jane@example.com"),
        ("jane@bücher.example", "jane@bücher.example"),
    ],
)
def test_email_is_normalised(owner: Any, customer: dict[str, Any], email: str, stored: str) -> None:
    contact = create_contact(owner, customer["id"], email=email)
    assert contact["email"] == stored
    assert owner.data(CONTACT, {"id": contact["id"]})["contact"]["email"] == stored


@pytest.mark.parametrize(
    "phone", ["12345", "020 7946 0958", "+44 20", "call me", "+999 123 456 789", "+1 415 555 26711111"]
)
def test_invalid_phone_is_refused(owner: Any, customer: dict[str, Any], counts: Any, phone: str) -> None:
    assert refused(owner, counts, {"customerId": customer["id"], "name": "X", "phone": phone}) == [
        (["input", "phone"], "INVALID_PHONE")
    ]


@pytest.mark.parametrize(
    ("phone", "e164"),
    [
        ("+44 20 7946 0958", "+442079460958"),
        ("+44 (0)20 7946-0958", "+442079460958"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("  +49 30 901820  ", "+4930901820"),
    ],
)
def test_phone_is_normalised_to_e164(owner: Any, customer: dict[str, Any], phone: str, e164: str) -> None:
    contact = create_contact(owner, customer["id"], phone=phone)
    assert contact["phone"] == e164
    assert owner.data(CONTACT, {"id": contact["id"]})["contact"]["phone"] == e164


def test_email_and_phone_errors_are_reported_together(owner: Any, customer: dict[str, Any], counts: Any) -> None:
    errors = refused(
        owner, counts, {"customerId": customer["id"], "name": " ", "email": "nope", "phone": "nope", "title": "t" * 101}
    )
    assert sorted(errors) == sorted(
        [
            (["input", "name"], "REQUIRED"),
            (["input", "email"], "INVALID_EMAIL"),
            (["input", "phone"], "INVALID_PHONE"),
            (["input", "title"], "TOO_LONG"),
        ]
    )


def test_empty_email_and_phone_mean_none(owner: Any, customer: dict[str, Any]) -> None:
    contact = create_contact(owner, customer["id"], email="  ", phone="")
    assert (contact["email"], contact["phone"]) == (None, None)


def test_contact_on_unknown_or_foreign_customer_is_not_found(owner: Any, other_owner: Any, counts: Any) -> None:
    foreign = create_customer(other_owner, name="Theirs")
    before = counts()
    for customer_id in (foreign["id"], "garbage", global_id("Customer", "00000000-0000-0000-0000-000000000001")):
        result = owner.execute(CREATE_CONTACT, {"input": {"customerId": customer_id, "name": "X"}})
        assert codes(result) == ["NOT_FOUND"], result
    assert counts() == before
    assert other_owner.data(CUSTOMER, {"id": foreign["id"]})["customer"]["contacts"] == []


def test_contact_on_deleted_customer_is_not_found(owner: Any, customer: dict[str, Any]) -> None:
    owner.data(DELETE_CUSTOMER, {"input": {"id": customer["id"]}})
    assert codes(owner.execute(CREATE_CONTACT, {"input": {"customerId": customer["id"], "name": "X"}})) == ["NOT_FOUND"]


def test_first_contact_is_primary_and_a_new_primary_replaces_it(owner: Any, customer: dict[str, Any]) -> None:
    first = create_contact(owner, customer["id"], name="Zed First")
    second = create_contact(owner, customer["id"], name="Amy Second")
    assert (first["isPrimary"], second["isPrimary"]) == (True, False)
    assert first["customer"] == {"id": customer["id"], "name": "Contacts Inc"}
    third = create_contact(owner, customer["id"], name="Bob Third", isPrimary=True)
    assert third["isPrimary"] is True
    contacts = owner.data(CUSTOMER, {"id": customer["id"]})["customer"]["contacts"]
    # the primary first, then by name
    assert [(c["name"], c["isPrimary"]) for c in contacts] == [
        ("Bob Third", True),
        ("Amy Second", False),
        ("Zed First", False),
    ]
    demoted = next(c for c in contacts if c["id"] == first["id"])
    assert demoted["version"] == 2  # losing primary is a change of the row


def test_update_contact(owner: Any, customer: dict[str, Any]) -> None:
    contact = create_contact(owner, customer["id"], email="a@example.com")
    payload = owner.data(
        UPDATE_CONTACT, {"input": {"id": contact["id"], "version": 1, "phone": "+44 20 7946 0958", "title": "CTO"}}
    )
    updated = payload["updateContact"]["contact"]
    assert (updated["phone"], updated["title"], updated["email"], updated["version"]) == (
        "+442079460958",
        "CTO",
        "a@example.com",
        2,
    )


def test_update_contact_with_stale_version_is_conflict(owner: Any, customer: dict[str, Any], counts: Any) -> None:
    contact = create_contact(owner, customer["id"], name="Original")
    owner.data(UPDATE_CONTACT, {"input": {"id": contact["id"], "version": 1, "title": "x"}})
    before = counts()
    assert codes(owner.execute(UPDATE_CONTACT, {"input": {"id": contact["id"], "version": 1, "name": "Lost"}})) == [
        "CONFLICT"
    ]
    assert counts() == before
    assert owner.data(CONTACT, {"id": contact["id"]})["contact"]["name"] == "Original"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"email": "bad"}, (["input", "email"], "INVALID_EMAIL")),
        ({"phone": "bad"}, (["input", "phone"], "INVALID_PHONE")),
        ({"name": ""}, (["input", "name"], "REQUIRED")),
        ({"isPrimary": False}, (["input", "isPrimary"], "INVALID")),
    ],
)
def test_update_contact_bad_input_changes_nothing(
    owner: Any, customer: dict[str, Any], counts: Any, change: dict[str, Any], expected: tuple[list[str], str]
) -> None:
    contact = create_contact(owner, customer["id"], name="Keep", email="keep@example.com")
    assert contact["isPrimary"] is True
    before = counts()
    result = owner.execute(UPDATE_CONTACT, {"input": {"id": contact["id"], "version": 1, **change}})
    assert [(e["field"], e["code"]) for e in user_errors(result, "updateContact")] == [expected]
    assert counts() == before
    fresh = owner.data(CONTACT, {"id": contact["id"]})["contact"]
    assert (fresh["name"], fresh["email"], fresh["isPrimary"], fresh["version"]) == (
        "Keep",
        "keep@example.com",
        True,
        1,
    )


def test_delete_contact(owner: Any, customer: dict[str, Any], counts: Any) -> None:
    contact = create_contact(owner, customer["id"])
    before = counts()
    assert codes(owner.execute(DELETE_CONTACT, {"input": {"id": contact["id"], "version": 7}})) == ["CONFLICT"]
    assert counts() == before
    deleted = owner.data(DELETE_CONTACT, {"input": {"id": contact["id"], "version": 1}})["deleteContact"]
    assert deleted["userErrors"] == []
    assert codes(owner.execute(CONTACT, {"id": contact["id"]})) == ["NOT_FOUND"]
    assert codes(owner.execute(NODE, {"id": contact["id"]})) == ["NOT_FOUND"]
    assert owner.data(CUSTOMER, {"id": customer["id"]})["customer"]["contacts"] == []
    assert codes(owner.execute(DELETE_CONTACT, {"input": {"id": contact["id"]}})) == ["NOT_FOUND"]
    # a new contact may become primary again
    assert create_contact(owner, customer["id"], name="Next")["isPrimary"] is True


def test_contacts_of_another_tenant_are_not_found(owner: Any, other_owner: Any) -> None:
    theirs = create_customer(other_owner, name="Theirs")
    contact = create_contact(other_owner, theirs["id"])
    assert codes(owner.execute(CONTACT, {"id": contact["id"]})) == ["NOT_FOUND"]
    assert codes(owner.execute(NODE, {"id": contact["id"]})) == ["NOT_FOUND"]
    assert codes(owner.execute(UPDATE_CONTACT, {"input": {"id": contact["id"], "version": 1, "name": "x"}})) == [
        "NOT_FOUND"
    ]
    assert codes(owner.execute(DELETE_CONTACT, {"input": {"id": contact["id"]}})) == ["NOT_FOUND"]
    assert other_owner.data(CONTACT, {"id": contact["id"]})["contact"]["name"] == "Jane Doe"


def test_contact_id_of_another_type_is_not_found(owner: Any, customer: dict[str, Any]) -> None:
    contact = create_contact(owner, customer["id"])
    as_customer = global_id("Customer", raw_id(contact["id"]))
    assert codes(owner.execute(CONTACT, {"id": as_customer})) == ["NOT_FOUND"]
    assert codes(owner.execute(CONTACT, {"id": customer["id"]})) == ["NOT_FOUND"]


def test_contact_query_and_node(owner: Any, customer: dict[str, Any]) -> None:
    contact = create_contact(owner, customer["id"], name="Node Person", email="n@example.com")
    fetched = owner.data(CONTACT, {"id": contact["id"]})["contact"]
    assert fetched["customer"] == {"id": customer["id"], "name": "Contacts Inc"}
    assert (fetched["name"], fetched["email"], fetched["isPrimary"]) == ("Node Person", "n@example.com", True)
    assert owner.data(NODE, {"id": contact["id"]})["node"] == {"id": contact["id"], "name": "Node Person"}


def test_contacts_of_a_deleted_customer_are_not_found(owner: Any, customer: dict[str, Any]) -> None:
    contact = create_contact(owner, customer["id"])
    owner.data(DELETE_CUSTOMER, {"input": {"id": customer["id"]}})
    assert codes(owner.execute(CONTACT, {"id": contact["id"]})) == ["NOT_FOUND"]
    assert codes(owner.execute(UPDATE_CONTACT, {"input": {"id": contact["id"], "version": 1, "name": "x"}})) == [
        "NOT_FOUND"
    ]
