"""Custom fields: definitions (admin only, coded refusals of breaking changes), the validator on
every customer and contact write, filtering, compiled reads, events, and tenant isolation."""

from __future__ import annotations

from typing import Any

import pytest

from saas.runtime import Runtime
from tests.conftest import add_member
from tests.schema.helpers import count_rows, create_contact, create_customer, global_id, raw_id

DEFINITION = "id entity key label type required unique options position version createdAt updatedAt archivedAt"
USER_ERRORS = "userErrors { field code message }"
DEFINE = f"""mutation($input: DefineCustomFieldInput!) {{
  defineCustomField(input: $input) {{ customFieldDefinition {{ {DEFINITION} }} {USER_ERRORS} }}
}}"""
UPDATE = f"""mutation($input: UpdateCustomFieldInput!) {{
  updateCustomField(input: $input) {{ customFieldDefinition {{ {DEFINITION} }} {USER_ERRORS} }}
}}"""
ARCHIVE = f"""mutation($input: ArchiveCustomFieldInput!) {{
  archiveCustomField(input: $input) {{ customFieldDefinition {{ {DEFINITION} }} {USER_ERRORS} }}
}}"""
DEFINITIONS = f"""query($entity: CustomFieldEntity!, $all: Boolean) {{
  customFieldDefinitions(entity: $entity, includeArchived: $all) {{ {DEFINITION} }}
}}"""
CREATE_CUSTOMER = f"""mutation($input: CreateCustomerInput!) {{
  createCustomer(input: $input) {{ customer {{ id version customFields }} {USER_ERRORS} }}
}}"""
UPDATE_CUSTOMER = f"""mutation($input: UpdateCustomerInput!) {{
  updateCustomer(input: $input) {{ customer {{ id version customFields }} {USER_ERRORS} }}
}}"""
CREATE_CONTACT = f"""mutation($input: CreateContactInput!) {{
  createContact(input: $input) {{ contact {{ id version customFields }} {USER_ERRORS} }}
}}"""
UPDATE_CONTACT = f"""mutation($input: UpdateContactInput!) {{
  updateContact(input: $input) {{ contact {{ id version customFields }} {USER_ERRORS} }}
}}"""
CUSTOMERS = """query($filter: CustomerFilterInput) {
  customers(first: 50, filter: $filter) { totalCount edges { node { name customFields } } }
}"""
NODE = "query($id: ID!) { node(id: $id) { id ... on CustomFieldDefinition { key label } } }"


def define(client: Any, **fields: Any) -> dict[str, Any]:
    fields.setdefault("entity", "CUSTOMER")
    fields.setdefault("label", fields["key"].title())
    payload = client.data(DEFINE, {"input": fields})["defineCustomField"]
    assert payload["userErrors"] == [], payload
    return payload["customFieldDefinition"]


def define_errors(client: Any, **fields: Any) -> list[dict[str, Any]]:
    fields.setdefault("entity", "CUSTOMER")
    fields.setdefault("label", "Label")
    payload = client.data(DEFINE, {"input": fields})["defineCustomField"]
    assert payload["customFieldDefinition"] is None
    return payload["userErrors"]


def update_errors(client: Any, definition: dict[str, Any], **fields: Any) -> list[dict[str, Any]]:
    payload = client.data(UPDATE, {"input": {"id": definition["id"], "version": definition["version"], **fields}})
    return payload["updateCustomField"]["userErrors"]


def customer_with(client: Any, custom_fields: dict[str, Any], name: str = "Acme") -> dict[str, Any]:
    payload = client.data(CREATE_CUSTOMER, {"input": {"name": name, "customFields": custom_fields}})["createCustomer"]
    assert payload["userErrors"] == [], payload
    return payload["customer"]


def errors_of(payload: dict[str, Any]) -> list[tuple[list[str], str]]:
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


def standard_fields(client: Any) -> None:
    define(client, key="contractNo", type="TEXT", unique=True)
    define(client, key="seats", type="NUMBER")
    define(client, key="renewsOn", type="DATE")
    define(client, key="vip", type="BOOLEAN")
    define(client, key="region", type="SELECT", options=["EMEA", "APAC", "AMER"])
    define(client, key="modules", type="MULTI_SELECT", options=["crm", "erp", "hr"])


# --- Definitions -------------------------------------------------------------------------------


