"""The product catalog: create, update with versions, keyset pages, permissions, tenant isolation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import add_member
from tests.schema.helpers import codes, count_rows, global_id, raw_id, user_errors

FIELDS = "id sku name description unitPrice currency active version createdAt updatedAt"
CREATE = f"""mutation($input: CreateProductInput!) {{
  createProduct(input: $input) {{ product {{ {FIELDS} }} userErrors {{ field code message }} }}
}}"""
UPDATE = f"""mutation($input: UpdateProductInput!) {{
  updateProduct(input: $input) {{ product {{ {FIELDS} }} userErrors {{ field code message }} }}
}}"""
PRODUCT = f"query($id: ID!) {{ product(id: $id) {{ {FIELDS} }} }}"
PRODUCTS = """query($first: Int, $after: String, $filter: ProductFilterInput) {
  products(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id sku name active } }
  }
}"""


def create(client: Any, **fields: Any) -> dict[str, Any]:
    fields.setdefault("sku", "SKU-1")
    fields.setdefault("name", "Widget")
    fields.setdefault("unitPrice", "19.90")
    payload = client.data(CREATE, {"input": fields})["createProduct"]
    assert payload["userErrors"] == [], payload
    return payload["product"]


def test_create_and_read(owner: Any) -> None:
    product = create(owner, sku="W-100", name="  Steel   widget ", unitPrice="12.5", currency="eur", description="M8")
    assert product["sku"] == "W-100"
    assert product["name"] == "Steel widget"
    assert product["unitPrice"] == "12.50"
    assert product["currency"] == "EUR"
    assert product["active"] is True and product["version"] == 1
    assert owner.data(PRODUCT, {"id": product["id"]})["product"] == product


def test_currency_defaults_to_usd(owner: Any) -> None:
    assert create(owner)["currency"] == "USD"


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"sku": " "}, "sku", "REQUIRED"),
        ({"sku": "has space"}, "sku", "INVALID"),
        ({"name": ""}, "name", "REQUIRED"),
        ({"unitPrice": "-1"}, "unitPrice", "INVALID"),
        ({"unitPrice": "1.234"}, "unitPrice", "INVALID"),
        ({"unitPrice": "1000000000000"}, "unitPrice", "INVALID"),
        ({"unitPrice": "1e400"}, "unitPrice", "INVALID"),
        ({"unitPrice": "1E+29"}, "unitPrice", "INVALID"),
        ({"unitPrice": "-1e400"}, "unitPrice", "INVALID"),
        ({"unitPrice": "1e-400"}, "unitPrice", "INVALID"),
        ({"unitPrice": "NaN"}, "unitPrice", "INVALID"),
        ({"unitPrice": "Infinity"}, "unitPrice", "INVALID"),
        ({"currency": "EURO"}, "currency", "INVALID"),
    ],
)
def test_bad_input_is_a_user_error_and_writes_nothing(
    owner: Any, runtime: Any, tenant: Any, fields: dict[str, Any], field: str, code: str
) -> None:
    before = count_rows(runtime, tenant.id, "products")
    variables = {"input": {"sku": "S-1", "name": "Thing", "unitPrice": "1.00", **fields}}
    errors = user_errors(owner.execute(CREATE, variables), "createProduct")
    assert [(e["field"], e["code"]) for e in errors] == [(["input", field], code)]
    assert count_rows(runtime, tenant.id, "products") == before


def test_sku_is_unique_per_tenant(owner: Any, other_owner: Any) -> None:
    create(owner, sku="DUP")
    errors = user_errors(
        owner.execute(CREATE, {"input": {"sku": "DUP", "name": "X", "unitPrice": "1"}}), "createProduct"
    )
    assert [e["code"] for e in errors] == ["TAKEN"]
    assert create(other_owner, sku="DUP")["sku"] == "DUP"  # another tenant may use it


def test_update_with_version_and_conflict(owner: Any) -> None:
    product = create(owner)
    updated = owner.data(UPDATE, {"input": {"id": product["id"], "version": 1, "unitPrice": "21", "active": False}})
    changed = updated["updateProduct"]["product"]
    assert (changed["unitPrice"], changed["active"], changed["version"], changed["name"]) == (
        "21.00",
        False,
        2,
        "Widget",
    )
    stale = owner.execute(UPDATE, {"input": {"id": product["id"], "version": 1, "name": "Stale"}})
    assert codes(stale) == ["CONFLICT"]
    assert stale["errors"][0]["extensions"]["currentVersion"] == 2


def test_update_to_a_taken_sku(owner: Any) -> None:
    create(owner, sku="A")
    second = create(owner, sku="B")
    result = owner.execute(UPDATE, {"input": {"id": second["id"], "version": 1, "sku": "A"}})
    assert [e["code"] for e in user_errors(result, "updateProduct")] == ["TAKEN"]


def test_keyset_pages_and_filters(owner: Any) -> None:
    for index, name in enumerate(["Bolt", "Anchor", "Cable", "Drill", "Epoxy"]):
        create(owner, sku=f"P-{index}", name=name, active=name != "Cable")
    first = owner.data(PRODUCTS, {"first": 2})["products"]
    assert [e["node"]["name"] for e in first["edges"]] == ["Anchor", "Bolt"]
    assert first["totalCount"] == 5 and first["pageInfo"]["hasNextPage"] is True
    rest = owner.data(PRODUCTS, {"first": 10, "after": first["pageInfo"]["endCursor"]})["products"]
    assert [e["node"]["name"] for e in rest["edges"]] == ["Cable", "Drill", "Epoxy"]
    assert rest["pageInfo"]["hasNextPage"] is False and rest["pageInfo"]["hasPreviousPage"] is True
    active = owner.data(PRODUCTS, {"filter": {"active": True}})["products"]
    assert "Cable" not in [e["node"]["name"] for e in active["edges"]] and active["totalCount"] == 4
    search = owner.data(PRODUCTS, {"filter": {"search": "p-3"}})["products"]  # SKU, any case
    assert [e["node"]["name"] for e in search["edges"]] == ["Drill"]
    percent = owner.data(PRODUCTS, {"filter": {"search": "%"}})["products"]
    assert percent["totalCount"] == 0


def test_statements_do_not_grow_with_the_page(owner: Any) -> None:
    for index in range(6):
        create(owner, sku=f"Q-{index}", name=f"Item {index}")
    owner.data(PRODUCTS, {"first": 1})
    small = owner.last_statements
    owner.data(PRODUCTS, {"first": 6})
    assert owner.last_statements == small


def test_bad_cursor_and_page_size(owner: Any) -> None:
    assert codes(owner.execute(PRODUCTS, {"after": "bm90IGpzb24="})) == ["BAD_USER_INPUT"]
    assert codes(owner.execute(PRODUCTS, {"first": 101})) == ["BAD_USER_INPUT"]


def test_roles(owner: Any, tenant: Any) -> None:
    product = create(owner)
    manager = add_member(owner, tenant, "manager")
    assert create(manager, sku="M-1")["sku"] == "M-1"
    for role in ("sales", "service", "viewer"):
        member = add_member(owner, tenant, role)
        assert member.data(PRODUCT, {"id": product["id"]})["product"]["id"] == product["id"]
        assert codes(member.execute(CREATE, {"input": {"sku": "X", "name": "X", "unitPrice": "1"}})) == ["FORBIDDEN"]
        assert codes(member.execute(UPDATE, {"input": {"id": product["id"], "version": 1, "name": "X"}})) == [
            "FORBIDDEN"
        ]


def test_another_tenants_product_is_not_found(owner: Any, other_owner: Any) -> None:
    product = create(owner)
    assert codes(other_owner.execute(PRODUCT, {"id": product["id"]})) == ["NOT_FOUND"]
    update = other_owner.execute(UPDATE, {"input": {"id": product["id"], "version": 1, "name": "Mine"}})
    assert codes(update) == ["NOT_FOUND"]
    assert other_owner.data(PRODUCTS)["products"]["totalCount"] == 0
    missing = global_id("Product", "00000000-0000-0000-0000-000000000000")
    assert codes(owner.execute(PRODUCT, {"id": missing})) == ["NOT_FOUND"]
    assert codes(owner.execute(PRODUCT, {"id": global_id("Customer", raw_id(product["id"]))})) == ["NOT_FOUND"]


def test_changes_are_audited(owner: Any, runtime: Any, tenant: Any) -> None:
    product = create(owner)
    owner.data(UPDATE, {"input": {"id": product["id"], "version": 1, "name": "Renamed"}})
    actions = count_rows(
        runtime,
        tenant.id,
        "audit_log",
        "entity_id = CAST(:e AS text) AND action LIKE 'product.%'",
        e=str(raw_id(product["id"])),
    )
    assert actions == 2
