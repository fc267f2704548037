"""Sensitive fields: sealed at rest, opened only for `sensitive:read` (each read audited), masked
for others, searchable by blind index, bound to their place, and never in plaintext in a dump."""

from __future__ import annotations

import subprocess
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from saas.runtime import Runtime
from saas.sensitive.envelope import (
    MARKER,
    DecryptionFailed,
    FieldAddress,
    blind_index,
    mask,
    new_key,
    open_sealed,
    seal,
)
from saas.tenancy.session import tenant_session
from tests.conftest import add_member
from tests.schema.helpers import count_rows, create_contact, create_customer, define_custom_fields, raw_id
from tests.sensitive.helpers import (
    CUSTOMER,
    CUSTOMER_WITH_CONTACTS,
    CUSTOMERS,
    NATIONAL_ID,
    customer_with_national_id,
    sensitive_reads,
    stored_custom_fields,
)

CREATE_CUSTOMER = """mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) { customer { id customFields } userErrors { field code message } }
}"""
UPDATE_CUSTOMER = """mutation($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) { customer { id version customFields } userErrors { field code message } }
}"""
DEFINE = """mutation($input: DefineCustomFieldInput!) {
  defineCustomField(input: $input) { customFieldDefinition { id type } userErrors { field code message } }
}"""


def test_a_sensitive_value_round_trips_for_the_owner_and_is_sealed_at_rest(owner, runtime: Runtime, tenant) -> None:
    customer = customer_with_national_id(owner)
    assert customer["customFields"] == {"nationalId": mask(NATIONAL_ID)}  # the mutation payload shows the mask

    page = owner.data(CUSTOMERS)["customers"]
    assert page["edges"][0]["node"]["customFields"] == {"nationalId": NATIONAL_ID}
    assert owner.data(CUSTOMER, {"id": customer["id"]})["customer"]["customFields"] == {"nationalId": NATIONAL_ID}

    stored = stored_custom_fields(runtime, tenant.id, customer["id"])["nationalId"]
    assert set(stored) == {MARKER, "bi", "mask"}
    assert stored[MARKER].startswith("v1:1:")
    assert NATIONAL_ID not in str(stored)
    assert stored["mask"] == "•••• 7890"


def test_without_the_permission_the_value_is_masked_and_nothing_is_decrypted(owner, runtime: Runtime, tenant) -> None:
    customer = customer_with_national_id(owner)
    sales = add_member(owner, tenant, "sales")
    update = {"id": customer["id"], "version": 1, "ownerId": None}
    del update["ownerId"]
    # The customer is in the public pool (the owner sees all): sales reps see the pool.
    page = sales.data(CUSTOMERS)["customers"]
    assert page["edges"][0]["node"]["customFields"] == {"nationalId": "•••• 7890"}
    assert sales.last_statements == 1  # masking happens in Python, from the stored mask
    assert sales.data(CUSTOMER, {"id": customer["id"]})["customer"]["customFields"] == {"nationalId": "•••• 7890"}
    assert sensitive_reads(runtime, tenant.id) == 0


def test_every_decrypted_read_is_in_the_audit_log_and_filterable(owner, runtime: Runtime, tenant) -> None:
    first = customer_with_national_id(owner, "Acme")
    second = customer_with_national_id(owner, "Bolt", "ZZ9876543210")
    create_customer(owner, name="Cargo")  # no value: no read

    owner.data(CUSTOMERS)
    assert sensitive_reads(runtime, tenant.id) == 2
    owner.data(CUSTOMER, {"id": first["id"]})
    assert sensitive_reads(runtime, tenant.id) == 3

    entries = owner.data(
        '{ auditLog(first: 10, kinds: [ACCESS], actionPrefix: "sensitive.") { edges { node { action entityType entityId after } } } }'
    )["auditLog"]["edges"]
    assert len(entries) == 3
    nodes = [edge["node"] for edge in entries]
    assert {node["entityId"] for node in nodes} == {first["id"], second["id"]}
    assert all(node["entityType"] == "Customer" for node in nodes)
    assert all(node["after"] == {"field": "custom_fields.nationalId"} for node in nodes)
    assert all(NATIONAL_ID not in str(node) for node in nodes)


