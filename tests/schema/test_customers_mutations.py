"""Customer mutations: validation (nothing written on bad input), versions, soft delete and restore."""

from __future__ import annotations

import time
from typing import Any

import pytest

from saas.validation import MAX_JSON_DEPTH
from tests.conftest import add_member
from tests.schema.helpers import (
    CREATE_CUSTOMER,
    CUSTOMER,
    CUSTOMERS,
    DELETE_CUSTOMER,
    REMOVE_MEMBER,
    RESTORE_CUSTOMER,
    UPDATE_CUSTOMER,
    codes,
    create_customer,
    define_custom_fields,
    global_id,
    my_member_id,
    parse_time,
    raw_id,
    user_errors,
)


def refused(client: Any, counts: Any, input_: dict[str, Any]) -> list[dict[str, Any]]:
    """createCustomer's userErrors for `input_`, after checking that nothing was written."""
    before = counts()
    result = client.execute(CREATE_CUSTOMER, {"input": input_})
    errors = user_errors(result, "createCustomer")
    assert result["data"]["createCustomer"]["customer"] is None
    assert errors, result
    assert counts() == before
    return errors


def only_error(errors: list[dict[str, Any]]) -> tuple[list[str], str]:
    assert len(errors) == 1, errors
    return errors[0]["field"], errors[0]["code"]


# --- createCustomer: bad input ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", " ", "   \t  ", "\n\n"])
def test_create_with_empty_or_blank_name_is_required(owner: Any, counts: Any, name: str) -> None:
    assert only_error(refused(owner, counts, {"name": name})) == (["input", "name"], "REQUIRED")


def test_name_of_201_characters_is_too_long(owner: Any, counts: Any) -> None:
    errors = refused(owner, counts, {"name": "x" * 201})
    assert only_error(errors) == (["input", "name"], "TOO_LONG")
    assert "200" in errors[0]["message"]


@pytest.mark.parametrize("name", ["x" * 200, "é" * 200, "  " + "y" * 200 + "  "])
def test_name_of_exactly_200_characters_is_accepted(owner: Any, counts: Any, name: str) -> None:
    before = counts()
    customer = create_customer(owner, name=name)
    assert customer["name"] == name.strip()
    assert len(customer["name"]) == 200
    after = counts()
    assert after["customers"] == before["customers"] + 1
    assert after["audit_log"] == before["audit_log"] + 1


def test_name_whitespace_is_trimmed_and_collapsed(owner: Any) -> None:
    assert create_customer(owner, name="  Acme \t  Widgets   Ltd ")["name"] == "Acme Widgets Ltd"


@pytest.mark.parametrize(
    "literal",
    [
        "name: 12",
        'name: "x", lifecycleStage: NOPE',
        'name: "x", kind: ROBOT',
        'industry: "x"',
        'name: "x", tags: {a: 1}',
    ],
)
def test_wrong_types_in_the_document_are_validation_errors(owner: Any, counts: Any, literal: str) -> None:
    before = counts()
    result = owner.execute(f"mutation {{ createCustomer(input: {{{literal}}}) {{ customer {{ id }} }} }}")
    assert codes(result) == ["GRAPHQL_VALIDATION_FAILED"], result
    assert "data" not in result
    assert counts() == before


@pytest.mark.parametrize(
    "input_",
    [
        {"name": 12},
        {"name": None},
        {"name": "x", "lifecycleStage": "NOPE"},
        {"name": "x", "kind": "ROBOT"},
        {"industry": "no name"},
    ],
    ids=["number-for-name", "null-name", "unknown-stage", "unknown-kind", "missing-name"],
)
def test_wrong_types_in_variables_are_client_errors(owner: Any, counts: Any, input_: dict[str, Any]) -> None:
    before = counts()
    result = owner.execute(CREATE_CUSTOMER, {"input": input_})
    assert counts() == before
    assert codes(result) in (["BAD_USER_INPUT"], ["GRAPHQL_VALIDATION_FAILED"]), result


def test_garbage_owner_id_is_not_found_on_owner_id(owner: Any, counts: Any) -> None:
    assert only_error(refused(owner, counts, {"name": "x", "ownerId": "garbage!"})) == (
        ["input", "ownerId"],
        "NOT_FOUND",
    )


def test_owner_id_of_another_type_is_not_found(owner: Any, counts: Any) -> None:
    customer = create_customer(owner, name="Some customer")
    member = raw_id(my_member_id(owner))
    for wrong in (customer["id"], global_id("Contact", member), global_id("ApiKey", member)):
        assert only_error(refused(owner, counts, {"name": "x", "ownerId": wrong})) == (
            ["input", "ownerId"],
            "NOT_FOUND",
        )