def test_define_and_list_in_position_order(owner: Any) -> None:
    first = define(owner, key="region", label="Region", type="SELECT", options=[" EMEA ", "APAC"])
    second = define(owner, key="seats", type="NUMBER", required=False)
    assert first["entity"] == "CUSTOMER" and first["type"] == "SELECT"
    assert first["options"] == ["EMEA", "APAC"]
    assert (first["required"], first["unique"], first["version"], first["archivedAt"]) == (False, False, 1, None)
    listed = owner.data(DEFINITIONS, {"entity": "CUSTOMER"})["customFieldDefinitions"]
    assert [d["key"] for d in listed] == ["region", "seats"]
    assert [d["position"] for d in listed] == [1, 2]
    assert listed[0] == first and listed[1] == second
    assert owner.data(DEFINITIONS, {"entity": "CONTACT"})["customFieldDefinitions"] == []
    # Leads and opportunities have fields of their own, defined the same way.
    lead = define(owner, key="budget", type="NUMBER", entity="LEAD", required=True)
    assert owner.data(DEFINITIONS, {"entity": "LEAD"})["customFieldDefinitions"] == [lead]
    assert owner.data(NODE, {"id": first["id"]})["node"] == {"id": first["id"], "key": "region", "label": "Region"}


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"key": "", "type": "TEXT"}, "key", "REQUIRED"),
        ({"key": "Bad", "type": "TEXT"}, "key", "INVALID"),
        ({"key": "with_underscore", "type": "TEXT"}, "key", "INVALID"),
        ({"key": "a" * 65, "type": "TEXT"}, "key", "TOO_LONG"),
        ({"key": "ok", "type": "TEXT", "label": " "}, "label", "REQUIRED"),
        ({"key": "ok", "type": "TEXT", "label": "x" * 201}, "label", "TOO_LONG"),
        ({"key": "ok", "type": "SELECT"}, "options", "REQUIRED"),
        ({"key": "ok", "type": "SELECT", "options": []}, "options", "REQUIRED"),
        ({"key": "ok", "type": "SELECT", "options": ["a", "a"]}, "options", "INVALID"),
        ({"key": "ok", "type": "SELECT", "options": ["a", " "]}, "options", "INVALID"),
        ({"key": "ok", "type": "SELECT", "options": ["x" * 101]}, "options", "TOO_LONG"),
        ({"key": "ok", "type": "TEXT", "options": ["a"]}, "options", "INVALID"),
        ({"key": "ok", "type": "BOOLEAN", "unique": True}, "unique", "INVALID"),
        ({"key": "ok", "type": "MULTI_SELECT", "options": ["a"], "unique": True}, "unique", "INVALID"),
    ],
)
def test_bad_definitions_are_coded_and_write_nothing(
    owner: Any, runtime: Runtime, tenant: Any, fields: dict[str, Any], field: str, code: str
) -> None:
    errors = define_errors(owner, **fields)
    assert [(e["field"], e["code"]) for e in errors] == [(["input", field], code)]
    assert count_rows(runtime, tenant.id, "custom_field_definitions") == 0
    assert count_rows(runtime, tenant.id, "outbox_events", "type LIKE 'custom_field.%'") == 0


def test_a_key_is_taken_per_entity_archived_ones_included(owner: Any) -> None:
    made = define(owner, key="tier2", type="TEXT")
    assert [e["code"] for e in define_errors(owner, key="tier2", type="NUMBER")] == ["TAKEN"]
    define(owner, key="tier2", type="NUMBER", entity="CONTACT")  # another entity: its own keys
    owner.data(ARCHIVE, {"input": {"id": made["id"]}})
    errors = define_errors(owner, key="tier2", type="TEXT")
    assert [e["code"] for e in errors] == ["TAKEN"] and "archived" in errors[0]["message"]


@pytest.mark.parametrize("role", ["manager", "sales", "viewer"])
def test_only_owners_and_admins_manage_definitions(owner: Any, tenant: Any, runtime: Runtime, role: str) -> None:
    made = define(owner, key="seats", type="NUMBER")
    member = add_member(owner, tenant, role)
    variables = {"input": {"entity": "CUSTOMER", "key": "other", "label": "Other", "type": "TEXT"}}
    assert member.error_codes(DEFINE, variables) == ["FORBIDDEN"]
    assert member.error_codes(UPDATE, {"input": {"id": made["id"], "version": 1, "label": "X"}}) == ["FORBIDDEN"]
    assert member.error_codes(ARCHIVE, {"input": {"id": made["id"]}}) == ["FORBIDDEN"]
    assert count_rows(runtime, tenant.id, "custom_field_definitions") == 1
    # Everyone reads them (forms need them).
    assert [d["key"] for d in member.data(DEFINITIONS, {"entity": "CUSTOMER"})["customFieldDefinitions"]] == ["seats"]
    admin = add_member(owner, tenant, "admin")
    assert define(admin, key="other", type="TEXT")["key"] == "other"