def test_a_tampered_or_copied_ciphertext_is_refused(owner, runtime: Runtime, tenant) -> None:
    source = customer_with_national_id(owner, "Acme")
    target = create_customer(owner, name="Bolt")
    stored = stored_custom_fields(runtime, tenant.id, source["id"])
    with tenant_session(runtime.engine, tenant.id) as session:  # the ciphertext copied to another row
        session.execute(
            text(
                "UPDATE customers SET custom_fields = (SELECT custom_fields FROM customers WHERE id = :s) WHERE id = :t"
            ),
            {"s": raw_id(source["id"]), "t": raw_id(target["id"])},
        )
    assert owner.data(CUSTOMER, {"id": target["id"]})["customer"]["customFields"] == {"nationalId": None}
    assert owner.data(CUSTOMER, {"id": source["id"]})["customer"]["customFields"] == {"nationalId": NATIONAL_ID}

    key = new_key()
    address = FieldAddress(tenant.id, "customers", "custom_fields.nationalId", uuid.uuid4())
    envelope = seal(key, 1, "secret value", address)
    assert open_sealed(key, envelope, address) == "secret value"
    for wrong in (
        FieldAddress(tenant.id, "customers", "custom_fields.nationalId", uuid.uuid4()),  # another row
        FieldAddress(tenant.id, "contacts", "custom_fields.nationalId", address.row_id),  # another table
        FieldAddress(tenant.id, "customers", "custom_fields.other", address.row_id),  # another field
        FieldAddress(uuid.uuid4(), "customers", "custom_fields.nationalId", address.row_id),  # another tenant
    ):
        with pytest.raises(DecryptionFailed):
            open_sealed(key, envelope, wrong)
    tampered = envelope[:-2] + ("A" if envelope[-2] != "A" else "B") + envelope[-1]
    with pytest.raises(DecryptionFailed):
        open_sealed(key, tampered, address)
    with pytest.raises(DecryptionFailed):
        open_sealed(new_key(), envelope, address)
    assert stored["nationalId"][MARKER] != envelope


def test_equality_search_uses_the_blind_index_never_the_plaintext(owner, runtime: Runtime, tenant) -> None:
    wanted = customer_with_national_id(owner, "Acme")
    customer_with_national_id(owner, "Bolt", "ZZ9876543210")
    found = owner.data(CUSTOMERS, {"filter": {"customField": {"key": "nationalId", "equals": f" {NATIONAL_ID} "}}})
    assert [edge["node"]["id"] for edge in found["customers"]["edges"]] == [wanted["id"]]
    missing = owner.data(CUSTOMERS, {"filter": {"customField": {"key": "nationalId", "equals": "AB1234567899"}}})
    assert missing["customers"]["totalCount"] == 0

    stored = stored_custom_fields(runtime, tenant.id, wanted["id"])["nationalId"]
    assert stored["bi"] != NATIONAL_ID and NATIONAL_ID not in stored["bi"]
    assert len(stored["bi"]) == 64  # HMAC-SHA256, hex
    # The index is keyed: the bare hash of the value is not it.
    assert stored["bi"] != blind_index(b"\0" * 32, "customers", "custom_fields.nationalId", NATIONAL_ID)
    # A sales rep searches the same way and gets the mask.
    sales = add_member(owner, tenant, "sales")
    found = sales.data(CUSTOMERS, {"filter": {"customField": {"key": "nationalId", "equals": NATIONAL_ID}}})
    assert [edge["node"]["customFields"] for edge in found["customers"]["edges"]] == [{"nationalId": "•••• 7890"}]


