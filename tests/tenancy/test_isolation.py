"""Tenant B, holding tenant A's ids, gets NOT_FOUND from every operation and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import GraphQLClient

CUSTOMER_FIELDS = "id name version deletedAt contacts { id name version isPrimary } owner { id email }"


def _seed(owner: GraphQLClient) -> dict[str, Any]:
    """Tenant A's objects: a customer with a contact, a deleted customer, a member, an API key."""
    customer = owner.data(
        f'mutation {{ createCustomer(input: {{name: "A Corp", tags: ["a"]}}) {{ customer {{ {CUSTOMER_FIELDS} }} }} }}'
    )["createCustomer"]["customer"]
    contact = owner.data(
        'mutation($c: ID!) { createContact(input: {customerId: $c, name: "Ann", email: "ann@a.example.com"}) '
        "{ contact { id version } } }",
        {"c": customer["id"]},
    )["createContact"]["contact"]
    deleted = owner.data('mutation { createCustomer(input: {name: "Gone Corp"}) { customer { id version } } }')[
        "createCustomer"
    ]["customer"]
    owner.data("mutation($id: ID!) { deleteCustomer(input: {id: $id}) { customer { id } } }", {"id": deleted["id"]})
    me = owner.data("{ me { member { id } } }")["me"]["member"]
    key = owner.data(
        'mutation { createApiKey(input: {name: "k", scopes: ["customers:read"]}) { apiKey { id } secret } }'
    )["createApiKey"]
    return {"customer": customer, "contact": contact, "deleted": deleted, "member": me, "key": key}


def _snapshot(owner: GraphQLClient, ids: dict[str, Any]) -> dict[str, Any]:
    return {
        "customer": owner.data(
            f"query($id: ID!) {{ customer(id: $id) {{ {CUSTOMER_FIELDS} }} }}", {"id": ids["customer"]["id"]}
        ),
        "list": owner.data(
            "{ customers(filter: {state: ALL}) { totalCount edges { node { id name version deletedAt } } } }"
        ),
        "members": owner.data("{ members { id role active } }"),
        "keys": owner.data("{ apiKeys { id revokedAt } }"),
        "audit": owner.data("{ auditLog(first: 100) { edges { node { id } } } }"),
    }


FOREIGN_OPERATIONS = [
    ("customer", "query($id: ID!) { customer(id: $id) { id name } }", lambda a: {"id": a["customer"]["id"]}),
    ("node customer", "query($id: ID!) { node(id: $id) { id } }", lambda a: {"id": a["customer"]["id"]}),
    ("node contact", "query($id: ID!) { node(id: $id) { id } }", lambda a: {"id": a["contact"]["id"]}),
    ("node member", "query($id: ID!) { node(id: $id) { id } }", lambda a: {"id": a["member"]["id"]}),
    ("contact", "query($id: ID!) { contact(id: $id) { id } }", lambda a: {"id": a["contact"]["id"]}),
    (
        "updateCustomer",
        'mutation($id: ID!, $v: Int!) { updateCustomer(input: {id: $id, version: $v, name: "Hijacked"}) { customer { id } } }',
        lambda a: {"id": a["customer"]["id"], "v": a["customer"]["version"]},
    ),
    (
        "deleteCustomer",
        "mutation($id: ID!) { deleteCustomer(input: {id: $id}) { customer { id } } }",
        lambda a: {"id": a["customer"]["id"]},
    ),
    (
        "restoreCustomer",
        "mutation($id: ID!) { restoreCustomer(input: {id: $id}) { customer { id } } }",
        lambda a: {"id": a["deleted"]["id"]},
    ),
    (
        "createContact",
        'mutation($id: ID!) { createContact(input: {customerId: $id, name: "Mole"}) { contact { id } } }',
        lambda a: {"id": a["customer"]["id"]},
    ),
    (
        "updateContact",
        'mutation($id: ID!, $v: Int!) { updateContact(input: {id: $id, version: $v, name: "X"}) { contact { id } } }',
        lambda a: {"id": a["contact"]["id"], "v": a["contact"]["version"]},
    ),
    (
        "deleteContact",
        "mutation($id: ID!) { deleteContact(input: {id: $id}) { contact { id } } }",
        lambda a: {"id": a["contact"]["id"]},
    ),
    (
        "updateMemberRole",
        "mutation($id: ID!) { updateMemberRole(input: {id: $id, role: VIEWER}) { member { id } } }",
        lambda a: {"id": a["member"]["id"]},
    ),
    (
        "removeMember",
        "mutation($id: ID!) { removeMember(input: {id: $id}) { member { id } } }",
        lambda a: {"id": a["member"]["id"]},
    ),
    (
        "revokeApiKey",
        "mutation($id: ID!) { revokeApiKey(input: {id: $id}) { apiKey { id } } }",
        lambda a: {"id": a["key"]["apiKey"]["id"]},
    ),
]