def test_update_label_options_and_flags(owner: Any) -> None:
    made = define(owner, key="region", type="SELECT", options=["EMEA"])
    payload = owner.data(
        UPDATE, {"input": {"id": made["id"], "version": 1, "label": "Sales region", "options": ["EMEA", "APAC"]}}
    )["updateCustomField"]
    assert payload["userErrors"] == []
    changed = payload["customFieldDefinition"]
    assert (changed["label"], changed["options"], changed["version"]) == ("Sales region", ["EMEA", "APAC"], 2)
    assert (changed["key"], changed["type"]) == ("region", "SELECT")
    stale = owner.execute(UPDATE, {"input": {"id": made["id"], "version": 1, "label": "Stale"}})
    assert [e["extensions"]["code"] for e in stale["errors"]] == ["CONFLICT"]


def test_making_a_field_required_while_records_lack_it_is_refused(owner: Any, runtime: Runtime, tenant: Any) -> None:
    made = define(owner, key="seats", type="NUMBER")
    customer_with(owner, {"seats": 3}, "Has seats")
    lacking = customer_with(owner, {}, "No seats")
    assert [(e["field"], e["code"]) for e in update_errors(owner, made, required=True)] == [
        (["input", "required"], "VALUES_MISSING")
    ]
    assert owner.data(DEFINITIONS, {"entity": "CUSTOMER"})["customFieldDefinitions"][0]["required"] is False
    # Defining a new required field while customers exist is the same change.
    assert [e["code"] for e in define_errors(owner, key="plan", type="TEXT", required=True)] == ["VALUES_MISSING"]
    owner.data(UPDATE_CUSTOMER, {"input": {"id": lacking["id"], "version": 1, "customFields": {"seats": 1}}})
    assert update_errors(owner, made, required=True) == []


def test_making_a_field_unique_while_records_share_a_value_is_refused(
    owner: Any, runtime: Runtime, tenant: Any
) -> None:
    made = define(owner, key="code", type="TEXT")
    customer_with(owner, {"code": "A-1"}, "One")
    second = customer_with(owner, {"code": "a-1"}, "Two")  # the same when compared in any case
    errors = update_errors(owner, made, unique=True)
    assert [(e["field"], e["code"]) for e in errors] == [(["input", "unique"], "DUPLICATE_VALUES")]
    assert count_rows(runtime, tenant.id, "custom_field_unique_values") == 0
    owner.data(UPDATE_CUSTOMER, {"input": {"id": second["id"], "version": 1, "customFields": {"code": "B-2"}}})
    assert update_errors(owner, made, unique=True) == []
    assert count_rows(runtime, tenant.id, "custom_field_unique_values") == 2
    taken = owner.data(CREATE_CUSTOMER, {"input": {"name": "Three", "customFields": {"code": "b-2"}}})
    assert errors_of(taken["createCustomer"]) == [(["input", "customFields", "code"], "TAKEN")]
    # Not unique any more: the values are free again.
    assert update_errors(owner, {**made, "version": 2}, unique=False) == []
    assert count_rows(runtime, tenant.id, "custom_field_unique_values") == 0
    customer_with(owner, {"code": "b-2"}, "Three")


def test_removing_an_option_in_use_and_values_that_do_not_fit_are_refused(owner: Any) -> None:
    made = define(owner, key="region", type="SELECT", options=["EMEA", "APAC"])
    customer_with(owner, {"region": "APAC"})
    errors = update_errors(owner, made, options=["EMEA"])
    assert [(e["field"], e["code"]) for e in errors] == [(["input", "options"], "INCOMPATIBLE_VALUES")]
    assert update_errors(owner, made, options=["APAC", "AMER"]) == []  # EMEA unused: it may go
    multi = define(owner, key="modules", type="MULTI_SELECT", options=["crm", "erp"], entity="CONTACT")
    customer = create_customer(owner)
    create_contact(owner, customer["id"], customFields={"modules": ["crm", "erp"]})
    errors = update_errors(owner, multi, options=["crm"])
    assert [e["code"] for e in errors] == ["INCOMPATIBLE_VALUES"]