def test_owner_id_of_another_tenants_member_is_not_found(owner: Any, other_owner: Any, counts: Any) -> None:
    foreign = my_member_id(other_owner)
    assert only_error(refused(owner, counts, {"name": "x", "ownerId": foreign})) == (["input", "ownerId"], "NOT_FOUND")


def test_owner_id_of_a_removed_member_is_not_found(owner: Any, tenant: Any, counts: Any) -> None:
    sales = add_member(owner, tenant, "sales")
    member = my_member_id(sales)
    owner.data(REMOVE_MEMBER, {"input": {"id": member}})
    assert only_error(refused(owner, counts, {"name": "x", "ownerId": member})) == (["input", "ownerId"], "NOT_FOUND")


def test_valid_owner_id_is_kept(owner: Any, tenant: Any) -> None:
    sales = add_member(owner, tenant, "sales")
    member = my_member_id(sales)
    customer = create_customer(owner, name="Owned", ownerId=member)
    assert customer["owner"]["id"] == member
    assert customer["owner"]["role"] == "SALES"


def test_twenty_one_tags_are_refused(owner: Any, counts: Any) -> None:
    tags = [f"tag{i}" for i in range(21)]
    assert only_error(refused(owner, counts, {"name": "x", "tags": tags})) == (["input", "tags"], "INVALID")


def test_twenty_tags_are_accepted_and_duplicates_do_not_count(owner: Any) -> None:
    tags = [f"Tag{i}" for i in range(20)] + ["tag0", "TAG1 ", ""]
    customer = create_customer(owner, name="x", tags=tags)
    assert customer["tags"] == [f"tag{i}" for i in range(20)]


def test_tag_of_51_characters_is_too_long(owner: Any, counts: Any) -> None:
    assert only_error(refused(owner, counts, {"name": "x", "tags": ["ok", "t" * 51]})) == (
        ["input", "tags"],
        "TOO_LONG",
    )


def test_tag_of_50_characters_is_accepted(owner: Any) -> None:
    assert create_customer(owner, name="x", tags=["t" * 50])["tags"] == ["t" * 50]


@pytest.mark.parametrize(
    ("input_", "field", "code"),
    [
        ({"name": "x", "tier": "t" * 21}, ["input", "tier"], "TOO_LONG"),
        ({"name": "x", "industry": "i" * 101}, ["input", "industry"], "TOO_LONG"),
        ({"name": "x", "source": "s" * 101}, ["input", "source"], "TOO_LONG"),
        ({"name": "x", "notes": "n" * 10_001}, ["input", "notes"], "TOO_LONG"),
        ({"name": "x", "customFields": [1, 2]}, ["input", "customFields"], "INVALID"),
        ({"name": "x", "customFields": "text"}, ["input", "customFields"], "INVALID"),
        ({"name": "x", "customFields": {"k": "v" * 20_001}}, ["input", "customFields"], "TOO_LONG"),
    ],
)
def test_other_fields_are_checked(owner: Any, counts: Any, input_: dict[str, Any], field: list[str], code: str) -> None:
    assert only_error(refused(owner, counts, input_)) == (field, code)


def test_every_problem_is_reported_at_once_with_camel_case_paths(owner: Any, counts: Any) -> None:
    errors = refused(owner, counts, {"name": " ", "tier": "t" * 21, "customFields": [1], "tags": ["t" * 51]})
    fields = sorted(tuple(e["field"]) for e in errors)
    assert fields == [("input", "customFields"), ("input", "name"), ("input", "tags"), ("input", "tier")]
    for error in errors:
        assert all("_" not in part for part in error["field"]), error
        assert error["message"]


def test_nul_character_in_name_is_refused_naming_the_field(owner: Any, counts: Any) -> None:
    """NUL is refused for every string input in one place (tests/schema/test_input_text.py)."""
    before = counts()
    result = owner.execute(CREATE_CUSTOMER, {"input": {"name": "Ac\x00me"}})
    assert counts() == before
    assert "data" not in result and codes(result) == ["BAD_USER_INPUT"], result
    assert result["errors"][0]["extensions"]["field"] == ["input", "name"]


def test_other_control_characters_in_name_are_a_user_error(owner: Any, counts: Any) -> None:
    errors = refused(owner, counts, {"name": "Ac\x07me"})
    assert [(e["field"], e["code"]) for e in errors] == [(["input", "name"], "INVALID")]


