"""The duplicate rule: e-mail (any case), phone (its digits) and company (any case and spacing)."""

from __future__ import annotations

from typing import Any

from saas.runtime import Runtime
from tests.conftest import GraphQLClient
from tests.leads.support import CREATE_LEAD, count, create_lead, ok
from tests.schema.helpers import create_contact, create_customer

CREATE = """mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } userErrors { field code message } } }"""


def _duplicate(client: GraphQLClient, **fields: Any) -> list[tuple[list[str], str, str]]:
    fields.setdefault("name", "Someone")
    payload = client.data(CREATE, {"input": fields})["createLead"]
    assert payload["lead"] is None, payload
    return [(e["field"], e["code"], e["message"]) for e in payload["userErrors"]]


def test_a_lead_matching_a_lead_is_a_duplicate_naming_it(owner: GraphQLClient, tenant: Any, runtime: Runtime) -> None:
    first = create_lead(owner, name="Jane", email="jane@example.com", phone="+44 20 7946 0958", company="Acme  Ltd")
    [(field, code, message)] = _duplicate(owner, email="JANE@example.COM")
    assert (field, code) == (["input", "email"], "DUPLICATE")
    assert 'Lead "Jane"' in message and first["id"] in message and "e-mail" in message
    assert [(f, c) for f, c, _ in _duplicate(owner, phone="+442079460958")] == [(["input", "phone"], "DUPLICATE")]
    assert [(f, c) for f, c, _ in _duplicate(owner, company=" acme LTD ")] == [(["input", "company"], "DUPLICATE")]
    all_three = _duplicate(owner, email="jane@example.com", phone="+44 (20) 7946-0958", company="ACME ltd")
    assert [f[-1] for f, _, _ in all_three] == ["email", "phone", "company"]
    assert count(runtime, tenant.id, "leads") == 1
    ok(owner, CREATE_LEAD, {"name": "Jane again", "email": "jane@example.com", "allowDuplicate": True}, "createLead")
    assert count(runtime, tenant.id, "leads") == 2


def test_a_lead_matching_a_customer_or_contact_is_a_duplicate(owner: GraphQLClient) -> None:
    customer = create_customer(owner, name="Initech")
    contact = create_contact(owner, customer["id"], name="Peter", email="peter@initech.example", phone="+12025550143")
    [(_, code, message)] = _duplicate(owner, company="INITECH")
    assert code == "DUPLICATE" and 'Customer "Initech"' in message and customer["id"] in message
    [(_, code, message)] = _duplicate(owner, email="Peter@Initech.example")
    assert code == "DUPLICATE" and 'Contact "Peter"' in message and contact["id"] in message
    [(field, code, _)] = _duplicate(owner, phone="+1 202-555-0143")
    assert (field, code) == (["input", "phone"], "DUPLICATE")


def test_different_values_are_not_duplicates(owner: GraphQLClient) -> None:
    create_lead(owner, email="a@example.com", phone="+442079460958", company="Acme")
    create_lead(owner, email="b@example.com", phone="+442079460959", company="Acme Two")


def test_another_tenants_records_are_not_duplicates(owner: GraphQLClient, other_owner: GraphQLClient) -> None:
    create_lead(owner, email="a@example.com", company="Acme")
    create_lead(other_owner, email="a@example.com", company="Acme")