def test_a_new_definition_must_fit_values_stored_before_it(owner: Any, runtime: Runtime, tenant: Any) -> None:
    from sqlalchemy import text

    from saas.tenancy.session import tenant_session

    customer = create_customer(owner)
    with tenant_session(runtime.engine, tenant.id) as session:  # free-form JSON from before definitions
        session.execute(
            text('UPDATE customers SET custom_fields = \'{"size": "big"}\' WHERE id = :id'),
            {"id": raw_id(customer["id"])},
        )
    errors = define_errors(owner, key="size", type="NUMBER")
    assert [(e["field"], e["code"]) for e in errors] == [(["input", "type"], "INCOMPATIBLE_VALUES")]
    assert define(owner, key="size", type="TEXT")["key"] == "size"


def test_archiving_keeps_values_readable_and_only_allows_clearing(owner: Any, runtime: Runtime, tenant: Any) -> None:
    made = define(owner, key="legacyId", type="TEXT", unique=True, required=False)
    customer = customer_with(owner, {"legacyId": "L-1"})
    archived = owner.data(ARCHIVE, {"input": {"id": made["id"], "version": 1}})["archiveCustomField"]
    assert archived["userErrors"] == [] and archived["customFieldDefinition"]["archivedAt"] is not None
    assert owner.data(DEFINITIONS, {"entity": "CUSTOMER"})["customFieldDefinitions"] == []
    assert [
        d["key"] for d in owner.data(DEFINITIONS, {"entity": "CUSTOMER", "all": True})["customFieldDefinitions"]
    ] == ["legacyId"]
    assert count_rows(runtime, tenant.id, "custom_field_unique_values") == 0
    read = owner.data("query($id: ID!) { customer(id: $id) { customFields } }", {"id": customer["id"]})
    assert read["customer"]["customFields"] == {"legacyId": "L-1"}
    refused = owner.data(
        UPDATE_CUSTOMER, {"input": {"id": customer["id"], "version": 1, "customFields": {"legacyId": "L-2"}}}
    )["updateCustomer"]
    assert errors_of(refused) == [(["input", "customFields", "legacyId"], "ARCHIVED")]
    cleared = owner.data(
        UPDATE_CUSTOMER, {"input": {"id": customer["id"], "version": 1, "customFields": {"legacyId": None}}}
    )["updateCustomer"]
    assert cleared["userErrors"] == [] and cleared["customer"]["customFields"] == {}
    again = owner.data(UPDATE, {"input": {"id": made["id"], "version": 2, "label": "X"}})["updateCustomField"]
    assert errors_of(again) == [(["input", "id"], "ARCHIVED")]


def test_definition_events_in_api_shape(owner: Any, runtime: Runtime, tenant: Any) -> None:
    from sqlalchemy import text

    from saas.tenancy.session import tenant_session

    made = define(owner, key="seats", type="NUMBER")
    owner.data(UPDATE, {"input": {"id": made["id"], "version": 1, "label": "Licensed seats"}})
    owner.data(ARCHIVE, {"input": {"id": made["id"]}})
    with tenant_session(runtime.engine, tenant.id) as session:
        rows = session.execute(
            text("SELECT type, payload FROM outbox_events WHERE type LIKE 'custom_field.%' ORDER BY created_at, type")
        ).all()
    assert [row.type for row in rows] == ["custom_field.defined", "custom_field.updated", "custom_field.archived"]
    defined = rows[0].payload["customFieldDefinition"]
    assert defined["id"] == made["id"] and defined["type"] == "NUMBER" and defined["entity"] == "CUSTOMER"
    assert rows[1].payload["customFieldDefinition"]["label"] == "Licensed seats"
    assert rows[2].payload["customFieldDefinition"]["archivedAt"] is not None


# --- Values: the validator on every write -------------------------------------------------------


def test_values_are_normalised_and_stored(owner: Any) -> None:
    standard_fields(owner)
    customer = customer_with(
        owner,
        {
            "contractNo": "  C-100 ",
            "seats": 12.0,
            "renewsOn": "2027-01-31",
            "vip": True,
            "region": "EMEA",
            "modules": ["hr", "crm", "hr"],
        },
    )
    expected = {
        "contractNo": "C-100",
        "seats": 12,
        "renewsOn": "2027-01-31",
        "vip": True,
        "region": "EMEA",
        "modules": ["crm", "hr"],
    }
    assert customer["customFields"] == expected
    # The compiled read and the resolver path (owner { … } is not compiled here) agree.
    compiled = owner.data("query($id: ID!) { customer(id: $id) { customFields } }", {"id": customer["id"]})
    assert compiled["customer"]["customFields"] == expected
    listed = owner.data(CUSTOMERS)["customers"]["edges"][0]["node"]["customFields"]
    assert listed == expected