def test_nul_character_in_custom_fields_is_refused_naming_the_field(owner: Any, counts: Any) -> None:
    before = counts()
    result = owner.execute(CREATE_CUSTOMER, {"input": {"name": "x", "customFields": {"k": "a\x00b"}}})
    assert counts() == before
    assert "data" not in result and codes(result) == ["BAD_USER_INPUT"], result
    assert result["errors"][0]["extensions"]["field"] == ["input", "customFields", "k"]


def test_custom_fields_nested_too_deeply_are_a_user_error(owner: Any, counts: Any) -> None:
    deep: Any = 1
    for _ in range(500):
        deep = {"k": deep}
    errors = refused(owner, counts, {"name": "x", "customFields": deep})
    assert [(e["field"], e["code"]) for e in errors] == [(["input", "customFields"], "INVALID")]
    assert "nested" in errors[0]["message"]
    shallow: Any = 1
    for _ in range(MAX_JSON_DEPTH):  # objects nested exactly as deep as allowed
        shallow = {"k": shallow}
    # Deep enough is not refused for its depth; then no custom field "k" is defined.
    errors = refused(owner, counts, {"name": "y", "customFields": shallow})
    assert [(e["field"], e["code"]) for e in errors] == [(["input", "customFields", "k"], "UNKNOWN_FIELD")]


def test_create_writes_one_row_and_one_audit_entry(owner: Any, counts: Any) -> None:
    define_custom_fields(owner, vat="TEXT", n="NUMBER")
    before = counts()
    customer = create_customer(
        owner,
        name="Full",
        kind="PERSON",
        industry="Retail",
        tier="gold",
        lifecycleStage="PROSPECT",
        source="web",
        tags=["VIP"],
        customFields={"vat": "GB1", "n": 2},
        notes="line one\nline two",
        lastContactedAt="2024-03-01T10:00:00+02:00",
    )
    assert customer["kind"] == "PERSON"
    assert customer["lifecycleStage"] == "PROSPECT"
    assert customer["tags"] == ["vip"]
    assert customer["customFields"] == {"vat": "GB1", "n": 2}
    assert customer["notes"] == "line one\nline two"
    assert parse_time(customer["lastContactedAt"]) == parse_time("2024-03-01T08:00:00+00:00")
    assert customer["version"] == 1
    assert customer["deletedAt"] is None
    assert customer["owner"] is None  # an owner's new customers go to the pool unless ownerId is given
    after = counts()
    assert (after["customers"], after["audit_log"]) == (before["customers"] + 1, before["audit_log"] + 1)


def test_defaults(owner: Any) -> None:
    customer = create_customer(owner, name="Defaults")
    assert (customer["kind"], customer["lifecycleStage"], customer["tags"], customer["customFields"]) == (
        "COMPANY",
        "LEAD",
        [],
        {},
    )


# --- updateCustomer ----------------------------------------------------------------------------


def test_update_changes_given_fields_only_and_bumps_version(owner: Any) -> None:
    customer = create_customer(owner, name="Before", industry="Retail", tier="gold")
    updated = owner.data(
        UPDATE_CUSTOMER, {"input": {"id": customer["id"], "version": 1, "name": "After", "industry": None}}
    )
    payload = updated["updateCustomer"]
    assert payload["userErrors"] == []
    assert (payload["customer"]["name"], payload["customer"]["industry"], payload["customer"]["tier"]) == (
        "After",
        None,
        "gold",
    )
    assert payload["customer"]["version"] == 2
    assert parse_time(payload["customer"]["updatedAt"]) > parse_time(customer["updatedAt"])
    fresh = owner.data(CUSTOMER, {"id": customer["id"]})["customer"]
    assert (fresh["name"], fresh["industry"], fresh["tier"], fresh["version"]) == ("After", None, "gold", 2)


def test_update_with_stale_version_is_conflict_and_changes_nothing(owner: Any, counts: Any) -> None:
    customer = create_customer(owner, name="Original")
    owner.data(UPDATE_CUSTOMER, {"input": {"id": customer["id"], "version": 1, "tier": "gold"}})
    before = counts()
    result = owner.execute(UPDATE_CUSTOMER, {"input": {"id": customer["id"], "version": 1, "name": "Lost update"}})
    assert codes(result) == ["CONFLICT"], result
    assert result["errors"][0]["path"] == ["updateCustomer"]
    assert counts() == before
    fresh = owner.data(CUSTOMER, {"id": customer["id"]})["customer"]
    assert (fresh["name"], fresh["version"], fresh["tier"]) == ("Original", 2, "gold")