def test_every_operation_with_foreign_ids_is_not_found_and_changes_nothing(
    owner: GraphQLClient, other_owner: GraphQLClient
) -> None:
    a = _seed(owner)
    before = _snapshot(owner, a)
    for name, query, variables in FOREIGN_OPERATIONS:
        result = other_owner.execute(query, variables(a))
        codes = [e["extensions"]["code"] for e in result.get("errors", [])]
        assert codes == ["NOT_FOUND"], (name, result)
        assert "A Corp" not in str(result) and "Ann" not in str(result), name
    assert _snapshot(owner, a) == before


def test_lists_and_filters_show_no_foreign_rows(owner: GraphQLClient, other_owner: GraphQLClient) -> None:
    a = _seed(owner)
    lists = other_owner.data(
        """{ customers(filter: {state: ALL}) { totalCount edges { node { id } } }
            members { id } apiKeys { id } auditLog(first: 100) { edges { node { entityId } } } }"""
    )
    assert lists["customers"] == {"totalCount": 0, "edges": []}
    assert a["member"]["id"] not in str(lists["members"])
    assert lists["apiKeys"] == []
    assert a["customer"]["id"] not in str(lists["auditLog"])
    by_owner = other_owner.execute(
        "query($o: ID!) { customers(filter: {ownerId: $o}) { totalCount } }", {"o": a["member"]["id"]}
    )
    assert by_owner["data"]["customers"]["totalCount"] == 0
    audit = other_owner.data(
        "query($e: ID!) { auditLog(entityId: $e) { edges { node { id } } } }", {"e": a["customer"]["id"]}
    )
    assert audit["auditLog"]["edges"] == []


def test_foreign_member_as_owner_is_a_user_error_and_writes_nothing(
    owner: GraphQLClient, other_owner: GraphQLClient
) -> None:
    a = _seed(owner)
    result = other_owner.data(
        'mutation($o: ID!) { createCustomer(input: {name: "B Corp", ownerId: $o}) { customer { id } userErrors { field code } } }',
        {"o": a["member"]["id"]},
    )
    assert result["createCustomer"] == {
        "customer": None,
        "userErrors": [{"field": ["input", "ownerId"], "code": "NOT_FOUND"}],
    }
    assert other_owner.data("{ customers { totalCount } }")["customers"]["totalCount"] == 0


def test_api_key_of_one_tenant_reads_only_that_tenant(owner: GraphQLClient, other_owner: GraphQLClient) -> None:
    a = _seed(owner)
    other_owner.data('mutation { createCustomer(input: {name: "B Corp"}) { customer { id } } }')
    as_key = owner.as_token(a["key"]["secret"])
    names = [e["node"]["name"] for e in as_key.data("{ customers { edges { node { name } } } }")["customers"]["edges"]]
    assert names == ["A Corp"]


@pytest.mark.parametrize("forged", ["", "Q3VzdG9tZXI6bm90LWEtdXVpZA==", "not base64!", "Q29udGFjdDo="])
def test_malformed_ids_are_not_found(owner: GraphQLClient, forged: str) -> None:
    assert owner.error_codes("query($id: ID!) { customer(id: $id) { id } }", {"id": forged}) == ["NOT_FOUND"]
    assert owner.error_codes("query($id: ID!) { node(id: $id) { id } }", {"id": forged}) == ["NOT_FOUND"]