@pytest.mark.parametrize(
    ("values", "key", "code"),
    [
        ({"nope": 1}, "nope", "UNKNOWN_FIELD"),
        ({"seats": "12"}, "seats", "WRONG_TYPE"),
        ({"seats": True}, "seats", "WRONG_TYPE"),
        ({"seats": 1e16}, "seats", "INVALID"),
        ({"renewsOn": "31.01.2027"}, "renewsOn", "INVALID"),
        ({"renewsOn": "2027-02-30"}, "renewsOn", "INVALID"),
        ({"renewsOn": 20270131}, "renewsOn", "WRONG_TYPE"),
        ({"vip": "yes"}, "vip", "WRONG_TYPE"),
        ({"region": "MARS"}, "region", "INVALID_OPTION"),
        ({"region": ["EMEA"]}, "region", "WRONG_TYPE"),
        ({"modules": "crm"}, "modules", "WRONG_TYPE"),
        ({"modules": ["crm", "golf"]}, "modules", "INVALID_OPTION"),
        ({"contractNo": "x" * 501}, "contractNo", "TOO_LONG"),
        ({"contractNo": 5}, "contractNo", "WRONG_TYPE"),
        ({"contractNo": "a\x07b"}, "contractNo", "INVALID"),
    ],
)
def test_each_bad_value_is_a_coded_error_on_its_key_and_writes_nothing(
    owner: Any, runtime: Runtime, tenant: Any, values: dict[str, Any], key: str, code: str
) -> None:
    standard_fields(owner)
    before = count_rows(runtime, tenant.id, "outbox_events")
    payload = owner.data(CREATE_CUSTOMER, {"input": {"name": "Bad", "customFields": values}})["createCustomer"]
    assert payload["customer"] is None
    assert errors_of(payload) == [(["input", "customFields", key], code)]
    assert count_rows(runtime, tenant.id, "customers") == 0
    assert count_rows(runtime, tenant.id, "custom_field_unique_values") == 0
    assert count_rows(runtime, tenant.id, "outbox_events") == before


def test_every_problem_is_reported_at_once(owner: Any) -> None:
    standard_fields(owner)
    payload = owner.data(
        CREATE_CUSTOMER, {"input": {"name": "Bad", "customFields": {"seats": "x", "vip": 1, "nope": 1}}}
    )["createCustomer"]
    assert sorted(errors_of(payload)) == sorted(
        [
            (["input", "customFields", "seats"], "WRONG_TYPE"),
            (["input", "customFields", "vip"], "WRONG_TYPE"),
            (["input", "customFields", "nope"], "UNKNOWN_FIELD"),
        ]
    )


def test_required_fields_on_create_and_update(owner: Any, runtime: Runtime, tenant: Any) -> None:
    define(owner, key="plan", type="SELECT", options=["basic", "pro"], required=True)
    missing = owner.data(CREATE_CUSTOMER, {"input": {"name": "No plan"}})["createCustomer"]
    assert errors_of(missing) == [(["input", "customFields", "plan"], "REQUIRED")]
    blank = owner.data(CREATE_CUSTOMER, {"input": {"name": "Blank", "customFields": {"plan": None}}})
    assert errors_of(blank["createCustomer"]) == [(["input", "customFields", "plan"], "REQUIRED")]
    assert count_rows(runtime, tenant.id, "customers") == 0
    customer = customer_with(owner, {"plan": "pro"})
    cleared = owner.data(
        UPDATE_CUSTOMER, {"input": {"id": customer["id"], "version": 1, "customFields": {"plan": None}}}
    )["updateCustomer"]
    assert errors_of(cleared) == [(["input", "customFields", "plan"], "REQUIRED")]
    # An update that does not touch custom fields, or touches others, keeps the stored ones.
    renamed = owner.data(UPDATE_CUSTOMER, {"input": {"id": customer["id"], "version": 1, "name": "Renamed"}})
    assert renamed["updateCustomer"]["customer"]["customFields"] == {"plan": "pro"}


def test_an_update_is_a_patch(owner: Any) -> None:
    standard_fields(owner)
    customer = customer_with(owner, {"seats": 3, "vip": False, "region": "APAC"})
    patched = owner.data(
        UPDATE_CUSTOMER,
        {"input": {"id": customer["id"], "version": 1, "customFields": {"seats": 4, "vip": None}}},
    )["updateCustomer"]
    assert patched["userErrors"] == []
    assert patched["customer"]["customFields"] == {"seats": 4, "region": "APAC"}