def test_update_with_future_version_is_conflict(owner: Any) -> None:
    customer = create_customer(owner, name="Original")
    assert codes(owner.execute(UPDATE_CUSTOMER, {"input": {"id": customer["id"], "version": 5, "name": "x"}})) == [
        "CONFLICT"
    ]


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"name": ""}, ["input", "name"], "REQUIRED"),
        ({"name": None}, ["input", "name"], "REQUIRED"),
        ({"name": "n" * 201}, ["input", "name"], "TOO_LONG"),
        ({"tags": [f"t{i}" for i in range(21)]}, ["input", "tags"], "INVALID"),
        ({"ownerId": "garbage"}, ["input", "ownerId"], "NOT_FOUND"),
    ],
)
def test_update_with_bad_input_is_user_error_and_changes_nothing(
    owner: Any, counts: Any, change: dict[str, Any], field: list[str], code: str
) -> None:
    customer = create_customer(owner, name="Keep me", tags=["a"])
    before = counts()
    result = owner.execute(UPDATE_CUSTOMER, {"input": {"id": customer["id"], "version": 1, **change}})
    assert only_error(user_errors(result, "updateCustomer")) == (field, code)
    assert result["data"]["updateCustomer"]["customer"] is None
    assert counts() == before
    fresh = owner.data(CUSTOMER, {"id": customer["id"]})["customer"]
    assert (fresh["name"], fresh["tags"], fresh["version"]) == ("Keep me", ["a"], 1)


def test_update_owner_to_another_tenants_member_is_not_found(owner: Any, other_owner: Any, counts: Any) -> None:
    customer = create_customer(owner, name="Mine")
    before = counts()
    result = owner.execute(
        UPDATE_CUSTOMER, {"input": {"id": customer["id"], "version": 1, "ownerId": my_member_id(other_owner)}}
    )
    assert only_error(user_errors(result, "updateCustomer")) == (["input", "ownerId"], "NOT_FOUND")
    assert counts() == before


def test_update_of_another_tenants_customer_is_not_found(owner: Any, other_owner: Any) -> None:
    foreign = create_customer(other_owner, name="Theirs")
    result = owner.execute(UPDATE_CUSTOMER, {"input": {"id": foreign["id"], "version": 1, "name": "Hijacked"}})
    assert codes(result) == ["NOT_FOUND"]
    assert other_owner.data(CUSTOMER, {"id": foreign["id"]})["customer"]["name"] == "Theirs"


@pytest.mark.parametrize("bad_id", ["garbage", global_id("Customer", "00000000-0000-0000-0000-000000000000")])
def test_update_of_unknown_id_is_not_found(owner: Any, bad_id: str) -> None:
    assert codes(owner.execute(UPDATE_CUSTOMER, {"input": {"id": bad_id, "version": 1, "name": "x"}})) == ["NOT_FOUND"]


def test_update_with_a_contact_id_is_not_found(owner: Any) -> None:
    customer = create_customer(owner, name="x")
    wrong = global_id("Contact", raw_id(customer["id"]))
    assert codes(owner.execute(UPDATE_CUSTOMER, {"input": {"id": wrong, "version": 1, "name": "y"}})) == ["NOT_FOUND"]