def test_a_pg_dump_holds_no_plaintext(owner, runtime: Runtime, tenant, database_url: str) -> None:
    unique = uuid.uuid4().hex[:8]
    values = [f"NATID-{unique}-SECRET", f"IBAN-DE89{unique}0532013000"]
    phone = "+4930" + str(10**7 + int(unique, 16) % (9 * 10**7))  # a Berlin number, unique to this test
    define_custom_fields(owner, nationalId="SENSITIVE", bankAccount="SENSITIVE")
    customer = create_customer(owner, name="Acme", customFields={"nationalId": values[0], "bankAccount": values[1]})
    owner.data(
        "mutation($input: SetSensitiveFieldsInput!) { setSensitiveFields(input: $input) { userErrors { code } } }",
        {"input": {"entity": "CONTACT", "fields": ["phone"]}},
    )
    create_contact(owner, customer["id"], name="Jane", phone=phone)
    assert owner.data(CUSTOMER, {"id": customer["id"]})["customer"]["customFields"] == {
        "nationalId": values[0],
        "bankAccount": values[1],
    }

    url = make_url(database_url).set(drivername="postgresql")
    dump = subprocess.run(
        ["pg_dump", "--data-only", "--no-owner", url.render_as_string(hide_password=False)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert MARKER in dump and "Acme" in dump  # the rows are in it
    for value in [*values, phone, phone[1:]]:
        assert value not in dump


def test_bad_values_of_a_sensitive_field_are_refused_and_nothing_is_written(owner, runtime: Runtime, tenant) -> None:
    define_custom_fields(owner, nationalId="SENSITIVE")
    before = count_rows(runtime, tenant.id, "customers")
    for value, code in ((12345, "WRONG_TYPE"), ("x" * 201, "TOO_LONG"), ("bad\x07value", "INVALID")):
        payload = owner.data(CREATE_CUSTOMER, {"input": {"name": "Acme", "customFields": {"nationalId": value}}})
        assert payload["createCustomer"]["customer"] is None
        assert [e["code"] for e in payload["createCustomer"]["userErrors"]] == [code]
        assert payload["createCustomer"]["userErrors"][0]["field"] == ["input", "customFields", "nationalId"]
    assert count_rows(runtime, tenant.id, "customers") == before
    unknown = owner.data(CREATE_CUSTOMER, {"input": {"name": "Acme", "customFields": {"nationalID": "x"}}})
    assert [e["code"] for e in unknown["createCustomer"]["userErrors"]] == ["UNKNOWN_FIELD"]
    unique = owner.data(
        DEFINE,
        {"input": {"entity": "CUSTOMER", "key": "taxId", "label": "Tax id", "type": "SENSITIVE", "unique": True}},
    )
    assert [e["code"] for e in unique["defineCustomField"]["userErrors"]] == ["INVALID"]


def test_an_update_reseals_and_clearing_removes_the_value(owner, runtime: Runtime, tenant) -> None:
    customer = customer_with_national_id(owner)
    first = stored_custom_fields(runtime, tenant.id, customer["id"])["nationalId"]
    updated = owner.data(
        UPDATE_CUSTOMER, {"input": {"id": customer["id"], "version": 1, "customFields": {"nationalId": "CD0000000001"}}}
    )["updateCustomer"]
    assert updated["customer"]["customFields"] == {"nationalId": "•••• 0001"}
    second = stored_custom_fields(runtime, tenant.id, customer["id"])["nationalId"]
    assert second[MARKER] != first[MARKER] and second["bi"] != first["bi"]
    assert owner.data(CUSTOMER, {"id": customer["id"]})["customer"]["customFields"] == {"nationalId": "CD0000000001"}
    owner.data(UPDATE_CUSTOMER, {"input": {"id": customer["id"], "version": 2, "customFields": {"nationalId": None}}})
    assert stored_custom_fields(runtime, tenant.id, customer["id"]) == {}


def test_another_tenant_cannot_open_a_copied_value_nor_find_it(
    owner, other_owner, runtime: Runtime, tenant, other_tenant
) -> None:
    source = customer_with_national_id(owner)
    copy = customer_with_national_id(other_owner, "Mine", "OTHER0000001")
    stored = stored_custom_fields(runtime, tenant.id, source["id"])
    # The same row id and the same value in tenant B: the tenant (and B's own key) still differ.
    with tenant_session(runtime.engine, other_tenant.id) as session:
        session.execute(
            text("UPDATE customers SET id = :id, custom_fields = CAST(:value AS jsonb) WHERE id = :old"),
            {
                "id": raw_id(source["id"]),
                "value": __import__("orjson").dumps(stored).decode(),
                "old": raw_id(copy["id"]),
            },
        )
    node = other_owner.data(CUSTOMER, {"id": source["id"]})["customer"]
    assert node["customFields"] == {"nationalId": None}
    found = other_owner.data(CUSTOMERS, {"filter": {"customField": {"key": "nationalId", "equals": NATIONAL_ID}}})
    assert found["customers"]["totalCount"] == 0
    assert sensitive_reads(runtime, other_tenant.id) == 0


@pytest.mark.parametrize("role", ["manager", "sales", "service", "viewer"])
def test_only_owners_and_admins_read_decrypted_by_default(role: str) -> None:
    from saas.auth.permissions import ROLE_PERMISSIONS, SENSITIVE_READ, Role

    assert SENSITIVE_READ in ROLE_PERMISSIONS[Role.OWNER] and SENSITIVE_READ in ROLE_PERMISSIONS[Role.ADMIN]
    assert SENSITIVE_READ not in ROLE_PERMISSIONS[Role(role)]


def test_contacts_of_a_customer_page_keep_one_statement_with_sensitive_values(owner, tenant) -> None:
    customer = customer_with_national_id(owner)
    create_contact(owner, customer["id"], name="Jane", phone="+442079460958")
    sales = add_member(owner, tenant, "sales")
    result = sales.data(CUSTOMER_WITH_CONTACTS, {"id": customer["id"]})["customer"]
    assert result["contacts"][0]["phone"] == "+442079460958"  # not marked: plain
    assert sales.last_statements == 1