def test_not_an_object_is_invalid(owner: Any) -> None:
    payload = owner.data(CREATE_CUSTOMER, {"input": {"name": "X", "customFields": [1, 2]}})["createCustomer"]
    assert errors_of(payload) == [(["input", "customFields"], "INVALID")]


def test_unique_values_per_entity(owner: Any, runtime: Runtime, tenant: Any) -> None:
    define(owner, key="contractNo", type="TEXT", unique=True)
    first = customer_with(owner, {"contractNo": "C-1"}, "First")
    taken = owner.data(CREATE_CUSTOMER, {"input": {"name": "Second", "customFields": {"contractNo": "c-1 "}}})
    assert errors_of(taken["createCustomer"]) == [(["input", "customFields", "contractNo"], "TAKEN")]
    assert count_rows(runtime, tenant.id, "customers") == 1
    # The holder may save its own value again; once it changes, the old value is free.
    same = owner.data(
        UPDATE_CUSTOMER, {"input": {"id": first["id"], "version": 1, "customFields": {"contractNo": "C-1"}}}
    )["updateCustomer"]
    assert same["userErrors"] == []
    owner.data(UPDATE_CUSTOMER, {"input": {"id": first["id"], "version": 2, "customFields": {"contractNo": "C-2"}}})
    customer_with(owner, {"contractNo": "C-1"}, "Second")
    assert count_rows(runtime, tenant.id, "custom_field_unique_values") == 2


def test_contacts_have_their_own_fields(owner: Any, runtime: Runtime, tenant: Any) -> None:
    define(owner, key="linkedin", type="TEXT", entity="CONTACT", unique=True)
    define(owner, key="decisionMaker", type="BOOLEAN", entity="CONTACT", required=True)
    customer = create_customer(owner)
    payload = owner.data(
        CREATE_CONTACT,
        {"input": {"customerId": customer["id"], "name": "Pat", "customFields": {"linkedin": "in/pat"}}},
    )["createContact"]
    assert errors_of(payload) == [(["input", "customFields", "decisionMaker"], "REQUIRED")]
    assert count_rows(runtime, tenant.id, "contacts") == 0
    made = owner.data(
        CREATE_CONTACT,
        {
            "input": {
                "customerId": customer["id"],
                "name": "Pat",
                "customFields": {"linkedin": "in/pat", "decisionMaker": True},
            }
        },
    )["createContact"]
    assert made["userErrors"] == [] and made["contact"]["customFields"] == {"linkedin": "in/pat", "decisionMaker": True}
    # A customer field is unknown on a contact.
    wrong = owner.data(
        CREATE_CONTACT,
        {"input": {"customerId": customer["id"], "name": "Sam", "customFields": {"decisionMaker": False, "x": 1}}},
    )["createContact"]
    assert errors_of(wrong) == [(["input", "customFields", "x"], "UNKNOWN_FIELD")]
    updated = owner.data(
        UPDATE_CONTACT,
        {"input": {"id": made["contact"]["id"], "version": 1, "customFields": {"decisionMaker": False}}},
    )["updateContact"]
    assert updated["contact"]["customFields"] == {"linkedin": "in/pat", "decisionMaker": False}
    read = owner.data(
        "query($id: ID!, $c: ID!) { contact(id: $id) { customFields } customer(id: $c) { contacts { customFields } } }",
        {"id": made["contact"]["id"], "c": customer["id"]},
    )
    assert read["contact"]["customFields"] == updated["contact"]["customFields"]
    assert read["customer"]["contacts"][0]["customFields"] == updated["contact"]["customFields"]


# --- Filtering ----------------------------------------------------------------------------------


def test_filter_customers_by_a_custom_field(owner: Any) -> None:
    standard_fields(owner)
    customer_with(owner, {"region": "EMEA", "seats": 10, "vip": True, "modules": ["crm", "erp"]}, "Alpha")
    customer_with(owner, {"region": "APAC", "seats": 10.0, "modules": ["crm"]}, "Beta")
    customer_with(owner, {"region": "EMEA", "seats": 5, "renewsOn": "2027-01-31"}, "Gamma")

    def names(key: str, equals: Any) -> list[str]:
        result = owner.data(CUSTOMERS, {"filter": {"customField": {"key": key, "equals": equals}}})["customers"]
        assert result["totalCount"] == len(result["edges"])
        return [edge["node"]["name"] for edge in result["edges"]]

    assert names("region", "EMEA") == ["Alpha", "Gamma"]
    assert names("seats", 10) == ["Alpha", "Beta"]
    assert names("seats", 10.0) == ["Alpha", "Beta"]
    assert names("vip", True) == ["Alpha"]
    assert names("modules", "crm") == ["Alpha", "Beta"]
    assert names("modules", ["crm", "erp"]) == ["Alpha"]
    assert names("renewsOn", "2027-01-31") == ["Gamma"]
    assert names("region", "MARS") == []
    assert names("unknownKey", "x") == []
    combined = owner.data(CUSTOMERS, {"filter": {"search": "gam", "customField": {"key": "region", "equals": "EMEA"}}})[
        "customers"
    ]
    assert [e["node"]["name"] for e in combined["edges"]] == ["Gamma"]


