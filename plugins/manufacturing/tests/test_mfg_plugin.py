"""The plugin as a whole: enabling, a tenant without it, disable/enable, migrations, the append-only ledger."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from mfg_helpers import (
    ENABLE,
    LEVELS,
    MOVEMENT_IDS,
    WAREHOUSES,
    create_product,
    default_warehouse,
    disable,
    enable,
    level,
    move,
    refused,
)
from saas_manufacturing.graphql.contribution import contribution
from saas_manufacturing.hooks import MIGRATIONS
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from saas.plugin_api import TenantModel
from saas.plugin_api.testing import enable_plugin

# One harmless operation per root field of the plugin (each one must be refused without it).
OPERATIONS = {
    "warehouses": "{ warehouses { totalCount } }",
    "warehouse": '{ warehouse(id: "x") { id } }',
    "stockLevels": "{ stockLevels { totalCount } }",
    "stockMovements": "{ stockMovements { totalCount } }",
    "orders": "{ orders { totalCount } }",
    "order": '{ order(id: "x") { id } }',
    "shipments": "{ shipments { totalCount } }",
    "shipment": '{ shipment(id: "x") { id } }',
    "carriers": "{ carriers { code } }",
    "createWarehouse": 'mutation { createWarehouse(input: {code: "X", name: "X"}) { warehouse { id } } }',
    "updateWarehouse": 'mutation { updateWarehouse(input: {id: "x", version: 1}) { warehouse { id } } }',
    "recordStockMovement": 'mutation { recordStockMovement(input: {productId: "x", warehouseId: "x", kind: RECEIPT, quantity: 1}) { movement { id } } }',
    "setLowStockThreshold": 'mutation { setLowStockThreshold(input: {productId: "x", warehouseId: "x", threshold: 1}) { stockLevel { onHand } } }',
    "placeOrder": "mutation { placeOrder(input: {lines: []}) { order { id } } }",
    "cancelOrder": 'mutation { cancelOrder(input: {id: "x"}) { order { id } } }',
    "createShipment": 'mutation { createShipment(input: {orderId: "x"}) { shipment { id } } }',
    "dispatchShipment": 'mutation { dispatchShipment(input: {id: "x"}) { shipment { id } } }',
    "updateShipmentStatus": 'mutation { updateShipmentStatus(input: {id: "x", status: DELIVERED}) { shipment { id } } }',
    "inventoryChanged": "subscription { inventoryChanged { kind } }",
    "shipmentUpdated": "subscription { shipmentUpdated { status } }",
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _root_fields() -> set[str]:
    graphql = contribution
    return {
        field.graphql_name or _camel(field.python_name)
        for group in (graphql.queries, graphql.mutations, graphql.subscriptions)
        for cls in group
        for field in cls.__strawberry_definition__.fields
    }


def test_every_root_field_has_an_operation_here() -> None:
    assert set(OPERATIONS) == _root_fields()


def test_enabling_creates_one_default_warehouse_idempotently(owner: Any) -> None:
    enable(owner)
    enable(owner)  # enabling again keeps what is there
    warehouses = owner.data(WAREHOUSES)["warehouses"]
    assert warehouses["totalCount"] == 1
    assert warehouses["edges"][0]["node"] | {"id": None, "version": None} == {
        "id": None, "code": "MAIN", "name": "Main warehouse", "isDefault": True, "active": True, "version": None,
    }  # fmt: skip


def test_settings_are_validated(owner: Any) -> None:
    errors = refused(
        owner, ENABLE, {"input": {"name": "manufacturing", "settings": {"lowStockThreshold": -1}}}, "enablePlugin"
    )
    assert errors and all(code == "INVALID" and field[:2] == ["input", "settings"] for field, code in errors)
    payload = enable(owner, {"lowStockThreshold": 5}).data("{ plugins { name settings } }")["plugins"]
    settings = next(p["settings"] for p in payload if p["name"] == "manufacturing")
    assert settings["lowStockThreshold"] == 5


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_a_tenant_without_the_plugin_can_neither_see_nor_call_its_fields(owner: Any, name: str) -> None:
    result = owner.execute(OPERATIONS[name])
    assert [e["extensions"]["code"] for e in result["errors"]] == ["PLUGIN_NOT_ENABLED"], result


def test_introspection_shows_the_plugin_only_when_enabled(owner: Any) -> None:
    query = '{ __schema { types { name } } __type(name: "Query") { fields { name } } }'
    before = owner.data(query)
    assert not [t["name"] for t in before["__schema"]["types"] if t["name"].startswith("Mfg")]
    assert "stockLevels" not in {f["name"] for f in before["__type"]["fields"]}
    after = enable(owner).data(query)
    assert "MfgStockLevel" in {t["name"] for t in after["__schema"]["types"]}
    assert "stockLevels" in {f["name"] for f in after["__type"]["fields"]}


def test_disabling_keeps_the_data_and_enabling_brings_it_back(owner: Any) -> None:
    enable(owner)
    product = create_product(owner)
    warehouse = default_warehouse(owner)
    move(owner, product, warehouse, "RECEIPT", 7)
    disable(owner)
    assert [e["extensions"]["code"] for e in owner.execute(LEVELS)["errors"]] == ["PLUGIN_NOT_ENABLED"]
    enable(owner)
    assert level(owner, product)["onHand"] == 7
    assert owner.data(WAREHOUSES)["warehouses"]["totalCount"] == 1


def test_the_ledger_is_append_only(mfg: Any, tenant: Any) -> None:
    product = create_product(mfg)
    move(mfg, product, default_warehouse(mfg), "RECEIPT", 3)
    for statement in ("UPDATE mfg_stock_movements SET quantity = 30", "DELETE FROM mfg_stock_movements"):
        with pytest.raises(DBAPIError, match="append-only"):
            with tenant.session() as session:
                session.execute(text(statement))
    assert level(mfg, product)["onHand"] == 3


def test_stock_can_never_go_negative_even_bypassing_the_services(mfg: Any, tenant: Any) -> None:
    product = create_product(mfg)
    move(mfg, product, default_warehouse(mfg), "RECEIPT", 3)
    for statement in (
        "UPDATE mfg_stock_levels SET on_hand = -1",
        "UPDATE mfg_stock_levels SET reserved = on_hand + 1",
        "UPDATE mfg_stock_levels SET reserved = -1",
    ):
        with pytest.raises(DBAPIError, match="check constraint"):
            with tenant.session() as session:
                session.execute(text(statement))


def test_the_migration_matches_the_models(saas_database_url: str) -> None:
    assert (MIGRATIONS / "mfg_0001_inventory_orders_shipments.py").exists()
    owner = create_engine(saas_database_url)
    try:
        with owner.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = [d for d in compare_metadata(context, TenantModel.metadata) if "mfg_" in repr(d)]
    finally:
        owner.dispose()
    assert differences == []


def test_every_plugin_table_has_forced_row_level_security(saas_database_url: str) -> None:
    owner = create_engine(saas_database_url)
    try:
        with owner.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                    "WHERE relname LIKE 'mfg\\_%' AND relkind = 'r' ORDER BY relname"
                )
            ).all()
    finally:
        owner.dispose()
    assert len(rows) == 8 and all(r.relrowsecurity and r.relforcerowsecurity for r in rows), rows


def test_node_fetches_the_plugins_objects_for_enabled_tenants_only(
    saas_plugin_client: Any, saas_make_tenant: Any
) -> None:
    client = saas_plugin_client("manufacturing")
    warehouse = client.data("{ warehouses { edges { node { id code } } } }")["warehouses"]["edges"][0]["node"]
    node = client.data("query($id: ID!) { node(id: $id) { id ... on MfgWarehouse { code } } }", {"id": warehouse["id"]})
    assert node["node"] == warehouse
    stranger = saas_make_tenant().client  # another tenant, plugin enabled
    enable_plugin(stranger, "manufacturing")
    assert stranger.error_codes("query($id: ID!) { node(id: $id) { id } }", {"id": warehouse["id"]}) == ["NOT_FOUND"]
    without = saas_make_tenant().client
    assert without.error_codes("query($id: ID!) { node(id: $id) { id } }", {"id": warehouse["id"]}) == ["NOT_FOUND"]


def test_node_fetches_stock_movements_of_the_tenant_only(saas_plugin_client: Any, saas_make_tenant: Any) -> None:
    client = saas_plugin_client("manufacturing")
    move(client, create_product(client), default_warehouse(client), "RECEIPT", 5)
    movement = client.data(MOVEMENT_IDS)["stockMovements"]["edges"][0]["node"]
    expected = {
        movement["id"]: ("... on MfgStockMovement { kind quantity }", {"kind": "RECEIPT", "quantity": 5}),
    }
    stranger = saas_make_tenant().client  # another tenant, plugin enabled
    enable_plugin(stranger, "manufacturing")
    for node_id, (shape, fields) in expected.items():
        query = f"query($id: ID!) {{ node(id: $id) {{ id {shape} }} }}"
        assert client.data(query, {"id": node_id})["node"] == {"id": node_id, **fields}
        assert stranger.error_codes(query, {"id": node_id}) == ["NOT_FOUND"]