@pytest.fixture
def non_utc_process(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The Python process in a time zone other than UTC (PostgreSQL sessions stay in UTC)."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_update_payload_in_utc_process_returns_the_stored_date_time(owner: Any) -> None:
    customer = create_customer(owner, name="Naive")
    payload = owner.data(
        UPDATE_CUSTOMER, {"input": {"id": customer["id"], "version": 1, "nextFollowUpAt": "2024-01-02T03:04:05"}}
    )
    stored = owner.data(CUSTOMER, {"id": customer["id"]})["customer"]["nextFollowUpAt"]
    assert parse_time(stored) == parse_time("2024-01-02T03:04:05+00:00")
    assert payload["updateCustomer"]["customer"]["nextFollowUpAt"] == stored


def test_update_payload_returns_the_stored_date_time_whatever_the_process_zone(
    owner: Any, non_utc_process: Any
) -> None:
    customer = create_customer(owner, name="Naive")
    payload = owner.data(
        UPDATE_CUSTOMER, {"input": {"id": customer["id"], "version": 1, "nextFollowUpAt": "2024-01-02T03:04:05"}}
    )
    stored = owner.data(CUSTOMER, {"id": customer["id"]})["customer"]["nextFollowUpAt"]
    assert parse_time(stored) == parse_time("2024-01-02T03:04:05+00:00")
    assert payload["updateCustomer"]["customer"]["nextFollowUpAt"] == stored


# --- delete and restore ------------------------------------------------------------------------


def _active_ids(client: Any, state: str = "ACTIVE") -> set[str]:
    data = client.data(CUSTOMERS, {"first": 100, "filter": {"state": state}})["customers"]
    return {edge["node"]["id"] for edge in data["edges"]}


def test_delete_with_stale_version_is_conflict_and_deletes_nothing(owner: Any, counts: Any) -> None:
    customer = create_customer(owner, name="Stay")
    owner.data(UPDATE_CUSTOMER, {"input": {"id": customer["id"], "version": 1, "tier": "x"}})
    before = counts()
    assert codes(owner.execute(DELETE_CUSTOMER, {"input": {"id": customer["id"], "version": 1}})) == ["CONFLICT"]
    assert counts() == before
    fresh = owner.data(CUSTOMER, {"id": customer["id"]})["customer"]
    assert (fresh["deletedAt"], fresh["version"]) == (None, 2)


def test_delete_is_soft_and_restore_brings_it_back(owner: Any, counts: Any) -> None:
    customer = create_customer(owner, name="Phoenix")
    before = counts()
    deleted = owner.data(DELETE_CUSTOMER, {"input": {"id": customer["id"], "version": 1}})["deleteCustomer"]
    assert deleted["userErrors"] == []
    assert deleted["customer"]["deletedAt"] is not None
    assert deleted["customer"]["version"] == 2
    after_delete = counts()
    assert after_delete["customers"] == before["customers"]  # soft: the row stays
    assert after_delete["audit_log"] == before["audit_log"] + 1
    assert codes(owner.execute(CUSTOMER, {"id": customer["id"]})) == ["NOT_FOUND"]
    assert customer["id"] not in _active_ids(owner)
    assert customer["id"] in _active_ids(owner, "DELETED")
    # deleting twice: it is not there any more
    assert codes(owner.execute(DELETE_CUSTOMER, {"input": {"id": customer["id"]}})) == ["NOT_FOUND"]
    # updating a deleted customer: NOT_FOUND
    assert codes(owner.execute(UPDATE_CUSTOMER, {"input": {"id": customer["id"], "version": 2, "name": "x"}})) == [
        "NOT_FOUND"
    ]

    restored = owner.data(RESTORE_CUSTOMER, {"input": {"id": customer["id"]}})["restoreCustomer"]
    assert restored["userErrors"] == []
    assert restored["customer"]["deletedAt"] is None
    assert restored["customer"]["version"] == 3
    assert owner.data(CUSTOMER, {"id": customer["id"]})["customer"]["name"] == "Phoenix"
    assert customer["id"] in _active_ids(owner)
    assert customer["id"] not in _active_ids(owner, "DELETED")
    assert counts()["audit_log"] == before["audit_log"] + 2


def test_delete_without_version_works(owner: Any) -> None:
    customer = create_customer(owner, name="Gone")
    assert owner.data(DELETE_CUSTOMER, {"input": {"id": customer["id"]}})["deleteCustomer"]["customer"]["deletedAt"]


def test_restore_of_a_customer_that_is_not_deleted_is_not_found(owner: Any, counts: Any) -> None:
    customer = create_customer(owner, name="Alive")
    before = counts()
    assert codes(owner.execute(RESTORE_CUSTOMER, {"input": {"id": customer["id"]}})) == ["NOT_FOUND"]
    assert counts() == before
    assert owner.data(CUSTOMER, {"id": customer["id"]})["customer"]["version"] == 1


def test_delete_and_restore_of_another_tenants_customer_are_not_found(owner: Any, other_owner: Any) -> None:
    foreign = create_customer(other_owner, name="Theirs")
    assert codes(owner.execute(DELETE_CUSTOMER, {"input": {"id": foreign["id"]}})) == ["NOT_FOUND"]
    other_owner.data(DELETE_CUSTOMER, {"input": {"id": foreign["id"]}})
    assert codes(owner.execute(RESTORE_CUSTOMER, {"input": {"id": foreign["id"]}})) == ["NOT_FOUND"]
    assert foreign["id"] in _active_ids(other_owner, "DELETED")


def test_anonymous_cannot_create(anonymous: Any) -> None:
    assert codes(anonymous.execute(CREATE_CUSTOMER, {"input": {"name": "x"}})) == ["UNAUTHENTICATED"]