@pytest.mark.parametrize("equals", [None, {"a": 1}, [], [1]])
def test_bad_filters_are_bad_user_input(owner: Any, equals: Any) -> None:
    variables = {"filter": {"customField": {"key": "region", "equals": equals}}}
    assert owner.error_codes(CUSTOMERS, variables) == ["BAD_USER_INPUT"]
    assert owner.error_codes(CUSTOMERS, {"filter": {"customField": {"key": "no such", "equals": 1}}}) == [
        "BAD_USER_INPUT"
    ]


def test_the_filter_condition_is_served_by_the_gin_index(tenant: Any, migrated: str) -> None:
    """The containment condition has the shape the GIN index serves (jsonb_path_ops, `@>` on the
    bare column). Explained as the schema owner with sequential scans off, so that the index is
    the only way to find the rows; whether it is the cheapest way is the planner's call per tenant."""
    from sqlalchemy import text

    from saas.custom_fields.rules import custom_field_condition, custom_field_filter
    from saas.customers.rules import SqlCondition
    from saas.db.engine import create_owner_engine

    for flt in (custom_field_filter("region", "EMEA"), custom_field_filter("seats", 10)):
        condition = SqlCondition()
        custom_field_condition(condition, "r", flt)
        owner_engine = create_owner_engine(migrated)
        with owner_engine.begin() as conn:
            conn.execute(text("SET LOCAL enable_seqscan = off"))
            plan = "\n".join(
                row[0]
                for row in conn.execute(
                    text(f"EXPLAIN SELECT r.id FROM customers r WHERE {condition.sql}"), condition.params
                )
            )
        owner_engine.dispose()
        assert "ix_customers_custom_fields" in plan, plan


# --- Isolation ----------------------------------------------------------------------------------


def test_two_tenants_define_different_fields_on_the_same_entity(owner: Any, other_owner: Any) -> None:
    define(owner, key="seats", type="NUMBER", required=True)
    define(other_owner, key="seats", type="TEXT")  # the same key, another type: each tenant its own
    define(other_owner, key="hobby", type="TEXT")
    assert customer_with(owner, {"seats": 5})["customFields"] == {"seats": 5}
    assert customer_with(other_owner, {"seats": "five", "hobby": "golf"})["customFields"] == {
        "seats": "five",
        "hobby": "golf",
    }
    refused = owner.data(CREATE_CUSTOMER, {"input": {"name": "X", "customFields": {"seats": 1, "hobby": "golf"}}})
    assert errors_of(refused["createCustomer"]) == [(["input", "customFields", "hobby"], "UNKNOWN_FIELD")]
    mine = owner.data(DEFINITIONS, {"entity": "CUSTOMER"})["customFieldDefinitions"]
    theirs = other_owner.data(DEFINITIONS, {"entity": "CUSTOMER"})["customFieldDefinitions"]
    assert [(d["key"], d["type"]) for d in mine] == [("seats", "NUMBER")]
    assert [(d["key"], d["type"]) for d in theirs] == [("seats", "TEXT"), ("hobby", "TEXT")]


def test_unique_values_are_per_tenant(owner: Any, other_owner: Any) -> None:
    define(owner, key="vat", type="TEXT", unique=True)
    define(other_owner, key="vat", type="TEXT", unique=True)
    customer_with(owner, {"vat": "DE123"})
    assert customer_with(other_owner, {"vat": "DE123"})["customFields"] == {"vat": "DE123"}


def test_another_tenants_definition_ids_find_nothing(
    owner: Any, other_owner: Any, runtime: Runtime, tenant: Any
) -> None:
    made = define(owner, key="seats", type="NUMBER")
    assert other_owner.error_codes(NODE, {"id": made["id"]}) == ["NOT_FOUND"]
    assert other_owner.error_codes(UPDATE, {"input": {"id": made["id"], "version": 1, "label": "Mine"}}) == [
        "NOT_FOUND"
    ]
    assert other_owner.error_codes(ARCHIVE, {"input": {"id": made["id"]}}) == ["NOT_FOUND"]
    assert other_owner.data(DEFINITIONS, {"entity": "CUSTOMER"})["customFieldDefinitions"] == []
    assert owner.data(DEFINITIONS, {"entity": "CUSTOMER"})["customFieldDefinitions"][0]["label"] == "Seats"
    assert owner.error_codes(
        NODE, {"id": global_id("CustomFieldDefinition", "00000000-0000-0000-0000-000000000000")}
    ) == ["NOT_FOUND"]


def test_rls_hides_definitions_and_unique_values_from_other_tenants(
    owner: Any, runtime: Runtime, tenant: Any, other_tenant: Any
) -> None:
    """Read as the application role, bound to another tenant, with no tenant filter of our own."""
    from sqlalchemy import text

    from saas.tenancy.session import tenant_session

    define(owner, key="vat", type="TEXT", unique=True)
    customer_with(owner, {"vat": "DE1"})
    with tenant_session(runtime.engine, other_tenant.id) as session:
        for table in ("custom_field_definitions", "custom_field_unique_values"):
            assert session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0
    with tenant_session(runtime.engine, tenant.id) as session:
        for table in ("custom_field_definitions", "custom_field_unique_values"):
            assert session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 1


def test_definitions_are_read_once_per_transaction(owner: Any, runtime: Runtime, tenant: Any) -> None:
    """Within one write the definitions are cached; the next transaction on the same session
    (the next mutation of a request) reads them again, under its own lock."""
    from saas.custom_fields.models import CustomFieldEntity
    from saas.custom_fields.validation import definitions_for
    from saas.tenancy.session import make_session

    define(owner, key="seats", type="NUMBER")
    session = make_session(runtime.engine, tenant.id)
    try:
        first = definitions_for(session, tenant.id, CustomFieldEntity.CUSTOMER)
        assert definitions_for(session, tenant.id, CustomFieldEntity.CUSTOMER) is first
        assert list(first) == ["seats"]
        session.commit()
        define(owner, key="vip", type="BOOLEAN")
        second = definitions_for(session, tenant.id, CustomFieldEntity.CUSTOMER)
        assert second is not first and sorted(second) == ["seats", "vip"]
        session.commit()
    finally:
        session.close()


def test_two_writes_in_one_request_see_a_definition_made_between_them(owner: Any) -> None:
    """One document: a customer, a new required field, another customer (which must then carry it)."""
    define(owner, key="seats", type="NUMBER")
    result = owner.execute(
        """mutation {
          a: createCustomer(input: {name: "A", customFields: {seats: 1}}) { customer { id } userErrors { code } }
          d: defineCustomField(input: {entity: CUSTOMER, key: "vip", label: "VIP", type: BOOLEAN}) {
            customFieldDefinition { id } userErrors { code } }
          b: createCustomer(input: {name: "B", customFields: {vip: true}}) { customer { customFields } userErrors { code } }
        }"""
    )
    assert result["data"]["a"]["userErrors"] == [] and result["data"]["d"]["userErrors"] == []
    assert result["data"]["b"]["customer"]["customFields"] == {"vip": True}


@pytest.mark.parametrize(
    ("definition", "change", "field", "code"),
    [
        ({"type": "TEXT"}, {"label": " "}, "label", "REQUIRED"),
        ({"type": "TEXT"}, {"label": "x" * 201}, "label", "TOO_LONG"),
        ({"type": "TEXT"}, {"options": ["a"]}, "options", "INVALID"),
        ({"type": "TEXT"}, {"required": None}, "required", "REQUIRED"),
        ({"type": "BOOLEAN"}, {"unique": True}, "unique", "INVALID"),
        ({"type": "SELECT", "options": ["a"]}, {"options": []}, "options", "REQUIRED"),
        ({"type": "SELECT", "options": ["a"]}, {"options": ["b", "b"]}, "options", "INVALID"),
    ],
)
def test_bad_changes_are_coded_and_change_nothing(
    owner: Any, definition: dict[str, Any], change: dict[str, Any], field: str, code: str
) -> None:
    made = define(owner, key="field", **definition)
    assert [(e["field"], e["code"]) for e in update_errors(owner, made, **change)] == [(["input", field], code)]
    assert owner.data(DEFINITIONS, {"entity": "CUSTOMER"})["customFieldDefinitions"] == [made]
